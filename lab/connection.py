"""One client connection of the lab server: framing, fairness, flow control, limits, closing.

Fairness: one read can hold 256 KiB, i.e. up to 262,144 empty lines. A connection handles at most
`batch_lines` lines (or `batch_bytes` bytes) per loop callback, writes that batch's replies with one
transport.write, and continues in a later callback with reading paused; so a pipelining client gets
every reply while everyone else is still served within milliseconds. Reading also stops while the
client does not read its replies (the transport's write buffer is over its high-water mark) or while
MAX_PENDING replies wait on vote commits, so such a client costs a bounded amount of memory.
"""
from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING

from lab import protocol
from lab.answers import CLOSE, MAX_PENDING, Answering

if TYPE_CHECKING:
    from lab.service import LabServer

LINGER = 2.0           # seconds we wait for the peer's FIN after sending ours
REFUSED_LINGER = 0.2   # the same for a client refused as busy: its fd is freed quickly
WRITE_HIGH = 64 * 1024   # write-buffer bytes at which we stop reading from a client ...
WRITE_LOW = 16 * 1024    # ... and the level at which we start again

_WAITING, _OPEN, _CLOSING, _LINGER, _CLOSED = range(5)   # _WAITING: for a free slot


class Connection(Answering, asyncio.Protocol):
    """One client: frames lines, answers in order, enforces the limits."""

    def __init__(self, server: "LabServer") -> None:
        self.server = server
        self.config = server.config
        self.store = server.store
        self.options = server.options
        self.loop = asyncio.get_running_loop()
        self.state = _WAITING
        self.wait_timer: asyncio.TimerHandle | None = None
        self.queued = False             # in the server's queue of clients waiting for a slot
        self.counted = False            # holds one of the server's max_connections slots
        self.refused = False
        self.peer_eof = False
        self.buf = bytearray()
        self.pending: deque = deque()   # replies in order: bytes, Futures of votes, CLOSE
        self.out: list[bytes] = []      # this batch's replies, written together
        self.batching = False
        self.backlog = False            # whole lines wait in buf for a later callback
        self.work: asyncio.Handle | None = None
        self.gap_timer: asyncio.TimerHandle | None = None
        self.idle_timer: asyncio.TimerHandle | None = None
        self.line_timer: asyncio.TimerHandle | None = None
        self.linger_timer: asyncio.TimerHandle | None = None
        self.last_active = self.loop.time()
        self.partial_since: float | None = None   # when the unfinished line in buf began
        self.read_paused = self.write_paused = False

    # --- asyncio callbacks ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self.transport = transport
        self.peer = transport.get_extra_info("peername")
        transport.set_write_buffer_limits(WRITE_HIGH, WRITE_LOW)
        self.server._arrived(self)       # admit(), refuse(), or wait for a slot

    def admit(self, counted: bool) -> None:
        """Served from now on; `counted` if it takes one of the max_connections slots."""
        server = self.server
        self._leave_queue()
        self.state = _OPEN
        if counted:
            self.counted = True
            server.active += 1
        server.log(f"Connection from: {self.peer}")
        self.idle_timer = self.loop.call_later(self.config.idle_timeout, self._check_idle)
        if self.buf:                    # what it sent while it waited
            self._work()
        elif self.peer_eof:
            self.shut_down()
        else:
            self._update_reading()

    def refuse(self) -> None:
        """No slot came free in time (or the server is stopping): `ERROR server busy`, close."""
        self.server.log(f"Refused connection from: {self.peer} (server busy)")
        self._leave_queue()
        self.state = _OPEN
        self.refused = True
        self.buf.clear()
        self.pending.append(protocol.BUSY)
        self._close_after_replies()

    def data_received(self, data: bytes) -> None:
        if self.state != _OPEN:
            if self.state == _WAITING:      # kept for when it is admitted, up to about one line
                self.buf += data
                if len(self.buf) > self.config.max_line and not self.read_paused:
                    self.read_paused = True
                    self.transport.pause_reading()
            return                          # closing: the peer's late bytes are read and dropped
        self.last_active = self.loop.time()
        buf = self.buf
        if not buf and data[-1:] == b"\n" and data.find(b"\n") == len(data) - 1 \
                and len(data) <= self.config.max_line + 1:
            # The usual case, one whole line per segment: no copy through the buffer, no timers.
            return self._message(data[:-1])
        buf += data
        if not self.backlog:
            self._work()

    def eof_received(self) -> bool:
        self.peer_eof = True
        self._uncount()
        if self.state == _WAITING:          # done sending: it needs no slot to get its answers
            self.server._admit_finished(self)
            return True
        if self.state == _OPEN:
            if self.backlog:                # the rest of buf is answered first, then we close
                return True
            self._take_partial()            # "send then close" clients still get their answer
            self._close_after_replies()
            return True                     # keep our side open until the replies are out
        return self.state == _CLOSING

    def connection_lost(self, exc: Exception | None) -> None:
        self._leave_queue()
        self.state = _CLOSED
        for handle in (self.work, self.wait_timer, self.gap_timer, self.idle_timer, self.line_timer,
                       self.linger_timer):
            if handle is not None:
                handle.cancel()
        self.pending.clear()
        self.out.clear()
        self.buf.clear()
        self._uncount()
        self.server._forget(self)

    def pause_writing(self) -> None:
        self.write_paused = True
        self._update_reading()

    def resume_writing(self) -> None:
        self.write_paused = False
        self._update_reading()
        self._schedule_work()

    # --- framing, one bounded batch at a time --------------------------------------------------

    def _work(self) -> None:
        """Answer the whole lines in buf, at most one batch of them; the rest in a later callback."""
        self.work = None
        if self.state != _OPEN:
            return
        buf, config, transport = self.buf, self.config, self.transport
        max_line, max_lines, max_bytes = config.max_line, config.batch_lines, config.batch_bytes
        start = lines = 0
        more = False
        self.batching = True
        try:
            while (nl := buf.find(b"\n", start)) >= 0:
                if lines >= max_lines or start >= max_bytes or self.write_paused \
                        or len(self.pending) >= MAX_PENDING:
                    more = True
                    break
                size = nl - start               # a "\r" before the "\n" is not content
                if size > max_line and (size > max_line + 1 or buf[nl - 1] != 13):
                    self._line_too_long()
                    break
                self._message(bytes(buf[start:nl]))
                start = nl + 1
                lines += 1
                if self.state != _OPEN or transport.is_closing():
                    break
        finally:
            self.batching = False
            self._flush()
        if self.state != _OPEN or transport.is_closing():
            return
        if start:
            del buf[:start]
        self.backlog = more
        self._update_reading()
        if more:
            return self._schedule_work()
        if self.gap_timer is not None:
            self.gap_timer.cancel()
            self.gap_timer = None
        if buf:
            if len(buf) > max_line + 1:
                return self._line_too_long()
            if lines or self.partial_since is None:
                self._line_started()
            self.gap_timer = self.loop.call_later(config.idle_gap, self._gap_elapsed)
        else:
            self.partial_since = None
        if self.peer_eof or self.server._stopping:  # they were waiting for the backlog
            self.shut_down()

    def _schedule_work(self) -> None:
        if self.backlog and self.work is None and self.state == _OPEN and not self.write_paused \
                and len(self.pending) < MAX_PENDING:
            self.work = self.loop.call_soon(self._work)

    def _update_reading(self) -> None:
        if self.state != _OPEN:
            return
        want_pause = self.write_paused or self.backlog or self.server._stopping \
            or len(self.pending) >= MAX_PENDING
        if want_pause != self.read_paused:
            self.read_paused = want_pause
            if want_pause:
                self.transport.pause_reading()
            else:
                self.transport.resume_reading()

    # --- partial lines, limits, closing --------------------------------------------------------

    def _gap_elapsed(self) -> None:
        self.gap_timer = None
        if self.state == _OPEN and not self.backlog:
            self._take_partial()

    def _take_partial(self) -> None:
        """Bytes that came without a newline and then went quiet are one message."""
        if self.gap_timer is not None:
            self.gap_timer.cancel()
            self.gap_timer = None
        self.partial_since = None
        if self.buf:
            line = bytes(self.buf)
            self.buf.clear()
            if len(line) - line.endswith(b"\r") > self.config.max_line:
                return self._line_too_long()
            self._message(line)

    def _line_started(self) -> None:
        """A partial line must be finished within line_timeout however its bytes trickle in."""
        self.partial_since = self.loop.time()
        if self.line_timer is None:
            self.line_timer = self.loop.call_later(self.config.line_timeout, self._check_line)

    def _check_line(self) -> None:
        self.line_timer = None
        if self.state != _OPEN or self.partial_since is None:
            return
        timeout = self.config.line_timeout
        age = self.loop.time() - self.partial_since
        if age < timeout:
            self.line_timer = self.loop.call_later(timeout - age, self._check_line)
            return
        self.server.log(f"Closing connection from: {self.peer} (line not finished within {timeout:g} s)")
        self.buf.clear()
        self._close_after_replies()

    def _line_too_long(self) -> None:
        self.server.log(f"Closing connection from: {self.peer} (line too long)")
        self.buf.clear()
        self._reply(protocol.LINE_TOO_LONG)
        self._close_after_replies()

    def _check_idle(self) -> None:
        self.idle_timer = None
        if self.state != _OPEN:
            return
        timeout = self.config.idle_timeout
        idle = self.loop.time() - self.last_active
        if idle < timeout or self.pending or self.backlog:
            self.idle_timer = self.loop.call_later(max(timeout - idle, 0.01), self._check_idle)
            return
        self.server.log(f"Closing idle connection from: {self.peer} (idle {timeout:g} s)")
        self._close_after_replies()

    def shut_down(self) -> None:
        """Server stopping (or peer done): answer complete and idle-gap messages received, then close."""
        if self.state == _WAITING:
            return self.refuse()
        self._update_reading()
        if self.state == _OPEN and not self.backlog:
            self._take_partial()
            self._close_after_replies()

    def give_up(self) -> None:
        """The server's stop grace is over: close if all was sent and answered, else abort."""
        if self.state == _LINGER and not self.transport.get_write_buffer_size():
            self.transport.close()
        else:
            self.transport.abort()

    def _close_after_replies(self) -> None:
        if self.state != _OPEN:
            return
        self.state = _CLOSING
        self._uncount()
        self.pending.append(CLOSE)
        self._drain()

    def _finish(self) -> None:
        """Everything answered: send FIN, keep reading (and dropping) until the peer's FIN.

        Closing a socket with unread received data makes Linux send RST instead of FIN, and a
        peer that gets RST may lose our last reply; so we shut down our side and linger.
        """
        if self.state == _CLOSED:
            return
        self._flush()
        transport = self.transport
        if self.peer_eof or transport.is_closing():
            self.state = _CLOSED
            transport.close()
            return
        self.state = _LINGER
        try:
            if transport.can_write_eof():
                transport.write_eof()       # our FIN, once the replies before it are sent
        except OSError:                     # the peer is already gone (ENOTCONN, EPIPE)
            self.state = _CLOSED
            transport.abort()
            return
        if self.read_paused:
            self.read_paused = False
            transport.resume_reading()
        self.linger_timer = self.loop.call_later(REFUSED_LINGER if self.refused else LINGER,
                                                 self._linger_over)

    def _linger_over(self) -> None:
        self.linger_timer = None
        if self.transport.get_write_buffer_size():
            self.transport.abort()          # our replies were never read: do not wait for ever
        else:
            self.transport.close()

    def _leave_queue(self) -> None:
        if self.queued:
            self.queued = False
            self.server.n_waiting -= 1

    def _uncount(self) -> None:
        """A connection that is closing, or whose peer has sent FIN, no longer holds a slot."""
        if self.counted:
            self.counted = False
            self.server.active -= 1
            self.server._slot_freed()
