"""Log lines to a file descriptor without ever blocking the event loop.

The server's stdout may be a pipe nobody reads (a capture harness that only looks at the output at
the end, a terminal paused with Ctrl-S). Writing from the event loop would then stop the server for
everyone. So the loop only appends lines to a list; once per loop turn the list is written at once
if that cannot block (a regular file; a pipe with room for it), and otherwise handed to a bounded
queue, where a writer thread does the (possibly blocking) writes. When the queue is full the turn's
lines are dropped and counted, and the writer reports the count as soon as it can write again:
`... 1234 log lines dropped (stdout not read)`.
"""
from __future__ import annotations

import asyncio
import os
import select
import stat
import threading
import time
from collections import deque

QUEUE_LIMIT = 4 << 20   # bytes of log text waiting for the writer before lines are dropped


class LogSink:
    """`sink(line)` from the loop thread; a daemon thread writes the lines to `fd`, in order.

    Lines are handed over once per loop turn (so under load one write carries many lines) and
    written as soon as the descriptor takes them, so a reader on a pipe sees each line at once.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, fd: int, encoding: str = "utf-8",
                 name: str = "stdout", limit: int = QUEUE_LIMIT) -> None:
        self.loop, self.fd, self.encoding, self.name, self.limit = loop, fd, encoding, name, limit
        self._turn: list[str] = []          # this loop turn's lines (loop thread only)
        self._turn_bytes = 0
        self._cond = threading.Condition()
        self._queue: deque[list[str]] = deque()   # guarded by _cond, like the three fields below
        self._queued_bytes = 0
        self._dropped = 0                   # dropped since the writer last reported
        self._busy = 0                      # lines the writer took and has not finished writing
        self._closing = False
        self.broken = False                 # the reader went away (EPIPE): lines are discarded
        self.dropped_total = 0
        mode = os.fstat(fd).st_mode
        self._kind = "file" if stat.S_ISREG(mode) else "pipe" if stat.S_ISFIFO(mode) else "other"
        self._poll = select.poll()
        self._poll.register(fd, select.POLLOUT)
        self._thread = threading.Thread(target=self._run, name=f"log-{name}", daemon=True)
        self._thread.start()

    def __call__(self, line: str) -> None:
        if not self._turn:
            self.loop.call_soon(self.hand_over)
        self._turn.append(line)
        self._turn_bytes += len(line) + 1

    def hand_over(self) -> None:
        """Give this turn's lines to the writer, or drop (and count) them if it is too far behind."""
        lines, size = self._turn, self._turn_bytes
        if not lines:
            return
        self._turn, self._turn_bytes = [], 0
        with self._cond:
            if not (self._queue or self._busy or self._dropped) and self._write_now(lines, size):
                return
            if self._queued_bytes and self._queued_bytes + size > self.limit:
                self._dropped += len(lines)
                self.dropped_total += len(lines)
                return
            self._queue.append(lines)
            self._queued_bytes += size
            self._cond.notify()

    def _write_now(self, lines: list[str], size: int) -> bool:
        """With the writer idle, write from the loop thread if that cannot block: to a regular
        file, or to a pipe with room for a write of at most PIPE_BUF bytes (which is atomic).
        Saves waking the writer thread (and passing the GIL to it) once per loop turn."""
        if self.broken:
            return True
        if self._kind == "pipe" and (size > select.PIPE_BUF or not self._poll.poll(0)):
            return False
        if self._kind not in ("file", "pipe"):
            return False
        data = ("\n".join(lines) + "\n").encode(self.encoding, "backslashreplace")
        if self._kind == "pipe" and len(data) > select.PIPE_BUF:
            return False
        if self._kind == "file":
            self._write(data)
            return True
        try:
            os.write(self.fd, data)   # at most PIPE_BUF bytes to a pipe: all or nothing
        except BlockingIOError:       # a non-blocking pipe that filled up meanwhile
            return False
        except OSError:               # EPIPE, EBADF: nobody reads any more; keep serving
            self.broken = True
        return True

    def close(self, timeout: float) -> int:
        """Write what is queued, waiting at most `timeout` seconds; returns the lines left unwritten
        (dropped, or still queued behind a reader that does not read)."""
        self.hand_over()
        deadline = time.monotonic() + timeout
        with self._cond:
            self._closing = True
            self._cond.notify()
            while (self._queue or self._busy or self._dropped) and not self.broken:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            return self._dropped + self._busy + sum(len(lines) for lines in self._queue)

    # --- writer thread -------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._dropped:
                    if self._closing:
                        return
                    self._cond.wait()
                batches = list(self._queue)
                self._queue.clear()
                dropped, self._dropped = self._dropped, 0
                self._busy = sum(map(len, batches)) + dropped
            text = "".join(line + "\n" for lines in batches for line in lines)
            taken = len(text)
            if dropped:   # the dropped lines came after everything queued before them
                text += f"... {dropped} log lines dropped ({self.name} not read)\n"
            self._write(text.encode(self.encoding, "backslashreplace"))
            with self._cond:
                self._busy = 0
                self._queued_bytes -= taken
                self._cond.notify_all()

    def _write(self, data: bytes) -> None:
        if self.broken:
            return
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(self.fd, view):]
            except InterruptedError:
                continue
            except BlockingIOError:   # someone made the descriptor non-blocking: wait until it drains
                select.select([], [self.fd], [], 1.0)
                continue
            except OSError:      # EPIPE (nobody reads any more), EBADF: keep serving, log nothing
                self.broken = True
                return
