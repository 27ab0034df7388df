"""The lab subcommands' edges: how live lines are marked, and joining when no lab runs."""
from __future__ import annotations

import io
import subprocess
import sys

from capture.cli_lab import LinePrinter
from capture.processes import OutputLine
from capture.state import lab_lock
from tests.capture.support.netns import ROOT, needs_root


def test_live_lines_are_marked_by_who_said_them_and_the_summary_is_shown_as_printed():
    out = io.StringIO()
    show = LinePrinter(out)
    for role, text in (("server", "Server listening on 0.0.0.0:2222"),
                       ("frame", "   1    0.000000  arp        arp-request"),
                       ("frame", ""),
                       ("frame", "<stdin>: 18 frames, 1 TCP connections, 3 exchanges"),
                       ("server", "Received from client: bye")):
        show(OutputLine(0.0, role, text))
    assert out.getvalue().splitlines() == [
        "server | Server listening on 0.0.0.0:2222",
        "frame  |    1    0.000000  arp        arp-request",
        "",
        "<stdin>: 18 frames, 1 TCP connections, 3 exchanges",
        "server | Received from client: bye",
    ]


@needs_root
def test_joining_without_a_running_lab_is_one_line_saying_what_to_do():
    with lab_lock():   # no run can hold the lab network meanwhile: nothing to join, here or in compose
        for command in (["lab-client"], ["lab-shell", "--host", "client"]):
            done = subprocess.run([sys.executable, "-m", "capture", *command], cwd=ROOT, capture_output=True,
                                  text=True, timeout=60, stdin=subprocess.DEVNULL)
            assert done.returncode == 1
            assert done.stderr.count("\n") == 1 and "no lab is running" in done.stderr
            assert "make lab" in done.stderr
