"""`python -m capture`: run a scenario and print its transcript, or clean up leftovers.

    python -m capture [--scenario NAME] [--out FILE] [--backend netns|compose]
    python -m capture clean          # remove lab- namespaces, links and processes of a killed run
    python -m capture scenarios      # list the scenarios
    python -m capture lab [--out FILE] [--backend ...]   # your own session, every frame narrated live
    python -m capture lab-client     # a second client joins the running lab (another terminal)
    python -m capture lab-shell --host server|client     # a shell in a host of the running lab
    ... --lang id|en                 # every command: its messages in Bahasa Indonesia or English

The language is --lang's, else the locale's (LANGUAGE, LC_ALL, LC_MESSAGES, LANG, as gettext
reads them), else English (capture.i18n); the lab server's and client's own lines stay as the
course sheets show them.

Ctrl-C and SIGTERM stop the run; everything it created is removed before we exit (a second
signal during that cleanup is ignored, so the cleanup cannot be cut short).
"""
from __future__ import annotations

import argparse
import signal
import sys
from contextlib import contextmanager
from gettext import gettext as _   # the global domain: i18n.argparse_language binds our catalog
from types import FrameType
from typing import Callable, Iterator, TextIO

from capture import i18n
from capture.api import BACKENDS, clean, run_scenario
from capture.errors import CaptureError, Interrupted
from capture.interrupts import request_stop
from capture.result import CaptureResult
from capture.scenarios import SCENARIOS
from capture.text import Translation, say

EXIT_FAILED = 1
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    """The parser; its texts are in the language of the i18n.argparse_language block it is built in."""
    p = argparse.ArgumentParser(
        prog="python -m capture",
        description=_("Run the request-response lab on a virtual network and capture it with tcpdump."),
        epilog=_("scenarios: {list}").format(list="; ".join(f"{s.name}: {_(s.summary)}" for s in SCENARIOS.values())),
    )
    p.add_argument("command", nargs="?", default="run",
                   choices=("run", "clean", "scenarios", "lab", "lab-client", "lab-shell"),
                   help=_("run (default) a scenario, clean leftovers of a killed run, list scenarios; "
                          "lab: type your own messages, every frame narrated as it is captured; "
                          "lab-client / lab-shell: join the running lab from another terminal"))
    p.add_argument("--host", default="server", choices=("server", "client"),
                   help=_("lab-shell: the lab host to open a shell in (default server)"))
    p.add_argument("--scenario", default="default", metavar=_("NAME"),
                   help=_("one of {names} (default: default)").format(names=", ".join(SCENARIOS)))
    p.add_argument("--out", default="reqresp.pcap", metavar="FILE",
                   help=_("the pcap to write (default reqresp.pcap)"))
    p.add_argument("--backend", default="netns", choices=BACKENDS,
                   help=_("netns (default; root, no Docker) or compose (Docker Compose)"))
    p.add_argument("--hold", type=float, default=0.0, metavar=_("SECONDS"),
                   help=_("netns: keep the lab up this long before the clients start, to look around "
                          "(ip netns exec lab-client ip addr)"))
    p.add_argument("--lang", choices=list(i18n.LANGUAGES),
                   help=_("language of the messages (default: the locale's, from LANGUAGE, LC_ALL, "
                          "LC_MESSAGES, LANG; else en)"))
    return p


@contextmanager
def _signals_raise_interrupted() -> Iterator[None]:
    """SIGINT/SIGTERM raise Interrupted once; later signals are ignored so cleanup runs to the end."""
    fired: list[str] = []

    def handler(signum: int, _frame: FrameType | None) -> None:
        if fired:
            return
        fired.append(signal.Signals(signum).name)
        request_stop(fired[0])

    old = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, previous in old.items():
            signal.signal(sig, previous)


