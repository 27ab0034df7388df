"""Reassemble each direction's byte stream and pair requests with responses.

Reassembly is in sequence order with retransmitted bytes dropped: a segment below the next
expected sequence number contributes only its new tail, a segment above it waits (bounded) until
the gap is filled.

How a connection's bytes become messages depends on what the server says first:

* **The lab's line protocol** (README "Protocol"): the server's first bytes are a lab reply
  (`LAB_REPLY_PREFIXES`: "Echo: ", "VOTED ", "RESULTS ", "ERROR "). Messages are lines (`\\n`,
  `\\r\\n`); bytes without a newline become one message when the other side starts to speak or
  the connection ends - the capture's analogue of the server's idle gap, so the course's original
  clients (no newline) are understood too. Requests are paired first-in first-out with
  responses, as a lockstep request-response protocol behaves.
* **Any other protocol** (FTP, HTTP, SMTP, ...): messages are turns - everything one side sends
  until the other side sends new bytes is one message, as Wireshark's Follow TCP Stream groups
  them. A client turn is paired with the server turn that follows it. The text of a turn is its
  first MAX_MESSAGE bytes, less one final line end.

Until the server's first bytes arrive the client's bytes are kept both ways; a connection whose
server never speaks is paired by turns. In both cases a response is never paired with a request
it precedes: what the server sends before any request is waiting (an FTP or SMTP greeting) is no
exchange.
"""
from __future__ import annotations

import re
from collections import deque

from analysis.model import Exchange

# Out-of-order segments waiting for a gap to be filled, per direction; beyond this the gap is
# given up (the bytes were never captured) and reassembly resumes after it.
_MAX_PENDING_SEGMENTS = 64
# A message longer than this is cut: the lab protocol's limit is 64 KiB per line; a turn keeps
# its first MAX_MESSAGE bytes.
MAX_MESSAGE = 64 * 1024
_VOTE_COUNTS = re.compile(r"\b([A-Za-z0-9_]+)=(\d+)\b")
# How the lab server's replies begin (lab/protocol.py builds them, REPLY_PREFIXES; the contract
# test tests/test_reply_contract.py checks that these are what the server writes).
LAB_REPLY_PREFIXES = (b"Echo: ", b"VOTED ", b"RESULTS ", b"ERROR ")
LINES, TURNS = "lines", "turns"     # how a connection is paired (None: not known yet)


class _Direction:
    __slots__ = ("next_seq", "pending", "buffer", "buffer_frame", "buffer_time", "owner", "index")

    def __init__(self, owner: "_ConnStreams", index: int) -> None:
        self.next_seq: int | None = None
        self.pending: dict[int, tuple[bytes, int, float]] = {}
        self.buffer = bytearray()
        self.buffer_frame = 0
        self.buffer_time = 0.0
        self.owner = owner
        self.index = index                # 0: the client's bytes (requests), 1: the server's

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
        """New bytes of this direction, in sequence order."""
        self.next_seq = (self.next_seq + len(payload)) & 0xFFFFFFFF
        owner = self.owner
        if owner.mode is None and self.index == 1:
            owner.decide(payload)
        if owner.mode is TURNS:
            owner.turn_add(self.index, payload, frame, time)
            return
        if owner.mode is None:            # the client's bytes, kept as a turn too until known
            owner.turn_add(0, payload, frame, time)
        if not self.buffer:
            self.buffer_frame, self.buffer_time = frame, time
        self.buffer += payload
        while True:
            cut = self.buffer.find(b"\n")
            if cut < 0:
                break
            line = bytes(self.buffer[:cut]).rstrip(b"\r")
            del self.buffer[:cut + 1]
            owner.complete(self.index, _text(line), self.buffer_frame, self.buffer_time)
            self.buffer_frame, self.buffer_time = frame, time
        if len(self.buffer) > MAX_MESSAGE:
            self.flush()

    def flush(self) -> None:
        """The bytes waiting without a newline are one message (see the module docstring)."""
        if self.buffer:
            text = _text(bytes(self.buffer))
            self.buffer.clear()
            self.owner.complete(self.index, text, self.buffer_frame, self.buffer_time)

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


