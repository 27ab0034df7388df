"""Where the reader's bytes come from: a whole file, a pipe (stdin), or a file still being written.

    source = open_source("trace.pcap")                       # FileSource
    source = open_source("-")                                # PipeSource on stdin (tcpdump -w -)
    source = open_source("live.pcap", follow=True, idle_timeout=30, stop=event)   # FollowSource
    more = source.fill(need)     # >= need bytes, fewer only when the stream has ended

reader.py cuts records out of a buffer and asks for exactly the bytes it is missing, so a record
is handed on as soon as its last byte has arrived: a pipe is read with os.read, which returns
what is there instead of waiting for a whole chunk (a buffered read(4 MiB) on a pipe would wait
for 4 MiB or the end of the stream, and tcpdump -U writes one packet at a time). Nothing here
seeks, so a pipe works as well as a file.

`stop` (a threading.Event, set by the CLI on Ctrl-C) ends a live stream cleanly: what has
already arrived is still read (a pipe until its writer closes it or is quiet for
`STOP_GRACE` s, so the frames tcpdump flushes on its own Ctrl-C are kept), then the stream ends
as at end of file.
"""
from __future__ import annotations

import os
import select
import stat
import sys
import threading
import time

CHUNK = 4 << 20                  # bytes per read of a whole file
PIPE_READ = 1 << 16              # a pipe holds 64 KiB: one read takes what is there
POLL = 0.1                       # s between looks at a growing file, and at `stop` on a pipe
STOP_GRACE = 1.0                 # s a pipe may stay quiet after `stop` before it counts as ended
STDIN_NAME = "<stdin>"           # the name errors and warnings give the stream on stdin


class FileSource:
    """A regular file read in large chunks (what `python -m analysis FILE` has always done)."""

    live = False

    def __init__(self, path: str) -> None:
        self.name = path
        self._handle = open(path, "rb")
        self.bytes_read = 0          # how far into the file: a progress bar's bytes done

    def fill(self, need: int) -> bytes:
        data = self._handle.read(max(CHUNK, need))
        self.bytes_read += len(data)
        return data

    def close(self) -> None:
        self._handle.close()


class PipeSource:
    """A stream that cannot seek (stdin, a pipe, a FIFO): read as the bytes arrive."""

    live = True

    def __init__(self, fd: int, name: str = STDIN_NAME,
                 stop: threading.Event | None = None, owned=None) -> None:
        self.name = name
        self._fd = fd
        self._stop = stop
        self._ended = False
        self._owned = owned      # the file object behind fd when we opened it (a FIFO by name)

    def fill(self, need: int) -> bytes:
        parts: list[bytes] = []
        have = 0
        while have < need and not self._ended:
            part = self._read_some()
            if not part:
                self._ended = True
                break
            parts.append(part)
            have += len(part)
        return b"".join(parts)

    def _read_some(self) -> bytes:
        """The bytes the pipe holds now (waiting for some); b"" at its end."""
        grace_until = None
        while True:
            stopping = self._stop is not None and self._stop.is_set()
            if stopping and grace_until is None:
                grace_until = time.monotonic() + STOP_GRACE
            wait = POLL if grace_until is None else max(0.0, grace_until - time.monotonic())
            ready, _, _ = select.select([self._fd], [], [], wait)
            if ready:
                return os.read(self._fd, PIPE_READ)
            if grace_until is not None and time.monotonic() >= grace_until:
                return b""

    def close(self) -> None:
        if self._owned is not None:  # stdin is the caller's to close
            self._owned.close()


class FollowSource:
    """A file that is still being written (tail -f): at its current end, wait for more.

    Ends when `stop` is set, or when nothing has been appended for `idle_timeout` seconds
    (None: wait until stopped)."""

    live = True

    def __init__(self, path: str, *, idle_timeout: float | None = None,
                 stop: threading.Event | None = None) -> None:
        self.name = path
        self._handle = open(path, "rb", buffering=0)
        self._idle_timeout = idle_timeout
        self._stop = stop

    def fill(self, need: int) -> bytes:
        parts: list[bytes] = []
        have = 0
        last_growth = time.monotonic()
        while have < need:
            part = self._handle.read(CHUNK)
            if part:
                parts.append(part)
                have += len(part)
                last_growth = time.monotonic()
                continue
            if self._stop is not None and self._stop.is_set():
                break
            if self._idle_timeout is not None and time.monotonic() - last_growth >= self._idle_timeout:
                break
            if self._stop is not None:
                self._stop.wait(POLL)
            else:
                time.sleep(POLL)
        return b"".join(parts)

    def close(self) -> None:
        self._handle.close()


def open_source(path, *, follow: bool = False, idle_timeout: float | None = None,
                stop: threading.Event | None = None):
    """The source for `path`: "-" is stdin; `follow` waits at the end of a growing file.

    Raises OSError as open() does (the reader turns it into a CaptureFormatError)."""
    if path == "-":
        return PipeSource(sys.stdin.fileno(), STDIN_NAME, stop)
    path = os.fspath(path)
    if follow:
        return FollowSource(path, idle_timeout=idle_timeout, stop=stop)
    if not stat.S_ISREG(os.stat(path).st_mode):
        # a FIFO or /dev/stdin named as a file: a chunked read would wait for 4 MiB
        handle = open(path, "rb", buffering=0)
        return PipeSource(handle.fileno(), path, stop, owned=handle)
    return FileSource(path)
