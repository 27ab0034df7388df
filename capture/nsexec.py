"""Run a program inside a named network namespace: ``python -m capture.nsexec NETNS PROGRAM [ARGS...]``.

The lab's processes are started through this tiny helper (setns(2), then exec) rather than
``ip netns exec``, so nothing goes through a shell and the PID we record is the program's own
(exec keeps it): `python -m capture clean` can later kill exactly that PID.
"""
from __future__ import annotations

import os
import sys

from capture.names import check_kernel_name
from capture.nsutil import setns


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print("usage: python -m capture.nsexec NETNS PROGRAM [ARGS...]", file=sys.stderr)
        return 2
    netns, program = argv[0], argv[1:]
    try:
        check_kernel_name(netns, "namespace")
        setns(netns)
        os.execvp(program[0], program)
    except Exception as exc:  # noqa: BLE001 - report any failure as one line, then fail
        print(f"error: cannot run {program[0]} in {netns}: {exc}", file=sys.stderr)
        return 127
    return 0  # not reached: exec replaced us


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