def turn_text(raw: bytes) -> str:
    """A turn's text: its bytes less one final line end (so a one-line turn reads as its line)."""
    if raw.endswith(b"\n"):
        raw = raw[:-1].rstrip(b"\r")
    return _text(raw)


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
    __slots__ = ("conn", "client", "request", "response", "last_sender", "exchanges", "mode",
                 "waiting", "turn", "turn_dir", "turn_frame", "turn_time")

    def __init__(self, conn: int, client: tuple) -> None:
        self.conn = conn
        self.client = client
        self.request = _Direction(self, 0)
        self.response = _Direction(self, 1)
        self.last_sender: bool | None = None   # True: client spoke last
        self.exchanges: list[Exchange] = []
        self.mode: str | None = None           # LINES, TURNS, None: the server has not spoken
        # complete requests not yet answered: (text, first frame, first time)
        self.waiting: deque[tuple[str, int, float]] = deque()
        self.turn = bytearray()                # the turn being sent (its first MAX_MESSAGE bytes)
        self.turn_dir = 0
        self.turn_frame = 0
        self.turn_time = 0.0

    def decide(self, first: bytes) -> None:
        """The server's first bytes say how this connection is paired."""
        if first.startswith(LAB_REPLY_PREFIXES):
            self.mode = LINES
            self.turn.clear()
        else:
            self.turn_mode()

    def turn_mode(self) -> None:
        self.mode = TURNS
        self.waiting.clear()
        self.request.buffer.clear()
        self.response.buffer.clear()

    def turn_add(self, index: int, payload: bytes, frame: int, time: float) -> None:
        if self.turn and self.turn_dir != index:
            self.end_turn()
        if not self.turn:
            self.turn_dir, self.turn_frame, self.turn_time = index, frame, time
        room = MAX_MESSAGE - len(self.turn)
        if room > 0:
            self.turn += payload[:room]

    def end_turn(self) -> None:
        if self.turn:
            text = turn_text(bytes(self.turn))
            self.turn.clear()
            self.complete(self.turn_dir, text, self.turn_frame, self.turn_time)

    def complete(self, index: int, text: str, frame: int, time: float) -> None:
        """A whole message: a request waits for its response; a response answers the oldest
        waiting request, and is no exchange when none waits (it precedes every request)."""
        if index == 0:
            self.waiting.append((text, frame, time))
            return
        if not self.waiting:
            return
        req_text, req_frame, req_time = self.waiting.popleft()
        self.exchanges.append(Exchange(
            conn=self.conn, request=req_text, response=text, request_frame=req_frame,
            response_frame=frame, request_time=req_time, latency=max(0.0, time - req_time),
            kind=exchange_kind(req_text, text)))


class ExchangeTracker:
    """Streaming: `add(conn, client, frame, ...)` for each TCP segment with payload; `finish()`."""

    def __init__(self) -> None:
        self._conns: dict[int, _ConnStreams] = {}

    def _state(self, conn: int, client: tuple) -> _ConnStreams:
        state = self._conns.get(conn)
        if state is None:
            state = self._conns[conn] = _ConnStreams(conn, client)
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

    def finish(self) -> list[Exchange]:
        result: list[Exchange] = []
        for conn, state in self._conns.items():
            for direction in (state.request, state.response):
                direction.skip_gap()
                direction.flush()
            if state.mode is None:        # the server never spoke: pair by turns
                state.turn_mode()
            state.end_turn()
            for req_text, req_frame, req_time in state.waiting:
                state.exchanges.append(Exchange(
                    conn=conn, request=req_text, response=None, request_frame=req_frame,
                    response_frame=None, request_time=req_time, latency=None,
                    kind=exchange_kind(req_text, None)))
            state.waiting.clear()
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
