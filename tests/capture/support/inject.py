"""Run `python -m capture` with a signal injected at one exact point of start-up (no timing luck).

    python -m tests.capture.support.inject --at spawn:2 --signal SIGTERM --pids PIDFILE -- ARGS...

``--at TARGET:N``: wrap the callable TARGET (``capture.state.RunState.add``,
``capture.netns_backend.build``, ...); right after its N-th call returns, the process sends itself
the signal. ``spawn:N`` is the Popen that capture.processes calls (and only that one: pyroute2's
helpers fork too): right after it returns, the N-th lab child exists and nobody has recorded it
yet, the window in which a run used to orphan its server.
``--stray TARGET:N``: instead of a signal, start a process nobody records (a sleeper in
``lab-client``, through nsexec as ``ip netns exec`` would) after that call, and wait until it
writes the inode of the namespace it lives in to PIDFILE.stray; the run's teardown must stop it.
Every PID a wrapped Popen returned is written to PIDFILE (one a line), so the test can check that
each one is gone afterwards, also those living in a namespace that no longer has a name.
"""
from __future__ import annotations

import argparse
import functools
import importlib
import os
import signal
import subprocess
import sys
import time
import types
from pathlib import Path
from typing import Any, Callable


def _resolve(target: str) -> tuple[Any, str]:
    """'a.b.C.meth' -> (the object holding the attribute, attribute name)."""
    parts = target.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            owner: Any = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for name in parts[cut:-1]:
            owner = getattr(owner, name)
        return owner, parts[-1]
    raise SystemExit(f"inject: cannot find {target}")


def _after_nth(target: str, nth: int, action: Callable[[], None]) -> None:
    owner, name = _resolve(target)
    real = getattr(owner, name)
    calls = [0]

    @functools.wraps(real)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        value = real(*args, **kwargs)
        calls[0] += 1
        if calls[0] == nth:
            action()
        return value

    setattr(owner, name, wrapper)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--at", help="TARGET:N after which to send the signal")
    p.add_argument("--signal", default="SIGTERM")
    p.add_argument("--stray", help="TARGET:N after which to start an unrecorded process in lab-client")
    p.add_argument("--pids", type=Path, required=True)
    p.add_argument("args", nargs=argparse.REMAINDER)
    opts = p.parse_args()
    pid_file: Path = opts.pids
    real_popen = subprocess.Popen

    def recording_popen(*args: Any, **kwargs: Any) -> subprocess.Popen[Any]:
        child = real_popen(*args, **kwargs)
        with pid_file.open("a") as f:
            f.write(f"{child.pid}\n")
        return child

    import capture.processes

    # Only the lab's own spawns: capture.processes gets a subprocess module of its own.
    capture.processes.subprocess = types.SimpleNamespace(  # type: ignore[assignment]
        **{**vars(subprocess), "Popen": recording_popen})
    if opts.at:
        target, nth = opts.at.rsplit(":", 1)
        target = "capture.processes.subprocess.Popen" if target == "spawn" else target
        sig = signal.Signals[opts.signal]
        _after_nth(target, int(nth), lambda: os.kill(os.getpid(), sig))
    if opts.stray:
        target, nth = opts.stray.rsplit(":", 1)
        target = "capture.processes.subprocess.Popen" if target == "spawn" else target

        marker = pid_file.with_suffix(".stray")
        code = (f"import os, time; open({str(marker)!r}, 'w').write(str(os.stat('/proc/self/ns/net').st_ino)); "
                "time.sleep(120)")

        def stray() -> None:
            recording_popen([sys.executable, "-m", "capture.nsexec", "lab-client", sys.executable, "-c", code],
                            start_new_session=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
            deadline = time.monotonic() + 20
            while not marker.exists() and time.monotonic() < deadline:
                time.sleep(0.02)

        _after_nth(target, int(nth), stray)
    from capture.cli import main as cli_main

    args = opts.args[1:] if opts.args[:1] == ["--"] else opts.args
    return cli_main(args)


if __name__ == "__main__":
    sys.exit(main())
