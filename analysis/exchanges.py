"""Reassemble each direction's byte stream and pair requests with responses.

Reassembly is in sequence order with retransmitted bytes dropped: a segment below the next
expected sequence number contributes only its new tail, a segment above it waits (bounded) until
the gap is filled. Messages are lines (`\\n`, `\\r\\n`); bytes without a newline become one
message when the other side starts to speak or the connection ends - the capture's analogue of
the server's idle gap, so the course's original clients (no newline) are understood too.

Requests (client -> server) are paired first-in first-out with responses (server -> client),
which is how a lockstep request-response protocol behaves.
"""
from __future__ import annotations

import re
from collections import deque

from .model import Exchange

# Out-of-order segments waiting for a gap to be filled, per direction; beyond this the gap is
# given up (the bytes were never captured) and reassembly resumes after it.
_MAX_PENDING_SEGMENTS = 64
# A message longer than this is cut: the lab protocol's limit is 64 KiB per line.
_MAX_MESSAGE = 64 * 1024
_VOTE_COUNTS = re.compile(r"\b([A-Za-z0-9_]+)=(\d+)\b")


class _Direction:
    __slots__ = ("next_seq", "pending", "buffer", "buffer_frame", "buffer_time", "messages")

    def __init__(self) -> None:
        self.next_seq: int | None = None
        self.pending: dict[int, tuple[bytes, int, float]] = {}
        self.buffer = bytearray()
        self.buffer_frame = 0
        self.buffer_time = 0.0
        # complete messages not yet paired: (text, first frame, first time)
        self.messages: deque[tuple[str, int, float]] = deque()

    def add(self, seq: int, payload: bytes, frame: int, time: float) -> None:
        if self.next_seq is None:
            self.next_seq = seq
        offset = (seq - self.next_seq) & 0xFFFFFFFF
        if offset >= 0x80000000:          # starts before next_seq: keep only the new tail
            overlap = (self.next_seq - seq) & 0xFFFFFFFF
            if overlap >= len(payload):
                return
            payload = payload[overlap:]
            offset = 0
        if offset > 0:                    # a gap: wait for the missing bytes
            if len(self.pending) < _MAX_PENDING_SEGMENTS:
                self.pending[seq] = (payload, frame, time)
            return
        self._append(payload, frame, time)
        while self.pending:
            waiting = self.pending.pop(self.next_seq, None)
            if waiting is None:
                break
            self._append(*waiting)

    def _append(self, payload: bytes, frame: int, time: float) -> None:
        self.next_seq = (self.next_seq + len(payload)) & 0xFFFFFFFF
        if not self.buffer:
            self.buffer_frame, self.buffer_time = frame, time
        self.buffer += payload
        while True:
            cut = self.buffer.find(b"\n")
            if cut < 0:
                break
            line = bytes(self.buffer[:cut]).rstrip(b"\r")
            del self.buffer[:cut + 1]
            self.messages.append((_text(line), self.buffer_frame, self.buffer_time))
            self.buffer_frame, self.buffer_time = frame, time
        if len(self.buffer) > _MAX_MESSAGE:
            self.flush()

    def flush(self) -> None:
        """The bytes waiting without a newline are one message (see the module docstring)."""
        if self.buffer:
            self.messages.append((_text(bytes(self.buffer)), self.buffer_frame, self.buffer_time))
            self.buffer.clear()

    def skip_gap(self) -> None:
        """At the end: give up on missing bytes and take what waits behind the gap."""
        while self.pending:
            seq = min(self.pending, key=lambda s: (s - self.next_seq) & 0xFFFFFFFF)
            self.flush()
            self.next_seq = seq
            payload, frame, time = self.pending.pop(seq)
            self._append(payload, frame, time)


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="backslashreplace")


def exchange_kind(request: str, response: str | None) -> str:
    head = request.strip().upper()
    if response is not None and response.startswith("ERROR"):
        return "error"
    if head.startswith("VOTE ") or head == "VOTE":
        return "vote"
    if head == "RESULTS":
        return "results"
    if response is not None and response.startswith("Echo: "):
        return "echo"
    return "other"


class _ConnStreams:
    __slots__ = ("client", "request", "response", "last_sender", "exchanges")

    def __init__(self, client: tuple) -> None:
        self.client = client
        self.request = _Direction()
        self.response = _Direction()
        self.last_sender: bool | None = None   # True: client spoke last
        self.exchanges: list[Exchange] = []


class ExchangeTracker:
    """Streaming: `add(conn, client, frame, ...)` for each TCP segment with payload; `finish()`."""

    def __init__(self) -> None:
        self._conns: dict[int, _ConnStreams] = {}

    def _state(self, conn: int, client: tuple) -> _ConnStreams:
        state = self._conns.get(conn)
        if state is None:
            state = self._conns[conn] = _ConnStreams(client)
        return state

    def syn(self, conn: int, client: tuple, sender: tuple, seq: int) -> None:
        """A SYN or SYN-ACK fixes where the sender's byte stream starts (ISN + 1)."""
        state = self._state(conn, client)
        direction = state.request if sender == state.client else state.response
        if direction.next_seq is None:
            direction.next_seq = (seq + 1) & 0xFFFFFFFF

    def add(self, conn: int, client: tuple, sender: tuple, seq: int, payload: bytes,
            frame: int, time: float) -> None:
        state = self._state(conn, client)
        from_client = sender == state.client
        if state.last_sender is not None and state.last_sender != from_client:
            # The other side answered: what the previous speaker left without a newline was
            # a whole message (the course's legacy clients write no newline).
            (state.response if from_client else state.request).flush()
        state.last_sender = from_client
        direction = state.request if from_client else state.response
        direction.add(seq, payload, frame, time)
        self._pair(conn, state)

    def _pair(self, conn: int, state: _ConnStreams) -> None:
        requests, responses = state.request.messages, state.response.messages
        while requests and responses:
            req_text, req_frame, req_time = requests.popleft()
            resp_text, resp_frame, resp_time = responses.popleft()
            state.exchanges.append(Exchange(
                conn=conn, request=req_text, response=resp_text, request_frame=req_frame,
                response_frame=resp_frame, request_time=req_time,
                latency=max(0.0, resp_time - req_time),
                kind=exchange_kind(req_text, resp_text)))

    def finish(self) -> list[Exchange]:
        result: list[Exchange] = []
        for conn, state in self._conns.items():
            for direction in (state.request, state.response):
                direction.skip_gap()
                direction.flush()
            self._pair(conn, state)
            for req_text, req_frame, req_time in state.request.messages:
                state.exchanges.append(Exchange(
                    conn=conn, request=req_text, response=None, request_frame=req_frame,
                    response_frame=None, request_time=req_time, latency=None,
                    kind=exchange_kind(req_text, None)))
            state.request.messages.clear()
            result.extend(state.exchanges)
        result.sort(key=lambda e: (e.request_frame, e.conn))
        return result


def reply_counts(reply: str) -> dict[str, int]:
    """The vote counts a VOTED or RESULTS reply reports ({} for any other reply)."""
    if not reply.startswith(("VOTED ", "RESULTS")):
        return {}
    return {name: int(value) for name, value in _VOTE_COUNTS.findall(reply)}


def vote_totals(exchanges: list[Exchange]) -> dict[str, int]:
    """The vote counts the server last reported (from a VOTED or RESULTS reply), {} if none."""
    totals: dict[str, int] = {}
    for exchange in exchanges:
        if exchange.kind in ("vote", "results"):
            counts = reply_counts(exchange.response or "")
            if counts:
                totals = counts
    return totals
