"""Framing does not depend on how TCP cut the byte stream.

The server has a fast path for the usual segment (exactly one whole line) and a buffered path for
everything else; fed the same bytes cut at any points, both must give the same replies and the same
log. The stream is cut deterministically here by calling data_received on a served connection with
a transport that records what the server writes (a real socket cannot choose where segments end).
Nor may they depend on how many lines the server answers per loop callback (its fairness batch).
"""
from __future__ import annotations

import asyncio
import random

import pytest

from lab.connection import Connection as _Connection
from lab.service import LabServer, ServerConfig
from lab.store import MemoryStore

MAX_LINE = 16   # small, so the line-length limit is crossed by short test streams


class _RecordingTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.writes = 0
        self.closed = False
        self.paused = False

    def write(self, data: bytes) -> None:
        self.written += data
        self.writes += 1

    def get_extra_info(self, name, default=None):
        return ("127.0.0.1", 40000) if name == "peername" else default

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        self.closed = True

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def set_write_buffer_limits(self, high=None, low=None) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0

    def pause_reading(self) -> None:
        self.paused = True

    def resume_reading(self) -> None:
        self.paused = False


async def _while_paused(transport: _RecordingTransport) -> None:
    """A real transport delivers nothing while reading is paused: let the loop run meanwhile."""
    for _ in range(100_000):
        if not transport.paused:
            return
        await asyncio.sleep(0)
    raise AssertionError("the connection never resumed reading")


def _serve(stream: bytes, cuts: list[int], batch_lines: int = 256) -> tuple[bytes, list[str]]:
    async def main() -> tuple[bytes, list[str]]:
        log: list[str] = []
        config = ServerConfig(max_line=MAX_LINE, batch_lines=batch_lines)
        server = LabServer(config, MemoryStore(("A", "B", "C")), log.append)
        conn = _Connection(server)
        transport = _RecordingTransport()
        conn.connection_made(transport)
        for start, end in zip([0] + cuts, cuts + [len(stream)]):
            if start < end and not transport.closed:
                await _while_paused(transport)
                conn.data_received(stream[start:end])
        await _while_paused(transport)
        conn.eof_received()
        return bytes(transport.written), log
    return asyncio.run(main())


STREAMS = {
    "chat": b"hi\nHello Server\r\nbye\n",
    "votes": b"VOTE a\n  vote B id=k1\nRESULTS\nvote c id=k1\n\tresults\nVOTER A\n",
    "empty-lines": b"\n\r\n \n",
    "exact-limit": b"x" * MAX_LINE + b"\r\n" + b"y" * MAX_LINE + b"\n" + b"after\n",
    "over-limit": b"ok\n" + b"z" * (MAX_LINE + 1) + b"\n" + b"never\n",
    "over-limit-cr": b"z" * (MAX_LINE + 1) + b"\r\n",
    "invalid-utf8": b"\xff\xfe\nok\n",
    "no-final-newline": b"one\ntwo",
}


@pytest.mark.parametrize("name", sorted(STREAMS))
def test_replies_and_log_do_not_depend_on_segment_boundaries(name):
    stream = STREAMS[name]
    whole = _serve(stream, [])
    per_line = _serve(stream, [i + 1 for i, b in enumerate(stream) if b == 0x0A])
    per_byte = _serve(stream, list(range(1, len(stream))))
    rng = random.Random(name)
    random_cuts = [_serve(stream, sorted(rng.sample(range(1, len(stream)), rng.randint(1, len(stream) // 3))))
                   for _ in range(20)]
    assert whole[0], "the stream got no reply at all"
    for other in [per_line, per_byte, *random_cuts]:
        assert other == whole
    for batch_lines in (1, 2):      # a batch ends after every line or two: same answers, same order
        assert _serve(stream, [], batch_lines) == whole
        assert _serve(stream, sorted(rng.sample(range(1, len(stream)), 2)), batch_lines) == whole


def test_a_burst_is_answered_in_batches_with_one_write_each_and_the_loop_runs_in_between():
    async def main() -> tuple[int, int, int]:
        server = LabServer(ServerConfig(batch_lines=256), MemoryStore(("A", "B", "C")))
        conn = _Connection(server)
        transport = _RecordingTransport()
        conn.connection_made(transport)
        ticks = 0

        def tick() -> None:         # another client's callback: it must run between the batches
            nonlocal ticks
            ticks += 1
            if transport.paused:
                asyncio.get_running_loop().call_soon(tick)
        asyncio.get_running_loop().call_soon(tick)
        conn.data_received(b"\n" * 1000)
        first = transport.writes
        await _while_paused(transport)
        return first, transport.writes, ticks

    first, writes, ticks = asyncio.run(main())
    assert first == 1               # the first 256 replies, in one write, before yielding
    assert writes == 4              # 1000 lines = 256 + 256 + 256 + 232
    assert ticks >= 3


def test_the_recorded_replies_are_the_protocol_answers():
    written, log = _serve(STREAMS["over-limit"], [3])
    assert written == b"Echo: ok\nERROR line too long\n"
    assert log[-1] == "Closing connection from: ('127.0.0.1', 40000) (line too long)"
    written, _ = _serve(STREAMS["exact-limit"], [])
    assert written == (b"Echo: " + b"x" * MAX_LINE + b"\n" + b"Echo: " + b"y" * MAX_LINE + b"\n"
                       + b"Echo: after\n")
