"""Where votes live: a durable SQLite store with group commit, and a throwaway in-memory one.

Both answer ``record(option, token)`` with the tally right after that vote (a ``Recorded``), and
``tally()`` with the committed counts. The SQLite store answers with an asyncio Future that is
resolved only after the vote's transaction has committed, so a vote is acknowledged only once it
is on disk.
"""
from __future__ import annotations

import asyncio
import queue
import sqlite3
import threading
from typing import NamedTuple, Sequence

from lab.errors import LabError, StoreError, VoteIdReused
from lab.protocol import format_tally

SYNC_MODES = ("full", "normal")
MAX_BATCH = 4096  # votes committed together at most; bounds one transaction's latency


class Recorded(NamedTuple):
    option: str
    tally: str        # "A=3 B=1 C=0" right after this vote; replayed as-is for a retried vote id


class MemoryStore:
    """Counts in memory only (`--store memory`): lost when the server stops."""

    name = "memory"

    def __init__(self, options: Sequence[str]) -> None:
        self.options = tuple(options)
        self._index = {o: i for i, o in enumerate(self.options)}
        self._counts = [0] * len(self.options)
        self._by_id: dict[str, Recorded] = {}

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        pass

    def tally(self) -> str:
        return format_tally(self.options, self._counts)

    def record(self, option: str, token: str | None) -> Recorded:
        if token is not None and (prior := self._by_id.get(token)) is not None:
            if prior.option != option:
                raise VoteIdReused(token, prior.option, option)
            return prior
        self._counts[self._index[option]] += 1
        rec = Recorded(option, format_tally(self.options, self._counts))
        if token is not None:
            self._by_id[token] = rec
        return rec

    async def close(self) -> None:
        pass


