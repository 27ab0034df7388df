"""The lab subcommands of `python -m capture`: `lab` (the student's session), `lab-client` and
`lab-shell` (join it from another terminal)."""
from __future__ import annotations

import argparse
import os
import sys
import threading
from typing import TextIO

from capture import i18n
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
    from capture.cli import EXIT_FAILED, dropped_line   # late: cli imports this module
    from capture.interactive import join_argv, run_lab

    lang = getattr(args, "lang", None) or i18n.DEFAULT
    t = i18n.translation(lang)
    if args.command == "lab":
        print(t.gettext("lab ({backend}): starting the network, tcpdump and the server; type your messages, "
                        "'bye' (or Ctrl-D, Ctrl-C) ends the session").format(backend=args.backend),
              file=stdout, flush=True)
        # the narrator (python -m analysis --live) speaks the session's language; the server's and the
        # client's lines are the course's own, in English
        result = run_lab(args.out, backend=args.backend, on_line=LinePrinter(stdout), lang=lang)
        for warning in result.warnings:
            print(t.gettext("warning: {message}").format(message=warning.render(t)), file=sys.stderr)
        print(result.summary(t), file=stdout)
        print(t.gettext("next: make analyze {path}").format(path=args.out), file=stdout, flush=True)
        if result.dropped:
            print(dropped_line(result.dropped, t, again=False), file=sys.stderr)
            return EXIT_FAILED
        return 0
    argv = join_argv("client" if args.command == "lab-client" else "shell", args.host)
    sys.stdout.flush()
    if getattr(args, "lang", None):  # the exec'd nsexec helper reads the locale: --lang outranks it there too
        os.environ["LANGUAGE"] = args.lang
    os.execv(argv[0], argv)  # the terminal is the joined program's now; its Ctrl-C is its own
    return 0  # not reached
