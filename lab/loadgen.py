"""Load generator: N concurrent clients, request/response in lockstep, bounded in count AND time.

Each client sends one request, waits for its reply line, records the latency and sends the next,
until the shared request budget or the time limit runs out. Clients are callback-driven protocols
(no task or future per request) so the generator costs as little CPU as possible and the server,
not the generator, is what gets measured.

    python -m lab.loadgen --port 2222 --clients 100 --requests 100000 --seconds 10 --kind echo
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import sys
import time
import uuid
from dataclasses import dataclass
from typing import Sequence

from lab import protocol
from lab.errors import ServerUnreachable

KINDS = ("echo", "vote", "vote-id")   # vote-id: every vote carries a fresh idempotency id


@dataclass(frozen=True)
class LoadResult:
    kind: str
    clients: int
    requests: int          # replies received
    errors: int            # replies that were not what the request asks for, or requests lost
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        return (f"{self.kind}: {self.clients} clients, {self.requests} requests in {self.seconds:.2f} s "
                f"= {self.rps:,.0f} req/s, p50 {self.p50_ms:.2f} ms, p99 {self.p99_ms:.2f} ms, "
                f"{self.errors} errors")


class _Budget:
    def __init__(self, total: int, per_client: int | None, deadline: float) -> None:
        self.left, self.per_client, self.deadline = total, per_client, deadline
        self.latencies: list[float] = []
        self.errors = 0
        self.running = 0
        self.done = asyncio.get_running_loop().create_future()
        self.run_id = uuid.uuid4().hex[:8].encode()   # vote ids differ from run to run

    def client_finished(self) -> None:
        self.running -= 1
        if self.running == 0 and not self.done.done():
            self.done.set_result(None)


class _Client(asyncio.Protocol):
    def __init__(self, number: int, kind: str, options: Sequence[str], budget: _Budget) -> None:
        self.number, self.kind, self.budget = number, kind, budget
        self.options = itertools.cycle([o.encode() for o in options])
        self.expect = (protocol.ECHO_PREFIX if kind == "echo" else protocol.VOTED_PREFIX).encode()
        self.seq = 0
        self.buf = b""
        self.sent_at = 0.0
        self.finished = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self.transport = transport

    def start(self) -> None:
        self._send_next()

    def _request(self) -> bytes:
        if self.kind == "echo":
            return b"hello %d %d\n" % (self.number, self.seq)
        option = next(self.options)
        if self.kind == "vote":
            return b"VOTE " + option + b"\n"
        return b"VOTE %s id=%s-%d-%d\n" % (option, self.budget.run_id, self.number, self.seq)

    def _send_next(self) -> None:
        b = self.budget
        if b.left <= 0 or (b.per_client is not None and self.seq >= b.per_client) \
                or time.perf_counter() >= b.deadline:
            return self._finish()
        b.left -= 1
        self.seq += 1
        self.sent_at = time.perf_counter()
        self.transport.write(self._request())

    def data_received(self, data: bytes) -> None:
        self.buf += data
        nl = self.buf.find(b"\n")
        if nl < 0:
            return
        now = time.perf_counter()
        line, self.buf = self.buf[:nl], self.buf[nl + 1:]
        self.budget.latencies.append(now - self.sent_at)
        if not line.startswith(self.expect):
            self.budget.errors += 1
        self._send_next()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.finished:
            self.budget.errors += 1      # the request in flight never got its reply
            self._finish()

    def _finish(self) -> None:
        if not self.finished:
            self.finished = True
            self.transport.close()
            self.budget.client_finished()


async def run_load(host: str, port: int, *, clients: int = 100, requests: int = 100_000,
                   seconds: float = 10.0, kind: str = "echo", per_client: int | None = None,
                   options: Sequence[str] = ("A", "B", "C")) -> LoadResult:
    """Drive the server at host:port and measure it. Bounded by `requests` (and `per_client`) and
    by `seconds`; connecting is not timed."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    loop = asyncio.get_running_loop()
    budget = _Budget(requests, per_client, float("inf"))
    protos: list[_Client] = []
    try:
        for n in range(clients):
            _, proto = await asyncio.wait_for(loop.create_connection(
                lambda n=n: _Client(n, kind, options, budget), host, port), 10.0)
            protos.append(proto)
    except (OSError, asyncio.TimeoutError) as exc:
        for p in protos:
            p.transport.close()
        raise ServerUnreachable(host, port, 1, f"client {len(protos) + 1} of {clients}: {exc!r}") from exc
    budget.running = len(protos)
    start = time.perf_counter()
    budget.deadline = start + seconds
    for p in protos:
        p.start()
    try:
        # A reply that never comes must not hang us: give the stragglers a little past the deadline.
        await asyncio.wait_for(asyncio.shield(budget.done), seconds + 5.0)
    except asyncio.TimeoutError:
        for p in protos:
            if not p.finished:
                budget.errors += 1
                p.finished = True
                p.transport.abort()
    elapsed = time.perf_counter() - start
    lat = sorted(budget.latencies)
    return LoadResult(kind, len(protos), len(lat), budget.errors, elapsed,
                      _percentile(lat, 0.50) * 1e3, _percentile(lat, 0.99) * 1e3)


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m lab.loadgen", description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=2222)
    p.add_argument("--clients", type=int, default=100)
    p.add_argument("--requests", type=int, default=100_000, help="total request budget")
    p.add_argument("--seconds", type=float, default=10.0, help="time limit")
    p.add_argument("--kind", choices=KINDS, default="echo")
    args = p.parse_args(argv)
    try:
        result = asyncio.run(run_load(args.host, args.port, clients=args.clients,
                                      requests=args.requests, seconds=args.seconds, kind=args.kind))
    except ServerUnreachable as exc:
        print(f"lab.loadgen: error: {exc}", file=sys.stderr)
        return 1
    print(result.summary())
    return 0 if result.errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
