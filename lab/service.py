"""The asyncio echo/vote server: framing, per-connection limits, ordered replies, graceful stop.

Library code: it reports what the course's server prints through a ``log`` callback and never
prints itself (lab.server is the CLI that prints).
"""
from __future__ import annotations

import asyncio
import resource
import socket
from collections import deque
from dataclasses import dataclass
from typing import Callable

from lab import protocol
from lab.errors import LabError
from lab.store import MemoryStore, Recorded, SqliteStore

MAX_PENDING = 1024     # replies waiting on commits before we stop reading from that client
LINGER = 2.0           # seconds we wait for the peer's FIN after sending ours
SHUTDOWN_GRACE = 5.0   # seconds in-flight connections get to finish on SIGINT/SIGTERM

_OPEN, _CLOSING, _LINGER, _CLOSED = range(4)
_CLOSE = object()      # in a connection's reply queue: close once everything before it is sent
_RESULTS = object()    # in a reply queue: the tally, taken when it is this reply's turn


@dataclass(frozen=True)
class ServerConfig:
    host: str = "0.0.0.0"
    port: int = 2222
    idle_timeout: float = 300.0
    max_connections: int = 1024
    idle_gap: float = protocol.IDLE_GAP
    max_line: int = protocol.MAX_LINE


class LabServer:
    """Serves the protocol in lab.protocol to many clients at once."""

    def __init__(self, config: ServerConfig, store: MemoryStore | SqliteStore,
                 log: Callable[[str], None] = lambda line: None) -> None:
        self.config = config
        self.store = store
        self.log = log
        self.options = store.options
        self.port: int | None = None
        self._conns: set[_Connection] = set()
        self.active = 0                      # connections counted against max_connections
        self._server: asyncio.base_events.Server | None = None
        self._stopping = False
        self._all_closed: asyncio.Event | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self.store.start(loop)
        self._all_closed = asyncio.Event()
        self._server = await loop.create_server(
            lambda: _Connection(self), self.config.host, self.config.port,
            reuse_address=True, backlog=_backlog())
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop accepting, answer what is in flight, close every connection with FIN, close the store."""
        self._stopping = True
        if self._server is not None:
            self._server.close()
        for conn in list(self._conns):
            conn.shut_down()
        if self._conns:
            self._all_closed.clear()
            try:
                await asyncio.wait_for(self._all_closed.wait(), SHUTDOWN_GRACE)
            except asyncio.TimeoutError:
                for conn in list(self._conns):
                    conn.transport.abort()
        if self._server is not None:
            await self._server.wait_closed()
        await self.store.close()

    def _forget(self, conn: "_Connection") -> None:
        self._conns.discard(conn)
        if conn.counted:
            self.active -= 1
        if not self._conns and self._all_closed is not None:
            self._all_closed.set()


class _Connection(asyncio.Protocol):
    """One client: frames lines, answers in order, enforces the limits."""

    def __init__(self, server: LabServer) -> None:
        self.server = server
        self.store = server.store
        self.options = server.options
        self.loop = asyncio.get_running_loop()
        self.state = _OPEN
        self.counted = False
        self.peer_eof = False
        self.buf = bytearray()
        self.pending: deque = deque()   # replies in order: bytes, Futures of votes, _RESULTS, _CLOSE
        self.gap_timer: asyncio.TimerHandle | None = None
        self.idle_timer: asyncio.TimerHandle | None = None
        self.linger_timer: asyncio.TimerHandle | None = None
        self.last_active = self.loop.time()
        self.read_paused = self.write_paused = False

    # --- asyncio callbacks ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self.transport = transport
        self.peer = transport.get_extra_info("peername")
        server = self.server
        server._conns.add(self)
        if server._stopping or server.active >= server.config.max_connections:
            server.log(f"Refused connection from: {self.peer} (server busy)")
            self.pending.append(protocol.BUSY)
            self._close_after_replies()
            return
        self.counted = True
        server.active += 1
        server.log(f"Connection from: {self.peer}")
        self.idle_timer = self.loop.call_later(server.config.idle_timeout, self._check_idle)

    def data_received(self, data: bytes) -> None:
        if self.state != _OPEN:
            return                          # closing: the peer's late bytes are read and dropped
        self.last_active = self.loop.time()
        buf = self.buf
        if not buf and data[-1:] == b"\n" and data.find(b"\n") == len(data) - 1 \
                and len(data) <= self.server.config.max_line + 1:
            # The usual case, one whole line per segment: no copy through the buffer, no timers.
            return self._message(data[:-1])
        buf += data
        max_line = self.server.config.max_line
        start = 0
        while (nl := buf.find(b"\n", start)) >= 0:
            size = nl - start               # a "\r" before the "\n" is not content
            if size > max_line and (size > max_line + 1 or buf[nl - 1] != 13):
                return self._line_too_long()
            self._message(bytes(buf[start:nl]))
            start = nl + 1
            if self.state != _OPEN:
                return
        if start:
            del buf[:start]
        if self.gap_timer is not None:
            self.gap_timer.cancel()
            self.gap_timer = None
        if buf:
            if len(buf) > max_line + 1:
                return self._line_too_long()
            self.gap_timer = self.loop.call_later(self.server.config.idle_gap, self._gap_elapsed)

    def eof_received(self) -> bool:
        self.peer_eof = True
        if self.state == _OPEN:
            self._take_partial()            # "send then close" clients still get their answer
            self._close_after_replies()
            return True                     # keep our side open until the replies are out
        return self.state == _CLOSING

    def connection_lost(self, exc: Exception | None) -> None:
        self.state = _CLOSED
        for timer in (self.gap_timer, self.idle_timer, self.linger_timer):
            if timer is not None:
                timer.cancel()
        self.pending.clear()
        self.server._forget(self)

    def pause_writing(self) -> None:
        self.write_paused = True
        self._update_reading()

    def resume_writing(self) -> None:
        self.write_paused = False
        self._update_reading()

    # --- messages ------------------------------------------------------------------------------

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
            self._reply(b"Echo: " + line + b"\n")   # valid UTF-8: the bytes are the text's encoding
        elif kind is protocol.Vote:
            self._vote(request)
        elif kind is protocol.Results:
            if self.pending:
                self.pending.append(_RESULTS)   # counted when its turn comes, after earlier votes
            else:
                self._reply(_results_line(self.store))
        else:
            self._reply((request.reply + "\n").encode())

    def _vote(self, vote: protocol.Vote) -> None:
        try:
            outcome = self.store.record(vote.option, vote.token)
        except LabError as exc:
            return self._reply((protocol.error_reply(str(exc)) + "\n").encode())
        if isinstance(outcome, Recorded):
            return self._reply(_voted_line(outcome))
        self.pending.append(outcome)
        outcome.add_done_callback(self._vote_done)
        self._update_reading()

    def _vote_done(self, future: asyncio.Future) -> None:
        future.exception()                  # mark it retrieved even if this client is gone
        if self.state != _CLOSED:
            self._drain()

    def _reply(self, data: bytes) -> None:
        if self.pending:
            self.pending.append(data)
        else:
            self.transport.write(data)

    def _drain(self) -> None:
        """Send the replies at the head of the queue that are ready, in order."""
        pending, write = self.pending, self.transport.write
        while pending:
            head = pending[0]
            if isinstance(head, asyncio.Future):
                if not head.done():
                    break
                exc = head.exception()
                write((protocol.error_reply(str(exc)) + "\n").encode() if exc else _voted_line(head.result()))
            elif head is _RESULTS:
                write(_results_line(self.store))
            elif head is _CLOSE:
                pending.clear()
                return self._finish()
            else:
                write(head)
            pending.popleft()
        self._update_reading()

    # --- partial lines, limits, closing --------------------------------------------------------

    def _gap_elapsed(self) -> None:
        self.gap_timer = None
        if self.state == _OPEN:
            self._take_partial()

    def _take_partial(self) -> None:
        """Bytes that came without a newline and then went quiet are one message."""
        if self.gap_timer is not None:
            self.gap_timer.cancel()
            self.gap_timer = None
        if self.buf:
            line = bytes(self.buf)
            self.buf.clear()
            if len(line) - line.endswith(b"\r") > self.server.config.max_line:
                return self._line_too_long()
            self._message(line)

    def _line_too_long(self) -> None:
        self.server.log(f"Closing connection from: {self.peer} (line too long)")
        self.buf.clear()
        self._reply(protocol.LINE_TOO_LONG)
        self._close_after_replies()

    def _check_idle(self) -> None:
        self.idle_timer = None
        if self.state != _OPEN:
            return
        timeout = self.server.config.idle_timeout
        idle = self.loop.time() - self.last_active
        if idle < timeout or self.pending:
            self.idle_timer = self.loop.call_later(max(timeout - idle, 0.01), self._check_idle)
            return
        self.server.log(f"Closing idle connection from: {self.peer} (idle {timeout:g} s)")
        self._close_after_replies()

    def shut_down(self) -> None:
        """Server stopping: answer complete and idle-gap messages already received, then close."""
        if self.state == _OPEN:
            self._take_partial()
            self._close_after_replies()

    def _close_after_replies(self) -> None:
        if self.state != _OPEN:
            return
        self.state = _CLOSING
        self.pending.append(_CLOSE)
        self._drain()

    def _finish(self) -> None:
        """Everything answered: send FIN, keep reading (and dropping) until the peer's FIN.

        Closing a socket with unread received data makes Linux send RST instead of FIN, and a
        peer that gets RST may lose our last reply; so we shut down our side and linger.
        """
        if self.state == _CLOSED:
            return
        if self.peer_eof:
            self.state = _CLOSED
            self.transport.close()
            return
        self.state = _LINGER
        if self.transport.can_write_eof():
            self.transport.write_eof()
        if self.read_paused:
            self.read_paused = False
            self.transport.resume_reading()
        self.linger_timer = self.loop.call_later(LINGER, self.transport.close)

    def _update_reading(self) -> None:
        if self.state != _OPEN:
            return
        want_pause = self.write_paused or len(self.pending) >= MAX_PENDING
        if want_pause != self.read_paused:
            self.read_paused = want_pause
            if want_pause:
                self.transport.pause_reading()
            else:
                self.transport.resume_reading()


def _voted_line(rec: Recorded) -> bytes:
    return ("VOTED " + rec.option + " " + rec.tally + "\n").encode()


def _results_line(store: MemoryStore | SqliteStore) -> bytes:
    return ("RESULTS " + store.tally() + "\n").encode()


def _backlog() -> int:
    try:
        with open("/proc/sys/net/core/somaxconn") as f:
            return min(int(f.read()), 4096)
    except (OSError, ValueError):
        return socket.SOMAXCONN


def raise_fd_limit(wanted: int) -> int:
    """Raise this process's open-file soft limit towards the hard limit; returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        return target
    return soft
