"""Framing does not depend on how TCP cut the byte stream.

The server has a fast path for the usual segment (exactly one whole line) and a buffered path for
everything else; fed the same bytes cut at any points, both must give the same replies and the same
log. The stream is cut deterministically here by calling data_received on a served connection with
a transport that records what the server writes (a real socket cannot choose where segments end).
"""
from __future__ import annotations

import asyncio
import random

import pytest

from lab.service import LabServer, ServerConfig, _Connection
from lab.store import MemoryStore

MAX_LINE = 16   # small, so the line-length limit is crossed by short test streams


class _RecordingTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.closed = False

    def write(self, data: bytes) -> None:
        self.written += data

    def get_extra_info(self, name, default=None):
        return ("127.0.0.1", 40000) if name == "peername" else default

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        self.closed = True

    def close(self) -> None:
        self.closed = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def _serve(stream: bytes, cuts: list[int]) -> tuple[bytes, list[str]]:
    async def main() -> tuple[bytes, list[str]]:
        log: list[str] = []
        server = LabServer(ServerConfig(max_line=MAX_LINE), MemoryStore(("A", "B", "C")), log.append)
        conn = _Connection(server)
        transport = _RecordingTransport()
        conn.connection_made(transport)
        for start, end in zip([0] + cuts, cuts + [len(stream)]):
            if start < end:
                conn.data_received(stream[start:end])
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


def test_the_recorded_replies_are_the_protocol_answers():
    written, log = _serve(STREAMS["over-limit"], [3])
    assert written == b"Echo: ok\nERROR line too long\n"
    assert log[-1] == "Closing connection from: ('127.0.0.1', 40000) (line too long)"
    written, _ = _serve(STREAMS["exact-limit"], [])
    assert written == (b"Echo: " + b"x" * MAX_LINE + b"\n" + b"Echo: " + b"y" * MAX_LINE + b"\n"
                       + b"Echo: after\n")
