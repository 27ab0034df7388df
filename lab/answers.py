"""What a connection answers, in order: each message's reply, votes once they are committed.

A mixin of lab.connection.Connection (which owns the transport, the framing and the closing): the
replies of one batch of lines are collected and written together; a vote on the SQLite store is a
Future, and every reply after it waits in `pending` until it is committed, so replies keep the
order of the messages.
"""
from __future__ import annotations

import asyncio

from lab import protocol
from lab.errors import LabError
from lab.store import MemoryStore, Recorded, SqliteStore

MAX_PENDING = 1024     # replies waiting on commits before we stop reading from that client
CLOSE = object()       # in a connection's reply queue: close once everything before it is sent
_RESULTS = object()    # in a reply queue: the tally, taken when it is this reply's turn


class Answering:
    """Needs from its class: transport, store, options, server (for log), pending (a deque), out
    (a list), batching, and _finish, _update_reading, _schedule_work."""

    def _message(self, line: bytes) -> None:
        if line[-1:] == b"\r":
            line = line[:-1]
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            self.server.log(f"Received from client: <{len(line)} bytes of invalid UTF-8>")
            return self._reply(protocol.INVALID_UTF8)
        self.server.log("Received from client: " + text)
        request = protocol.parse(text, self.options)
        kind = type(request)
        if kind is protocol.Echo:
            self._reply(protocol.echo_line(line))   # valid UTF-8: the bytes are the text's encoding
        elif kind is protocol.Vote:
            self._vote(request)
        elif kind is protocol.Results:
            if self.pending:
                self.pending.append(_RESULTS)   # counted when its turn comes, after earlier votes
            else:
                self._reply(_results_line(self.store))
        else:
            self._reply(protocol.line(request.reply))

    def _vote(self, vote: protocol.Vote) -> None:
        try:
            outcome = self.store.record(vote.option, vote.token)
        except LabError as exc:
            return self._reply(protocol.error_line(str(exc)))
        if isinstance(outcome, Recorded):
            return self._reply(_voted_line(outcome))
        self.pending.append(outcome)
        outcome.add_done_callback(self._vote_done)
        self._update_reading()

    def _vote_done(self, future: asyncio.Future) -> None:
        future.exception()                  # mark it retrieved even if this client is gone
        if self.pending:                    # empty once the connection is lost
            self._drain()

    def _reply(self, data: bytes) -> None:
        if self.pending:
            self.pending.append(data)
        else:
            self._send(data)

    def _send(self, data: bytes) -> None:
        if self.batching:
            self.out.append(data)
        elif not self.transport.is_closing():   # a reset peer: no write, no asyncio warning
            self.transport.write(data)

    def _flush(self) -> None:
        if self.out:
            data = b"".join(self.out)
            self.out.clear()
            if not self.transport.is_closing():
                self.transport.write(data)

    def _drain(self) -> None:
        """Send the replies at the head of the queue that are ready, in order, in one write."""
        pending, ready = self.pending, []
        while pending:
            head = pending[0]
            if isinstance(head, asyncio.Future):
                if not head.done():
                    break
                exc = head.exception()
                ready.append(protocol.error_line(str(exc)) if exc
                             else _voted_line(head.result()))
            elif head is _RESULTS:
                ready.append(_results_line(self.store))
            elif head is CLOSE:
                pending.clear()
                if ready:
                    self._send(b"".join(ready))
                return self._finish()
            else:
                ready.append(head)
            pending.popleft()
        if ready:
            self._send(b"".join(ready))
        self._update_reading()
        self._schedule_work()


def _voted_line(rec: Recorded) -> bytes:
    return protocol.voted_line(rec.option, rec.tally)


def _results_line(store: MemoryStore | SqliteStore) -> bytes:
    return protocol.results_line(store.tally())
