"""The vote stores in-process: counts, idempotent ids, durability across reopen, group commit."""
from __future__ import annotations

import asyncio

import pytest

from lab.errors import StoreError, VoteIdReused
from lab.store import MemoryStore, Recorded, SqliteStore, open_store

OPTS = ("A", "B", "C")


def test_memory_store_counts_and_replays_ids():
    store = MemoryStore(OPTS)
    assert store.record("A", None) == Recorded("A", "A=1 B=0 C=0")
    first = store.record("B", "t1")
    assert first == Recorded("B", "A=1 B=1 C=0")
    store.record("A", None)
    assert store.record("B", "t1") == first          # same reply, not counted again
    assert store.tally() == "A=2 B=1 C=0"
    with pytest.raises(VoteIdReused, match="already used for option B"):
        store.record("C", "t1")


async def _record_all(store, votes):
    store.start(asyncio.get_running_loop())
    try:
        futures = [store.record(o, t) for o, t in votes]
        return await asyncio.gather(*futures, return_exceptions=True)
    finally:
        await store.close()


def test_sqlite_group_commit_answers_every_vote_in_order(tmp_path):
    store = SqliteStore(str(tmp_path / "v.db"), OPTS)
    votes = [("ABC"[i % 3], f"id{i}") for i in range(3000)]
    results = asyncio.run(_record_all(store, votes))
    assert results[0] == Recorded("A", "A=1 B=0 C=0")
    assert results[-1] == Recorded("C", "A=1000 B=1000 C=1000")
    # Each vote saw the tally right after itself: totals go up by one per vote.
    totals = [sum(int(kv.split("=")[1]) for kv in r.tally.split()) for r in results]
    assert totals == list(range(1, 3001))


def test_sqlite_votes_survive_reopen_and_ids_stay_idempotent(tmp_path):
    path = str(tmp_path / "v.db")
    first = asyncio.run(_record_all(SqliteStore(path, OPTS), [("A", "x"), ("B", None), ("A", None)]))
    store = SqliteStore(path, OPTS)
    assert store.tally() == "A=2 B=1 C=0"
    again = asyncio.run(_record_all(store, [("A", "x"), ("C", "x"), ("C", None), ("B", "y"), ("B", "y")]))
    assert again[0] == first[0] == Recorded("A", "A=1 B=0 C=0")
    assert isinstance(again[1], VoteIdReused)
    assert again[2] == Recorded("C", "A=2 B=1 C=1")
    assert again[3] == again[4] == Recorded("B", "A=2 B=2 C=1")     # duplicate inside one batch
    assert SqliteStore(path, OPTS).tally() == "A=2 B=2 C=1"


def test_sqlite_new_options_start_at_zero(tmp_path):
    path = str(tmp_path / "v.db")
    asyncio.run(_record_all(SqliteStore(path, OPTS), [("A", None)]))
    assert SqliteStore(path, ("A", "D")).tally() == "A=1 D=0"


def test_one_server_per_database(tmp_path):
    path = str(tmp_path / "v.db")
    holder = SqliteStore(path, OPTS)   # opening writes, and keeps SQLite's exclusive lock from then on
    with pytest.raises(StoreError, match="another lab server"):
        SqliteStore(path, OPTS, lock_wait=0.05)
    asyncio.run(_record_all(holder, [("A", None)]))   # closes it: the file is free again
    assert SqliteStore(path, OPTS).tally() == "A=1 B=0 C=0"


def test_not_a_database(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("this is not sqlite\n" * 100)
    with pytest.raises(StoreError, match="notes.txt"):
        SqliteStore(str(path), OPTS)


def test_open_store_memory():
    assert isinstance(open_store("memory", OPTS), MemoryStore)


def test_sync_modes(tmp_path):
    path = str(tmp_path / "n.db")
    results = asyncio.run(_record_all(SqliteStore(path, OPTS, sync="normal"), [("B", "n1"), ("B", "n1")]))
    assert results == [Recorded("B", "A=0 B=1 C=0")] * 2
    assert SqliteStore(path, OPTS).tally() == "A=0 B=1 C=0"
    with pytest.raises(StoreError, match="unknown sync mode 'off'"):
        SqliteStore(str(tmp_path / "o.db"), OPTS, sync="off")
