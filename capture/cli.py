"""`python -m capture`: run a scenario and print its transcript, or clean up leftovers.

    python -m capture [--scenario NAME] [--out FILE] [--backend netns|compose]
    python -m capture clean          # remove lab- namespaces, links and processes of a killed run
    python -m capture scenarios      # list the scenarios
    python -m capture lab [--out FILE] [--backend ...]   # your own session, every frame narrated live
    python -m capture lab-client     # a second client joins the running lab (another terminal)
    python -m capture lab-shell --host server|client     # a shell in a host of the running lab

Ctrl-C and SIGTERM stop the run; everything it created is removed before we exit (a second
signal during that cleanup is ignored, so the cleanup cannot be cut short).
"""
from __future__ import annotations

import argparse
import signal
import sys
from types import FrameType
from typing import Callable, Iterator, TextIO
from contextlib import contextmanager

from capture.api import BACKENDS, clean, run_scenario
from capture.errors import CaptureError, Interrupted
from capture.interrupts import request_stop
from capture.result import CaptureResult
from capture.scenarios import SCENARIOS

EXIT_FAILED = 1
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m capture",
        description="Run the request-response lab on a virtual network and capture it with tcpdump.",
        epilog="scenarios: " + "; ".join(f"{s.name}: {s.summary}" for s in SCENARIOS.values()),
    )
    p.add_argument("command", nargs="?", default="run",
                   choices=("run", "clean", "scenarios", "lab", "lab-client", "lab-shell"),
                   help="run (default) a scenario, clean leftovers of a killed run, list scenarios; "
                        "lab: type your own messages, every frame narrated as it is captured; "
                        "lab-client / lab-shell: join the running lab from another terminal")
    p.add_argument("--host", default="server", choices=("server", "client"),
                   help="lab-shell: the lab host to open a shell in (default server)")
    p.add_argument("--scenario", default="default", metavar="NAME",
                   help=f"one of {', '.join(SCENARIOS)} (default: default)")
    p.add_argument("--out", default="reqresp.pcap", metavar="FILE", help="the pcap to write (default reqresp.pcap)")
    p.add_argument("--backend", default="netns", choices=BACKENDS,
                   help="netns (default; root, no Docker) or compose (Docker Compose)")
    p.add_argument("--hold", type=float, default=0.0, metavar="SECONDS",
                   help="netns: keep the lab up this long before the clients start, to look around "
                        "(ip netns exec lab-client ip addr)")
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


def print_result(result: CaptureResult, out_arg: str, stream: TextIO) -> None:
    """Each program's lines as one block (like the course's two terminals), then the summary.

    Blocks rather than interleaving: lines are read from separate pipes, so their timestamps cannot
    order a server line and a client line that happened within the same millisecond.
    """
    for role in result.roles:
        print(f"--- {role} ---", file=stream)
        for text in result.lines(role):
            print(f"  {text}", file=stream)
    print(result.summary(), file=stream)
    print(f"next: make analyze {out_arg}", file=stream)


def _run(args: argparse.Namespace, stdout: TextIO) -> int:
    if args.command == "scenarios":
        for scenario in SCENARIOS.values():
            print(f"{scenario.name:8} {scenario.summary}", file=stdout)
        return 0
    if args.command in ("lab", "lab-client", "lab-shell"):
        from capture.cli_lab import run_lab_command

        return run_lab_command(args, stdout)
    if args.command == "clean":
        report = clean()
        if report.nothing_found:
            print("nothing to clean: no lab- namespaces, links or processes", file=stdout)
        for what, items in (("stopped", report.killed), ("removed namespaces", report.namespaces),
                            ("removed links", report.links), ("removed compose objects", report.compose)):
            if items:
                print(f"{what}: {', '.join(items)}", file=stdout)
        for problem in report.problems:
            print(f"error: could not remove {problem}", file=sys.stderr)
        return EXIT_FAILED if report.problems else 0
    result = run_scenario(args.scenario, args.out, backend=args.backend, hold=args.hold)
    print_result(result, args.out, stdout)
    if result.dropped:
        print(f"error: the kernel dropped {result.dropped} packets; the capture is incomplete, run it again",
              file=sys.stderr)
        return EXIT_FAILED
    return 0


def main(argv: list[str] | None = None, stdout: TextIO | None = None,
         run: Callable[[argparse.Namespace, TextIO], int] = _run) -> int:
    args = build_parser().parse_args(argv)
    out = stdout if stdout is not None else sys.stdout
    try:
        with _signals_raise_interrupted():
            return run(args, out)
    except Interrupted as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 130 if exc.signal_name == "SIGINT" else 143
    except CaptureError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
