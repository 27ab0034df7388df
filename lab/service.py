"""The asyncio echo/vote server: accepting, the connection limit, graceful stop.

Library code: it reports what the course's server prints through a ``log`` callback, and trouble
the operator should know of (out of file descriptors) through ``warn``; it never prints itself
(lab.server is the CLI that prints). One client connection is lab.connection.Connection.
"""
from __future__ import annotations

import asyncio
import resource
import socket
from collections import deque
from dataclasses import dataclass
from typing import Callable

from lab import protocol
from lab.connection import _WAITING, Connection
from lab.store import MemoryStore, SqliteStore

# SIGINT/SIGTERM: seconds connections get to answer what they have already received; the rest are
# aborted. Short, so that a stop under any load takes well under a second.
SHUTDOWN_GRACE = 0.5
# A client arriving when every slot is taken waits this long for one before it is refused: a slot
# is often held by a connection whose FIN is already in our receive queue, just not read yet.
ADMIT_WAIT = 0.25
FD_HEADROOM = 64       # descriptors kept free of connections: listener, database, stdio, refusals
ACCEPT_BATCH = 64          # connections accepted per wake-up of the listening socket
ACCEPT_RETRY = 0.25        # seconds without accepting after accept() failed (EMFILE)
ACCEPT_WARN_EVERY = 10.0   # seconds between two lines about accept() failing


@dataclass(frozen=True)
class ServerConfig:
    host: str = "0.0.0.0"
    port: int = 2222
    idle_timeout: float = 300.0
    max_connections: int = 1024
    idle_gap: float = protocol.IDLE_GAP
    max_line: int = protocol.MAX_LINE
    line_timeout: float = 10.0     # a partial line must be finished within this (slowloris)
    batch_lines: int = 256         # lines one connection answers per loop callback (fairness) ...
    batch_bytes: int = 64 * 1024   # ... or bytes of input, whichever comes first


