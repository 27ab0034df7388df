"""Run a program inside a named network namespace: ``python -m capture.nsexec NETNS PROGRAM [ARGS...]``.

The lab's processes are started through this tiny helper (setns(2), then exec) rather than
``ip netns exec``, so nothing goes through a shell and the PID we record is the program's own
(exec keeps it): `python -m capture clean` can later kill exactly that PID. Its own two messages
follow the locale (capture.i18n), English when the catalog cannot be read.
"""
from __future__ import annotations

import os
import sys

from capture.errors import CaptureError
from capture.names import check_kernel_name
from capture.nsutil import setns


def _translation():  # type: ignore[no-untyped-def]
    from capture import i18n
    from capture.errors import CaptureError

    try:
        return i18n.translation(i18n.resolve_lang(None))
    except CaptureError:
        return i18n.translation(i18n.DEFAULT)


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        t = _translation()
        print(t.gettext("usage: python -m capture.nsexec NETNS PROGRAM [ARGS...]"), file=sys.stderr)
        return 2
    netns, program = argv[0], argv[1:]
    try:
        check_kernel_name(netns, "namespace")
        setns(netns)
        os.execvp(program[0], program)
    except Exception as exc:  # noqa: BLE001 - report any failure as one line, then fail
        t = _translation()
        message = exc.one_line(t) if isinstance(exc, CaptureError) else str(exc)
        print(t.gettext("error: cannot run {program} in {namespace}: {error}").format(
            program=program[0], namespace=netns, error=message), file=sys.stderr)
        return 127
    return 0  # not reached: exec replaced us


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
