"""`python -m lab.server`: the course's echo server, grown into a many-client echo/vote server.

Prints what the course's server prints (`Server listening on 0.0.0.0:2222`,
`Connection from: ('172.28.0.3', 45678)`, `Received from client: Hello Server`), one line at a
time, flushed, so a reader on a pipe sees each line as it happens.
"""
from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from typing import TextIO

from lab import protocol
from lab.errors import LabError
from lab.service import LabServer, ServerConfig, raise_fd_limit
from lab.store import SYNC_MODES, open_store


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m lab.server", description=__doc__.splitlines()[0])
    p.add_argument("--host", default="0.0.0.0", help="address to listen on (default 0.0.0.0)")
    p.add_argument("--port", type=int, default=2222, help="TCP port (default 2222; 0 picks a free one)")
    p.add_argument("--store", default="votes.db",
                   help="SQLite file for durable votes (default votes.db), or 'memory'")
    p.add_argument("--sync", choices=SYNC_MODES, default="full",
                   help="full (default): fsync every commit, safe against kill -9 and power loss; "
                        "normal: no fsync per commit, safe against kill -9 only")
    p.add_argument("--options", default=",".join(protocol.DEFAULT_OPTIONS),
                   help="the vote options, comma-separated (default A,B,C)")
    p.add_argument("--idle-timeout", type=float, default=300.0,
                   help="close a connection silent this many seconds (default 300)")
    p.add_argument("--max-connections", type=int, default=1024,
                   help="open connections served at once; more get 'ERROR server busy' (default 1024)")
    return p


class _LineSink:
    """Writes log lines to a stream, flushed once per event-loop turn.

    Each line is visible right after the turn that produced it (as with flush-per-line), but under
    load one write+flush carries many lines instead of one syscall per line.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, stream: TextIO) -> None:
        self.loop, self.stream = loop, stream
        self.lines: list[str] = []
        self.broken = False

    def __call__(self, line: str) -> None:
        if self.broken:
            return
        if not self.lines:
            self.loop.call_soon(self.flush)
        self.lines.append(line)

    def flush(self) -> None:
        if not self.lines:
            return
        text = "\n".join(self.lines) + "\n"
        self.lines.clear()
        try:
            self.stream.write(text)
            self.stream.flush()
        except (BrokenPipeError, ValueError):
            self.broken = True   # nobody reads our output any more; keep serving


async def _serve(config: ServerConfig, store_spec: str, sync: str, options: tuple[str, ...]) -> int:
    loop = asyncio.get_running_loop()
    sink = _LineSink(loop, sys.stdout)
    store = open_store(store_spec, options, sync)
    server = LabServer(config, store, sink)
    try:
        await server.start()
    except OSError as exc:
        await store.close()
        raise LabError(f"cannot listen on {config.host}:{config.port}: {exc.strerror or exc}; "
                       "is another server using that port? Try another --port") from exc
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    sink(f"Server listening on {config.host}:{server.port}")
    sink.flush()
    await stop.wait()
    await server.stop()
    sink.flush()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        options = protocol.parse_options(args.options)
    except ValueError as exc:
        print(f"lab.server: error: bad --options {args.options!r}: {exc}", file=sys.stderr)
        return 2
    if args.max_connections < 1 or args.idle_timeout <= 0 or not 0 <= args.port <= 65535:
        print("lab.server: error: --max-connections and --idle-timeout must be positive and "
              "--port within 0-65535", file=sys.stderr)
        return 2
    sys.stdout.reconfigure(errors="backslashreplace")
    # Each connection is a file descriptor; leave room for the listener, the database and stdio.
    raise_fd_limit(args.max_connections * 2 + 64)
    config = ServerConfig(host=args.host, port=args.port, idle_timeout=args.idle_timeout,
                          max_connections=args.max_connections)
    try:
        return asyncio.run(_serve(config, args.store, args.sync, options))
    except LabError as exc:
        print(f"lab.server: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
