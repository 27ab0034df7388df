"""`make bench-lab`: the lab server under load, against a minimal asyncio echo server, on loopback.

Runs, in one process run: our server (`python -m lab.server`, SQLite store, everything on) and a
reference server (a bare asyncio Protocol that answers each chunk with b"Echo: " + chunk: no framing,
no storage, no limits, no logging), both as subprocesses on 127.0.0.1. The load generator
(lab.loadgen) runs here, 100 lockstep clients, every run bounded in requests and seconds.

Reports echo req/s and p99 for both and their ratio, and durable votes/s (with and without
idempotency ids); then kills the server with SIGKILL and checks that every acknowledged vote is
in the database. Writes bench/lab/results.md.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from lab.loadgen import LoadResult, run_load

ROOT = Path(__file__).resolve().parents[2]
RESULTS_MD = ROOT / "bench" / "lab" / "results.md"
HOST = "127.0.0.1"
CLIENTS = 100
ROUNDS = 5              # runs per measurement; the median (by req/s) is reported
SECONDS = 3.0           # per run
MAX_REQUESTS = 400_000  # per run
TARGET_ECHO_RATIO = 0.8
TARGET_VOTES = 10_000


# --- the reference server ----------------------------------------------------------------------

class _ReferenceEcho(asyncio.Protocol):
    def connection_made(self, transport):  # type: ignore[override]
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(b"Echo: " + data)


async def _serve_reference() -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_ReferenceEcho, HOST, 0, backlog=1024)
    print(f"listening on {server.sockets[0].getsockname()[1]}", flush=True)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()


# --- running servers -----------------------------------------------------------------------------

def _start(cmd: list[str], log: Path, pattern: str) -> tuple[subprocess.Popen, int]:
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        m = re.search(pattern, log.read_text(errors="replace"))
        if m:
            return proc, int(m.group(1))
        if proc.poll() is not None:
            break
        time.sleep(0.02)
    proc.kill()
    proc.wait()
    raise RuntimeError(f"{' '.join(cmd)} did not start: {log.read_text(errors='replace')[-500:]}")


def _stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _runs(server: subprocess.Popen, port: int, kind: str, rounds: int, seconds: float) -> list[LoadResult]:
    """Bounded load runs; also records the server process's CPU time per request into _CPU_US."""
    proc = psutil.Process(server.pid)
    runs = []
    for _ in range(rounds):
        before = sum(proc.cpu_times()[:2])
        r = asyncio.run(run_load(HOST, port, clients=CLIENTS, requests=MAX_REQUESTS, seconds=seconds, kind=kind))
        if r.errors:
            raise RuntimeError(f"{kind} run had {r.errors} errors: {r.summary()}")
        _CPU_US[id(r)] = (sum(proc.cpu_times()[:2]) - before) / max(r.requests, 1) * 1e6
        runs.append(r)
    return runs


_CPU_US: dict[int, float] = {}   # id(LoadResult) -> server CPU microseconds per request in that run


def _cpu(runs: list[LoadResult]) -> float:
    return statistics.median(_CPU_US[id(r)] for r in runs)


def _median(runs: list[LoadResult]) -> LoadResult:
    return sorted(runs, key=lambda r: r.rps)[len(runs) // 2]


def _stored_votes(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT COALESCE(SUM(n), 0) FROM counts").fetchone()[0]


def run(rounds: int, seconds: float) -> str:
    with tempfile.TemporaryDirectory(prefix="lab-bench-") as tmp:
        tmpdir = Path(tmp)
        db = tmpdir / "votes.db"
        ours, our_port = _start([sys.executable, "-m", "lab.server", "--host", HOST, "--port", "0",
                                 "--store", str(db)], tmpdir / "server.out", r"Server listening on [\d.]+:(\d+)")
        ref = None
        try:
            ref, ref_port = _start([sys.executable, "-m", "bench.lab", "--reference-server"],
                                   tmpdir / "reference.out", r"listening on (\d+)")
            # Warm both up, then alternate rounds so drift on the machine hits both alike.
            _runs(ours, our_port, "echo", 1, 1.0)
            _runs(ref, ref_port, "echo", 1, 1.0)
            echo_runs, ref_runs = [], []
            for _ in range(rounds):
                echo_runs += _runs(ours, our_port, "echo", 1, seconds)
                ref_runs += _runs(ref, ref_port, "echo", 1, seconds)
            vote_runs = _runs(ours, our_port, "vote", rounds, seconds)
            vote_id_runs = _runs(ours, our_port, "vote-id", rounds, seconds)
            # Every acknowledged vote on disk: kill -9, then count what the database holds.
            acked = sum(r.requests for r in vote_runs + vote_id_runs)
            _stop(ours, signal.SIGKILL)
            stored = _stored_votes(db)
            # The same server with synchronous=NORMAL (no fsync per commit; still kill -9 safe).
            db_normal = tmpdir / "votes-normal.db"
            ours, our_port = _start([sys.executable, "-m", "lab.server", "--host", HOST, "--port", "0",
                                     "--store", str(db_normal), "--sync", "normal"], tmpdir / "server-normal.out",
                                    r"Server listening on [\d.]+:(\d+)")
            normal_runs = _runs(ours, our_port, "vote-id", rounds, seconds)
            acked_normal = sum(r.requests for r in normal_runs)
            _stop(ours, signal.SIGKILL)
            stored_normal = _stored_votes(db_normal)
        finally:
            if ref is not None:
                _stop(ref)
            _stop(ours, signal.SIGKILL)
    return _report(echo_runs, ref_runs, vote_runs, vote_id_runs, normal_runs, (acked, stored),
                   (acked_normal, stored_normal), seconds)


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} cores, Linux {platform.release()}, Python {platform.python_version()}, "
            f"SQLite {sqlite3.sqlite_version}")


