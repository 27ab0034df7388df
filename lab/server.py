"""`python -m lab.server`: the course's echo server, grown into a many-client echo/vote server.

Prints what the course's server prints (`Server listening on 0.0.0.0:2222`,
`Connection from: ('172.28.0.3', 45678)`, `Received from client: Hello Server`), each line written
as soon as stdout takes it, so a reader on a pipe sees each line as it happens; but from a writer
thread, so a stdout nobody reads never stops the server (lines are then dropped and counted).
"""
from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from lab import protocol
from lab.errors import LabError
from lab.logsink import LogSink
from lab.service import LabServer, ServerConfig, raise_fd_limit
from lab.store import SYNC_MODES, open_store

LOG_EXIT_WAIT = 0.2   # seconds, at exit, for stdout to take the last lines (a stop stays under 1 s)


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
    p.add_argument("--line-timeout", type=float, default=10.0,
                   help="close a connection whose unfinished line is older than this many seconds, "
                        "however slowly its bytes trickle in (default 10)")
    return p


async def _serve(config: ServerConfig, store_spec: str, sync: str, options: tuple[str, ...]) -> int:
    loop = asyncio.get_running_loop()
    encoding = sys.stdout.encoding or "utf-8"
    out = LogSink(loop, sys.stdout.fileno(), encoding, "stdout")
    err = LogSink(loop, sys.stderr.fileno(), sys.stderr.encoding or "utf-8", "stderr")
    try:
        store = open_store(store_spec, options, sync)
        server = LabServer(config, store, out, err)
        try:
            await server.start()
        except OSError as exc:
            await store.close()
            raise LabError(f"cannot listen on {config.host}:{config.port}: {exc.strerror or exc}; "
                           "is another server using that port? Try another --port") from exc
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        out(f"Server listening on {config.host}:{server.port}")
        await stop.wait()
        await server.stop()
    finally:
        unwritten = out.close(LOG_EXIT_WAIT)
        if unwritten or out.dropped_total:
            err(f"lab.server: {out.dropped_total} log lines dropped while stdout was not read"
                + (f", {unwritten} not written at exit" if unwritten else ""))
        err.close(LOG_EXIT_WAIT)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        options = protocol.parse_options(args.options)
    except ValueError as exc:
        print(f"lab.server: error: bad --options {args.options!r}: {exc}", file=sys.stderr)
        return 2
    if args.max_connections < 1 or args.idle_timeout <= 0 or args.line_timeout <= 0 \
            or not 0 <= args.port <= 65535:
        print("lab.server: error: --max-connections, --idle-timeout and --line-timeout must be "
              "positive and --port within 0-65535", file=sys.stderr)
        return 2
    # Each connection is a file descriptor: as many as we are allowed (the server keeps headroom).
    raise_fd_limit()
    config = ServerConfig(host=args.host, port=args.port, idle_timeout=args.idle_timeout,
                          max_connections=args.max_connections, line_timeout=args.line_timeout)
    try:
        return asyncio.run(_serve(config, args.store, args.sync, options))
    except LabError as exc:
        print(f"lab.server: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
