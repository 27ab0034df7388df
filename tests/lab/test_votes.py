"""Votes under concurrency, retries and kill -9: exact totals, counted once, nothing acknowledged lost."""
from __future__ import annotations

import asyncio
import collections
import signal
import subprocess
import sys
import time

from lab.loadgen import run_load
from lab.session import ClientConfig, Session
from tests.lab.support.server import HOST, ROOT, ask


def _results(server) -> dict[str, int]:
    with server.connect() as s:
        line = ask(s, b"RESULTS\n").decode().split()
    assert line[0] == "RESULTS"
    return {k: int(v) for k, v in (kv.split("=") for kv in line[1:])}


def test_50_concurrent_clients_x_200_votes_give_exact_totals(start_server):
    server = start_server()
    result = asyncio.run(run_load(HOST, server.port, clients=50, per_client=200, requests=10_000,
                                  seconds=120, kind="vote-id"))
    assert (result.requests, result.errors) == (10_000, 0)
    # Each client votes A, B, C, A, ... : 67 A, 67 B and 66 C out of its 200.
    assert _results(server) == {"A": 50 * 67, "B": 50 * 67, "C": 50 * 66}
    assert server.stop() == 0
    restarted = start_server()
    assert _results(restarted) == {"A": 3350, "B": 3350, "C": 3300}


def test_a_retried_vote_id_counts_once_and_gets_the_same_reply(start_server):
    server = start_server()
    config = ClientConfig(host=HOST, port=server.port, retries=0, timeout=5)
    first, second = Session(config), Session(config)
    try:
        assert first.vote("B") == "VOTED B A=0 B=1 C=0"
        one = first.vote("A", "same-id")
        assert second.vote("C") == "VOTED C A=1 B=1 C=1"
        assert second.vote("a", "same-id") == one == "VOTED A A=1 B=1 C=0"
    finally:
        first.close()
        second.close()
    assert _results(server) == {"A": 1, "B": 1, "C": 1}


def test_client_retries_a_vote_after_a_timeout_without_double_counting(start_server):
    server = start_server()
    server.proc.send_signal(signal.SIGSTOP)      # the server stops answering; the kernel still accepts
    try:
        client = subprocess.Popen(
            [sys.executable, "-m", "lab.client", "--host", HOST, "--port", str(server.port),
             "--vote", "A", "--timeout", "0.3", "--retries", "30"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1.0)                          # long enough for the client to time out and resend
    finally:
        server.proc.send_signal(signal.SIGCONT)
    out, err = client.communicate(timeout=60)
    assert client.returncode == 0, err
    assert out == "Received from server: VOTED A A=1 B=0 C=0\n"
    sends = [line for line in server.output().splitlines() if line.startswith("Received from client: VOTE A id=")]
    assert len(sends) >= 2 and len(set(sends)) == 1      # the same id, sent more than once
    assert _results(server) == {"A": 1, "B": 0, "C": 0}


async def _vote_storm(server, clients: int, kill_after: int):
    """Clients vote in lockstep until the server is killed with SIGKILL after `kill_after` acks.

    Returns the acknowledged votes (id -> (option, reply); plain votes get a local id) and the votes
    in flight when the server died (at most one per client)."""
    acked: dict[str, tuple[str, bytes, bool]] = {}
    inflight: dict[str, str] = {}

    async def client(n: int) -> None:
        reader, writer = await asyncio.open_connection(HOST, server.port)
        with_ids = n % 2 == 0                 # half the clients send idempotency ids, half plain votes
        try:
            for i in range(20_000):           # bounded even if the kill never came
                option, key = "ABC"[(n + i) % 3], f"k{n}-{i}"
                inflight[key] = option
                writer.write(f"VOTE {option} id={key}\n".encode() if with_ids else f"VOTE {option}\n".encode())
                line = await reader.readline()
                if not line:
                    return
                assert line.startswith(b"VOTED " + option.encode() + b" "), line
                acked[key] = (option, line, with_ids)
                del inflight[key]
        except ConnectionError:
            return
        finally:
            writer.close()

    async def killer() -> None:
        deadline = time.monotonic() + 30
        while len(acked) < kill_after and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        server.kill9()

    await asyncio.wait_for(asyncio.gather(killer(), *(client(n) for n in range(clients))), 90)
    return acked, inflight


def test_kill_9_during_a_vote_storm_loses_no_acknowledged_vote(start_server, tmp_path):
    store = str(tmp_path / "storm.db")
    server = start_server(store=store)
    acked, inflight = asyncio.run(_vote_storm(server, clients=20, kill_after=3000))
    assert server.proc.returncode == -signal.SIGKILL
    assert len(acked) >= 3000 and len(inflight) <= 20

    restarted = start_server(store=store)
    stored = _results(restarted)
    acked_per = collections.Counter(option for option, _, _ in acked.values())
    inflight_per = collections.Counter(inflight.values())
    for option in "ABC":
        assert acked_per[option] <= stored[option] <= acked_per[option] + inflight_per[option], option

    # Every acknowledged vote with an id is on disk under that id: resending it gets the very same
    # reply and changes no count.
    with_ids = [(key, option, line) for key, (option, line, has_id) in acked.items() if has_id]
    assert with_ids
    with restarted.connect(timeout=30) as s:
        s.sendall(b"".join(f"VOTE {option} id={key}\n".encode() for key, option, _ in with_ids))
        buf = b""
        while buf.count(b"\n") < len(with_ids):
            buf += s.recv(1 << 20)
    assert buf.splitlines(keepends=True) == [line for _, _, line in with_ids]
    assert _results(restarted) == stored
    # ...and the counts continue from there.
    with restarted.connect() as s:
        expected = f"VOTED C A={stored['A']} B={stored['B']} C={stored['C'] + 1}\n".encode()
        assert ask(s, b"VOTE C\n") == expected