def _durability(acked: int, stored: int) -> str:
    if stored == acked:
        verdict = "every acknowledged vote is on disk, each counted once"
    else:
        verdict = "MISMATCH: " + ("votes lost" if stored < acked else "unacknowledged votes counted")
    return f"{acked:,} votes acknowledged; after `kill -9` of the server the database holds {stored:,} ({verdict})"


def _report(echo_runs, ref_runs, vote_runs, vote_id_runs, normal_runs, full_check, normal_check,
            seconds: float) -> str:
    echo, echo_ref = _median(echo_runs), _median(ref_runs)
    votes, votes_id, normal = _median(vote_runs), _median(vote_id_runs), _median(normal_runs)
    # Rounds alternate ours/reference back to back; the median of those paired ratios is robust
    # against other load on the machine that comes and goes between rounds.
    ratio = statistics.median(e.rps / r.rps for e, r in zip(echo_runs, ref_runs))

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    lines = [
        "# Lab server benchmark (`make bench-lab`)",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M')} on {_machine()}.",
        f"Loopback only; {CLIENTS} concurrent lockstep clients (lab.loadgen) in one process, the server in another;",
        f"each figure is the median of {len(echo_runs)} runs of at most {seconds:g} s / {MAX_REQUESTS:,} requests.",
        "Reference: a bare asyncio Protocol echo server (no framing, storage, limits or logging), same run.",
        "",
        "Ratios: echo is the median of the paired ratios (each of our rounds against the reference round right",
        "after it); votes are against the reference's median echo. Server CPU per request (user+system time of",
        "the server process over the run, divided by requests) varies less than req/s with other load on the machine.",
        "",
        "| measurement | requests/s | p50 ms | p99 ms | server CPU us/request | vs reference echo | target |",
        "|---|---:|---:|---:|---:|---:|---|",
        f"| echo, reference server | {echo_ref.rps:,.0f} | {echo_ref.p50_ms:.2f} | {echo_ref.p99_ms:.2f} | "
        f"{_cpu(ref_runs):.1f} | 1.00 | |",
        f"| echo, lab.server | {echo.rps:,.0f} | {echo.p50_ms:.2f} | {echo.p99_ms:.2f} | {_cpu(echo_runs):.1f} | "
        f"{ratio:.2f} | "
        f">= {TARGET_ECHO_RATIO} x reference: {verdict(ratio >= TARGET_ECHO_RATIO)} |",
        f"| durable votes (`VOTE A`) | {votes.rps:,.0f} | {votes.p50_ms:.2f} | {votes.p99_ms:.2f} | "
        f"{_cpu(vote_runs):.1f} | "
        f"{votes.rps / echo_ref.rps:.2f} | >= {TARGET_VOTES:,}/s: {verdict(votes.rps >= TARGET_VOTES)} |",
        f"| durable votes with ids (`VOTE A id=...`) | {votes_id.rps:,.0f} | {votes_id.p50_ms:.2f} | "
        f"{votes_id.p99_ms:.2f} | {_cpu(vote_id_runs):.1f} | {votes_id.rps / echo_ref.rps:.2f} | "
        f">= {TARGET_VOTES:,}/s: {verdict(votes_id.rps >= TARGET_VOTES)} |",
        f"| same, `--sync normal` (kill -9 safe, not power-loss safe) | {normal.rps:,.0f} | {normal.p50_ms:.2f} | "
        f"{normal.p99_ms:.2f} | {_cpu(normal_runs):.1f} | {normal.rps / echo_ref.rps:.2f} | "
        f">= {TARGET_VOTES:,}/s: {verdict(normal.rps >= TARGET_VOTES)} |",
        "",
        "Votes are SQLite WAL with group commit (one transaction per batch of concurrent votes); the default",
        "synchronous=FULL adds one fsync per batch, so vote throughput follows the disk's fsync latency.",
        f"Durability check, default (FULL): {_durability(*full_check)}.",
        f"Durability check, `--sync normal`: {_durability(*normal_check)}.",
        "",
        f"Load on the machine during the run (1-minute load average at the end): {os.getloadavg()[0]:.2f}.",
        "",
        "Echo runs (req/s): lab.server " + ", ".join(f"{r.rps:,.0f}" for r in echo_runs)
        + "; reference " + ", ".join(f"{r.rps:,.0f}" for r in ref_runs) + ".",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.lab", description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=ROUNDS)
    p.add_argument("--seconds", type=float, default=SECONDS)
    p.add_argument("--out", type=Path, default=RESULTS_MD, help="where the report goes (default %(default)s)")
    p.add_argument("--reference-server", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.reference_server:
        asyncio.run(_serve_reference())
        return 0
    if args.rounds < 1 or args.seconds <= 0:
        p.error("--rounds must be at least 1 and --seconds positive")
    report = run(args.rounds, args.seconds)
    args.out.write_text(report)
    print(report)
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