class LabServer:
    """Serves the protocol in lab.protocol to many clients at once."""

    def __init__(self, config: ServerConfig, store: MemoryStore | SqliteStore,
                 log: Callable[[str], None] = lambda line: None,
                 warn: Callable[[str], None] = lambda line: None) -> None:
        self.config = config
        self.store = store
        self.log = log
        self.warn = warn
        self.options = store.options
        self.port: int | None = None
        self.max_connections = config.max_connections
        self._conns: set[Connection] = set()
        self.active = 0                      # connections counted against max_connections
        self._sock: socket.socket | None = None     # the listening socket
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False
        self._all_closed: asyncio.Event | None = None
        self._waiting: deque[Connection] = deque()   # in arrival order; entries may be stale
        self.n_waiting = 0                   # connections in _waiting still waiting
        self._admitting = False
        self.accept_errors = 0
        self._next_accept_warning = 0.0

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        fds = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        if fds != resource.RLIM_INFINITY and fds - FD_HEADROOM < self.max_connections:
            self.max_connections = max(1, fds - FD_HEADROOM)
            self.warn(f"lab.server: only {fds} file descriptors allowed (ulimit -n): serving at most "
                      f"{self.max_connections} connections instead of {self.config.max_connections}")
        self._loop = loop
        family = (await loop.getaddrinfo(self.config.host, self.config.port, type=socket.SOCK_STREAM,
                                         flags=socket.AI_PASSIVE))[0][0]
        self._sock = socket.create_server((self.config.host, self.config.port), family=family,
                                          backlog=_backlog())
        self._sock.setblocking(False)
        self.port = self._sock.getsockname()[1]
        self.store.start(loop)
        self._all_closed = asyncio.Event()
        loop.add_reader(self._sock, self._accept)

    async def stop(self) -> None:
        """Stop accepting and reading, answer what was received (for at most SHUTDOWN_GRACE
        seconds), close every connection with FIN (abort those still busy), close the store."""
        self._stopping = True
        if self._sock is not None:
            self._loop.remove_reader(self._sock)
            self._sock.close()
        for conn in list(self._conns):
            conn.shut_down()
        if self._conns:
            self._all_closed.clear()
            try:
                await asyncio.wait_for(self._all_closed.wait(), SHUTDOWN_GRACE)
            except asyncio.TimeoutError:
                for conn in list(self._conns):
                    conn.give_up()
        await self.store.close()
        if self.accept_errors:
            self.warn(f"lab.server: accept() failed {self.accept_errors} times for lack of file "
                      "descriptors or memory")

    # --- the connection limit ----------------------------------------------------------------

    def _arrived(self, conn: Connection) -> None:
        """Admit a new client, or let it wait up to ADMIT_WAIT for a slot, or refuse it."""
        self._conns.add(conn)
        if self._stopping:
            return conn.refuse()
        waiting = self._waiting
        while waiting and waiting[0].state != _WAITING:
            waiting.popleft()                # admitted after its FIN, refused, or gone
        if self.active < self.max_connections and not waiting:
            return conn.admit(counted=True)
        if len(waiting) > 2 * self.n_waiting + 64:   # mostly stale: those who sent FIN meanwhile
            self._waiting = waiting = deque(c for c in waiting if c.state == _WAITING)
        waiting.append(conn)
        conn.queued = True
        self.n_waiting += 1
        conn.wait_timer = asyncio.get_running_loop().call_later(ADMIT_WAIT, self._wait_over, conn)

    def _slot_freed(self) -> None:
        if self._admitting or self._stopping:
            return                           # the loop below is running further up the stack
        self._admitting = True
        try:
            while self._waiting and self.active < self.max_connections:
                conn = self._waiting.popleft()
                if conn.state == _WAITING:
                    conn.wait_timer.cancel()
                    conn.admit(counted=True)
        finally:
            self._admitting = False

    def _admit_finished(self, conn: Connection) -> None:
        """A waiting client sent FIN: it is served without a slot (it cannot send more)."""
        conn.wait_timer.cancel()
        conn.admit(counted=False)            # its stale entry in _waiting is skipped later

    def _wait_over(self, conn: Connection) -> None:
        if conn.state == _WAITING:
            conn.refuse()

    def _forget(self, conn: Connection) -> None:
        self._conns.discard(conn)
        if not self._conns and self._all_closed is not None:
            self._all_closed.set()

    # --- accepting -----------------------------------------------------------------------------

    def _accept(self) -> None:
        """Our own accept loop rather than loop.create_server's: on EMFILE that one goes on calling
        accept() (and logging a traceback) up to `backlog` times per wake-up, each scheduling
        another retry (CPython 3.11), so running out of descriptors snowballs."""
        loop, sock = self._loop, self._sock
        for _ in range(ACCEPT_BATCH):
            try:
                conn, _ = sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except ConnectionAbortedError:
                continue
            except OSError as exc:
                return self._accept_failed(exc)
            conn.setblocking(False)
            loop.create_task(self._connect(conn))

    async def _connect(self, conn: socket.socket) -> None:
        try:
            await self._loop.connect_accepted_socket(lambda: Connection(self), conn)
        except OSError:          # the peer went away before the transport was made
            conn.close()

    def _accept_failed(self, exc: OSError) -> None:
        """Out of descriptors (or memory): stop accepting for a moment; one line now and then."""
        self.accept_errors += 1
        now = self._loop.time()
        if now >= self._next_accept_warning:
            self._next_accept_warning = now + ACCEPT_WARN_EVERY
            self.warn(f"lab.server: cannot accept new connections: {exc.strerror or exc} "
                      f"({self.accept_errors} times so far, {self.active} connections open); "
                      f"retrying every {ACCEPT_RETRY:g} s")
        self._loop.remove_reader(self._sock)
        self._loop.call_later(ACCEPT_RETRY, self._resume_accepting)

    def _resume_accepting(self) -> None:
        if not self._stopping:
            self._loop.add_reader(self._sock, self._accept)


def _backlog() -> int:
    try:
        with open("/proc/sys/net/core/somaxconn") as f:
            return min(int(f.read()), 4096)
    except (OSError, ValueError):
        return socket.SOMAXCONN


def raise_fd_limit() -> int:
    """Raise this process's open-file soft limit to the hard limit; returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):     # e.g. above fs.nr_open: keep what we have
            return soft
        return target
    return soft
