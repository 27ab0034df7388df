"""The command line of live input: `python -m analysis - [--live]` (a capture stream on stdin) and
`python -m analysis FILE --follow [--live] [--idle-timeout S]` (a file still being written).

--live prints one line per frame, flushed as soon as the frame has been read (a pipe's reader,
e.g. `make lab`, sees each at once), then the summary. Ctrl-C (or SIGTERM) stops reading: what
has arrived is still read (a pipe until tcpdump, stopped by the same Ctrl-C, closes it), then the
summary is printed and the exit status is 0, as tcpdump's own Ctrl-C. A second Ctrl-C stops
reading at once (the summary of what was read, status 130), still without a traceback.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading

from analysis import i18n
from analysis.api import analyze
from analysis.errors import UsageError
from analysis.i18n import N_
from analysis.read.sources import open_source


def main_live(args: argparse.Namespace) -> int:
    """Called inside analysis/cli.py's main, which turns AnalysisError / OSError into one line;
    every line it prints is in args.lang."""
    stop = threading.Event()
    t = i18n.translation(args.lang)
    names = _check(args)
    try:
        with _stopping_on_signals(stop):
            source = open_source(args.file, follow=args.follow, idle_timeout=args.idle_timeout,
                                 stop=stop)
            if args.live:
                return _narrate(args, source, names, t)
            from analysis.cli import report
            result = analyze(source.name, verify_checksums=not args.ignore_checksums,
                             strict_checksums=args.strict_checksums, source=source)
            return report(args, result)
    except KeyboardInterrupt:        # the second Ctrl-C: stop now
        print(t.gettext("interrupted"), file=sys.stderr)
        return 130


def _check(args: argparse.Namespace) -> dict[str, str]:
    if args.follow and args.file == "-":
        raise UsageError(N_("--follow is for a file still being written; - (stdin) is read as a "
                            "stream anyway"), path=args.file)
    if args.idle_timeout is not None and (not args.follow or args.idle_timeout <= 0):
        raise UsageError(N_("--idle-timeout S needs --follow and S > 0"), path=args.file)
    if args.live and (args.json or args.csv or args.summary or args.out or args.phase
                      or args.conn is not None):
        raise UsageError(N_("--live prints the narrated frames and the summary; drop "
                         "--json/--csv/--summary/--out/--phase/--conn, or drop --live for the "
                         "report of the whole stream"), path=args.file)
    if args.summary:
        raise UsageError(N_("--summary reads a whole file; give the file, not - or --follow"),
                         path=args.file)
    names = {}
    for item in args.name:
        address, sep, name = item.partition("=")
        if not sep or not address or not name:
            raise UsageError(N_("--name {item!r}: give IP=NAME, e.g. 172.28.0.2=server"), fields={"item": item})
        names[address] = name
    if names and not args.live:
        raise UsageError(N_("--name names hosts in --live lines; add --live"), path=args.file)
    return names


def _narrate(args: argparse.Namespace, source, names: dict[str, str], t) -> int:
    from analysis.live import LiveSession
    from analysis.report.live_text import frame_line, header, summary_text

    session = LiveSession(source, names=names, verify_checksums=not args.ignore_checksums,
                          strict_checksums=args.strict_checksums)
    out = sys.stdout
    status = 0
    try:
        print(header(t), file=out, flush=True)
        try:
            for record in session.frames():
                print(frame_line(record, t), file=out, flush=True)
        except KeyboardInterrupt:    # the second Ctrl-C: no more reading, still the summary
            print(t.gettext("interrupted: the summary of the frames read so far"), file=sys.stderr)
            status = 130
        result = session.result()
        print("", file=out)
        out.write(summary_text(result, args.lang))
        out.flush()
    except BrokenPipeError:
        # the reader of our output went away: nothing more to say, and no error at exit when
        # Python flushes stdout once more
        os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())
        return status
    for warning in result.warnings:
        print(t.gettext("warning: {message}").format(message=warning.text(t)), file=sys.stderr)
    return status


@contextlib.contextmanager
def _stopping_on_signals(stop: threading.Event):
    """The first SIGINT/SIGTERM sets `stop` (the source ends cleanly); a second one raises
    KeyboardInterrupt."""
    def handler(signum, _frame):
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
