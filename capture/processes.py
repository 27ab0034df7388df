"""Start, watch and stop the lab's processes (server, clients, tcpdump) by PID.

Every process is started with an argument list (never a shell), in its own session (so a Ctrl-C in
the terminal reaches only us, and we stop the lab in order), and is recorded in the run's state
file. A reader thread timestamps each output line; callers wait for a line that means "ready".
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from capture.errors import LabProcessError
from capture.state import RunState

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class OutputLine:
    """One line a lab process printed, with when (seconds since the run started) and who."""

    t: float
    role: str
    text: str


def python_module(module: str, *args: str) -> list[str]:
    """The argument list that runs ``python -m module args`` with this interpreter."""
    return [sys.executable, "-m", module, *args]


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    # The lab may be used from a checkout that is not pip-installed: put the repo first on the path.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    return env


class LabProcess:
    """One running process of the lab, optionally inside a network namespace."""

    def __init__(self, role: str, argv: list[str], state: RunState, t0: float,
                 netns: str | None = None, merge_stderr: bool = True) -> None:
        self.role, self.netns, self.t0 = role, netns, t0
        self.where = netns or "root namespace"
        full = python_module("capture.nsexec", netns, *argv) if netns else list(argv)
        self.lines: list[OutputLine] = []
        self._cond = threading.Condition()
        self._state = state
        try:
            self.popen = subprocess.Popen(
                full,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
                text=True,
                bufsize=1,
                start_new_session=True,
                env=_child_env(),
                cwd=REPO_ROOT,
            )
        except OSError as exc:
            raise LabProcessError(role, self.where, f"cannot start {argv[0]}: {exc}") from exc
        self.pid = self.popen.pid
        state.add(self.pid, role, netns)
        streams = [self.popen.stdout] if merge_stderr else [self.popen.stdout, self.popen.stderr]
        self._readers = [threading.Thread(target=self._read, args=(s,), daemon=True) for s in streams]
        for reader in self._readers:
            reader.start()

    def _read(self, stream) -> None:  # type: ignore[no-untyped-def]
        for raw in stream:
            line = OutputLine(time.monotonic() - self.t0, self.role, raw.rstrip("\r\n"))
            with self._cond:
                self.lines.append(line)
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def output(self) -> str:
        with self._cond:
            return "\n".join(line.text for line in self.lines)

    def wait_for_line(self, pattern: str, timeout: float) -> OutputLine:
        """Block until a line matches ``pattern`` (regex); raise if the process exits or time runs out."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        seen = 0
        with self._cond:
            while True:
                for line in self.lines[seen:]:
                    if regex.search(line.text):
                        return line
                seen = len(self.lines)
                if self.popen.poll() is not None and not any(r.is_alive() for r in self._readers):
                    raise LabProcessError(self.role, self.where,
                                          f"exited with status {self.popen.returncode} before printing /{pattern}/",
                                          self.output())
                left = deadline - time.monotonic()
                if left <= 0:
                    raise LabProcessError(self.role, self.where,
                                          f"did not print /{pattern}/ within {timeout:g} s", self.output())
                self._cond.wait(min(left, 0.1))

    def wait(self, timeout: float) -> int:
        """Wait for a normal exit; raise LabProcessError (after killing it) when it takes too long."""
        try:
            code = self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise LabProcessError(self.role, self.where, f"did not finish within {timeout:g} s",
                                  self.output()) from None
        self._finish()
        return code

    def stop(self, sig: int = signal.SIGTERM, grace: float = 3.0) -> int | None:
        """Send ``sig`` (by PID), wait ``grace`` seconds, then SIGKILL. Returns the exit status."""
        if self.popen.poll() is None:
            try:
                os.kill(self.pid, sig)
                self.popen.wait(grace)
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.popen.wait()
        self._finish()
        return self.popen.returncode

    def _finish(self) -> None:
        for reader in self._readers:
            reader.join(2.0)
        self._state.discard(self.pid)

    @property
    def running(self) -> bool:
        return self.popen.poll() is None
