"""The lab subcommands of `python -m capture`: `lab` (the student's session), `lab-client` and
`lab-shell` (join it from another terminal)."""
from __future__ import annotations

import argparse
import os
import sys
import threading
from typing import TextIO

from capture.processes import OutputLine

PREFIX = {"server": "server | ", "frame": "frame  | "}


class LinePrinter:
    """Print the server's and the narrator's lines as they come, each marked by who said it.

    The narrator ends with a blank line and its summary: those are shown as it prints them."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.lock = threading.Lock()
        self.summary = False

    def __call__(self, line: OutputLine) -> None:
        with self.lock:
            if line.role == "frame" and not line.text.strip():
                self.summary = True
            plain = line.role == "frame" and self.summary
            text = line.text if plain else PREFIX.get(line.role, f"{line.role} | ") + line.text
            # one write per line: print() writes the text and its newline apart, and the client,
            # another process on the same terminal, could write in between
            self.stream.write(text + "\n")
            self.stream.flush()


def run_lab_command(args: argparse.Namespace, stdout: TextIO) -> int:
    from capture.interactive import join_argv, run_lab

    if args.command == "lab":
        print(f"lab ({args.backend}): starting the network, tcpdump and the server; type your messages, "
              "'bye' (or Ctrl-D, Ctrl-C) ends the session", file=stdout, flush=True)
        result = run_lab(args.out, backend=args.backend, on_line=LinePrinter(stdout))
        for warning in result.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        print(result.summary(), file=stdout)
        print(f"next: make analyze {args.out}", file=stdout, flush=True)
        if result.dropped:
            print(f"error: the kernel dropped {result.dropped} packets; the capture is incomplete",
                  file=sys.stderr)
            return 1
        return 0
    argv = join_argv("client" if args.command == "lab-client" else "shell", args.host)
    sys.stdout.flush()
    os.execv(argv[0], argv)  # the terminal is the joined program's now; its Ctrl-C is its own
    return 0  # not reached