class SqliteStore:
    """Durable votes in SQLite (WAL), written by one thread that commits concurrent votes together.

    Durability choice: journal_mode=WAL with synchronous=FULL by default, so every COMMIT fsyncs
    the WAL before we answer. WAL with synchronous=NORMAL (`sync="normal"`, `--sync normal`) already
    survives `kill -9` of the server, the requirement (a committed transaction is in the OS page
    cache, which outlives the process), but not a power loss or kernel crash; FULL survives both.
    We default to FULL because group commit makes the extra fsync cheap (one fsync per batch of
    concurrent votes, not one per vote); NORMAL is there for disks whose fsync is slow.

    Threading: sqlite calls block, so they never run on the event loop thread. The loop thread
    puts (option, token, future) on a queue; the writer thread takes everything waiting (up to
    MAX_BATCH), applies it in one transaction, commits, and only then hands all the outcomes back
    to the loop in a single call_soon_threadsafe.
    """

    name = "sqlite"

    def __init__(self, path: str, options: Sequence[str], lock_wait: float = 2.0, sync: str = "full") -> None:
        if sync not in SYNC_MODES:
            raise StoreError(path, f"unknown sync mode {sync!r}", f"use one of {', '.join(SYNC_MODES)}")
        self.path = path
        self.sync = sync
        self.options = tuple(options)
        self._index = {o: i for i, o in enumerate(self.options)}
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        try:
            # The connection is created here (so opening errors surface at startup) and then used
            # by the writer thread only.
            self._db = sqlite3.connect(
                path, timeout=lock_wait, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={sync.upper()}")
            # One server per database file: its counts mirror would be wrong with a second writer.
            self._db.execute("PRAGMA locking_mode=EXCLUSIVE")
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS counts (option TEXT PRIMARY KEY, n INTEGER NOT NULL)")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS vote_ids "
                "(token TEXT PRIMARY KEY, option TEXT NOT NULL, tally TEXT NOT NULL) WITHOUT ROWID")
            self._db.executemany(
                "INSERT OR IGNORE INTO counts (option, n) VALUES (?, 0)", [(o,) for o in self.options])
            stored = dict(self._db.execute("SELECT option, n FROM counts").fetchall())
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise StoreError(path, str(exc), "is another lab server using it, or is it not a "
                             "vote database? Pass another --store path or --store memory") from exc
        self._counts = tuple(stored[o] for o in self.options)

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._thread = threading.Thread(target=self._write_loop, name="vote-writer", daemon=True)
        self._thread.start()

    def tally(self) -> str:
        """The committed counts (what a restart would show)."""
        return format_tally(self.options, self._counts)

    def record(self, option: str, token: str | None) -> asyncio.Future:
        assert self._loop is not None, "start() the store first"
        future = self._loop.create_future()
        self._queue.put((option, token, future))
        return future

    async def close(self) -> None:
        """Commit everything already recorded, then stop the writer and close the database."""
        if self._thread is not None:
            self._queue.put(None)
            await asyncio.to_thread(self._thread.join)
            self._thread = None
        self._db.close()

    # --- writer thread -------------------------------------------------------------------------

    def _write_loop(self) -> None:
        stopping = False
        while not stopping:
            item = self._queue.get()
            if item is None:
                break
            batch = [item]
            while len(batch) < MAX_BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stopping = True
                    break
                batch.append(item)
            try:
                outcomes = self._commit(batch)
            except Exception as exc:  # never leave a client waiting forever on a bug
                error = StoreError(self.path, f"vote not recorded: {exc!r}")
                outcomes = [(fut, error) for _, _, fut in batch]
            self._loop.call_soon_threadsafe(_resolve, outcomes)

    def _commit(self, batch: list) -> list:
        counts = list(self._counts)
        outcomes: list = []
        new_ids: list[tuple[str, str, str]] = []
        in_batch: dict[str, Recorded] = {}
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
            known = self._known_ids([token for _, token, _ in batch if token is not None])
            for option, token, fut in batch:
                if token is not None:
                    prior = in_batch.get(token) or known.get(token)
                    if prior is not None:
                        same = prior.option == option
                        outcomes.append((fut, prior if same else VoteIdReused(token, prior.option, option)))
                        continue
                counts[self._index[option]] += 1
                rec = Recorded(option, format_tally(self.options, counts))
                if token is not None:
                    in_batch[token] = rec
                    new_ids.append((token, option, rec.tally))
                outcomes.append((fut, rec))
            if new_ids:
                db.executemany("INSERT INTO vote_ids (token, option, tally) VALUES (?, ?, ?)", new_ids)
            changed = [(n, o) for o, n, old in zip(self.options, counts, self._counts) if n != old]
            if changed:
                db.executemany("UPDATE counts SET n = ? WHERE option = ?", changed)
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            if db.in_transaction:
                try:
                    db.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
            error = StoreError(self.path, f"vote not recorded: {exc}", "check the disk")
            return [(fut, error) for _, _, fut in batch]
        self._counts = tuple(counts)   # published only after COMMIT: tally() never shows uncommitted votes
        return outcomes


    def _known_ids(self, tokens: list[str]) -> dict[str, Recorded]:
        """The votes already stored under these ids: one query per chunk, not one per vote."""
        known: dict[str, Recorded] = {}
        for i in range(0, len(tokens), _ID_CHUNK):
            chunk = tokens[i:i + _ID_CHUNK]
            rows = self._db.execute("SELECT token, option, tally FROM vote_ids WHERE token IN (%s)"
                                    % ",".join("?" * len(chunk)), chunk)
            known.update((token, Recorded(option, tally)) for token, option, tally in rows)
        return known


_ID_CHUNK = 500   # ids per lookup query (SQLite allows 32,766 parameters; smaller keeps queries cheap)


def _resolve(outcomes: list) -> None:
    """On the loop thread: hand each committed (or failed) vote to the connection waiting for it."""
    for fut, outcome in outcomes:
        if fut.done():
            continue
        if isinstance(outcome, LabError):
            fut.set_exception(outcome)
        else:
            fut.set_result(outcome)


def open_store(spec: str, options: Sequence[str], sync: str = "full") -> MemoryStore | SqliteStore:
    """`--store memory` or `--store <path>` (with `--sync full|normal`)."""
    if spec == "memory":
        return MemoryStore(options)
    return SqliteStore(spec, options, sync=sync)