def print_result(result: CaptureResult, out_arg: str, stream: TextIO, t: Translation | None = None) -> None:
    """Each program's lines as one block (like the course's two terminals), then the summary.

    Blocks rather than interleaving: lines are read from separate pipes, so their timestamps cannot
    order a server line and a client line that happened within the same millisecond.
    """
    for role in result.roles:
        print(f"--- {role} ---", file=stream)
        for text in result.lines(role):
            print(f"  {text}", file=stream)
    t = t or i18n.translation(i18n.DEFAULT)
    print(result.summary(t), file=stream)
    print(t.gettext("next: make analyze {path}").format(path=out_arg), file=stream)


def error_line(message: str, t: Translation) -> str:
    """`error: ...` in the language of t (what every failure prints, on stderr, in one line)."""
    return t.gettext("error: {message}").format(message=message)


def dropped_line(dropped: int, t: Translation, again: bool = True) -> str:
    """The error line of a capture the kernel dropped packets from."""
    if again:
        text = t.ngettext("the kernel dropped {count} packet; the capture is incomplete, run it again",
                          "the kernel dropped {count} packets; the capture is incomplete, run it again", dropped)
    else:
        text = t.ngettext("the kernel dropped {count} packet; the capture is incomplete",
                          "the kernel dropped {count} packets; the capture is incomplete", dropped)
    return error_line(text.format(count=dropped), t)


def print_clean_report(report, stdout: TextIO, t: Translation) -> int:  # type: ignore[no-untyped-def]
    """What `clean` found and removed, one line per kind; a problem is an error line on stderr."""
    if report.nothing_found:
        print(t.gettext("nothing to clean: no lab- namespaces, links or processes"), file=stdout)
    for what, items in ((t.gettext("stopped: {items}"), report.killed),
                        (t.gettext("removed namespaces: {items}"), report.namespaces),
                        (t.gettext("removed links: {items}"), report.links),
                        (t.gettext("removed compose objects: {items}"), report.compose)):
        if items:
            print(what.format(items=", ".join(say(item, t) for item in items)), file=stdout)
    for problem in report.problems:
        print(error_line(t.gettext("could not remove {object}").format(object=say(problem, t)), t),
              file=sys.stderr)
    return EXIT_FAILED if report.problems else 0


def _run(args: argparse.Namespace, stdout: TextIO) -> int:
    t = i18n.translation(args.lang)
    if args.command == "scenarios":
        for scenario in SCENARIOS.values():
            print(f"{scenario.name:8} {t.gettext(scenario.summary)}", file=stdout)
        return 0
    if args.command in ("lab", "lab-client", "lab-shell"):
        from capture.cli_lab import run_lab_command

        return run_lab_command(args, stdout)
    if args.command == "clean":
        return print_clean_report(clean(), stdout, t)
    result = run_scenario(args.scenario, args.out, backend=args.backend, hold=args.hold)
    print_result(result, args.out, stdout, t)
    if result.dropped:
        print(dropped_line(result.dropped, t), file=sys.stderr)
        return EXIT_FAILED
    return 0


def main(argv: list[str] | None = None, stdout: TextIO | None = None,
         run: Callable[[argparse.Namespace, TextIO], int] = _run) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        lang = i18n.lang_from_argv(argv)
        with i18n.argparse_language(lang):
            args = build_parser().parse_args(argv)
        args.lang = i18n.resolve_lang(args.lang)
        t = i18n.translation(args.lang)
    except CaptureError as exc:   # the chosen catalog is not compiled: say so in English
        print(error_line(exc.one_line(), i18n.translation(i18n.DEFAULT)), file=sys.stderr)
        return EXIT_USAGE
    out = stdout if stdout is not None else sys.stdout
    try:
        with _signals_raise_interrupted():
            return run(args, out)
    except Interrupted as exc:
        print(error_line(exc.one_line(t), t), file=sys.stderr)
        return 130 if exc.signal_name == "SIGINT" else 143
    except CaptureError as exc:
        print(error_line(exc.one_line(t), t), file=sys.stderr)
        return EXIT_FAILED
