"""Start, watch and stop the lab's processes (server, clients, tcpdump) by PID.

Every process is started with an argument list (never a shell), in its own session (so a Ctrl-C in
the terminal reaches only us, and we stop the lab in order), through a ProcessGroup: the fork, the
record in the run's state file and the record in the group happen with signals held, so a process
that exists is always one the run (and `clean`) knows about. A reader thread timestamps each output
line; callers wait for a line that means "ready".
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
from typing import Callable

from capture.errors import ROOT_NAMESPACE, LabProcessError
from capture.interrupts import shielded
from capture.state import RunState
from capture.text import N_, Text

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class OutputLine:
    """One line a lab process printed, with when (seconds since the run started) and who."""

    t: float
    role: str
    text: str


@dataclass(frozen=True)
class Stdio:
    """Where a lab process's standard streams go (subprocess constants, a file descriptor, or None:
    ours, e.g. the terminal). By default stdin is closed and stdout is read line by line;
    ``raw_stdout`` leaves a piped stdout unread for the caller (tcpdump's pcap stream)."""

    stdin: int | None = subprocess.DEVNULL
    stdout: int | None = subprocess.PIPE
    stderr: int | None = subprocess.STDOUT
    raw_stdout: bool = False


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
    """One running process of the lab, optionally inside a network namespace.

    Start it with `ProcessGroup.start`, which records it before any signal can be delivered.
    """

    def __init__(self, role: str, argv: list[str], state: RunState, t0: float,
                 netns: str | None = None, merge_stderr: bool = True, stdio: Stdio | None = None,
                 on_line: Callable[[OutputLine], None] | None = None) -> None:
        self.role, self.netns, self.t0 = role, netns, t0
        self.where: str | Text = netns or ROOT_NAMESPACE
        full = python_module("capture.nsexec", netns, *argv) if netns else list(argv)
        self.lines: list[OutputLine] = []
        self._cond = threading.Condition()
        self._state = state
        self._on_line = on_line
        io = stdio or Stdio(stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE)
        try:
            self.popen = subprocess.Popen(
                full,
                stdin=io.stdin,
                stdout=io.stdout,
                stderr=io.stderr,
                start_new_session=True,
                env=_child_env(),
                cwd=REPO_ROOT,
            )
        except OSError as exc:
            raise LabProcessError(role, self.where, Text(N_("cannot start {program}: {error}"), program=argv[0],
                                                             error=str(exc))) from exc
        self.pid = self.popen.pid
        state.add(self.pid, role, netns)
        # Lines are read from the pipes we own; a raw stdout (tcpdump -w -) is the caller's to read.
        streams = [s for s, own in ((self.popen.stdout, not io.raw_stdout),
                                    (self.popen.stderr, io.stderr == subprocess.PIPE)) if s is not None and own]
        self._readers = [threading.Thread(target=self._read, args=(s,), daemon=True) for s in streams]
        for reader in self._readers:
            reader.start()

    def _read(self, stream) -> None:  # type: ignore[no-untyped-def]
        for raw in stream:
            text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            line = OutputLine(time.monotonic() - self.t0, self.role, text)
            with self._cond:
                self.lines.append(line)
                self._cond.notify_all()
            if self._on_line is not None:
                self._on_line(line)
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
                                          Text(N_("exited with status {code} before printing /{pattern}/"),
                                               code=self.popen.returncode, pattern=pattern), self.output())
                left = deadline - time.monotonic()
                if left <= 0:
                    raise LabProcessError(self.role, self.where,
                                          Text(N_("did not print /{pattern}/ within {seconds:g} s"), pattern=pattern,
                                               seconds=timeout), self.output())
                self._cond.wait(min(left, 0.1))

    def wait(self, timeout: float) -> int:
        """Wait for a normal exit; raise LabProcessError (after killing it) when it takes too long."""
        try:
            code = self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise LabProcessError(self.role, self.where, Text(N_("did not finish within {seconds:g} s"),
                                                              seconds=timeout), self.output()) from None
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
                self.popen.kill()  # by PID; no error if it exited in the meantime
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


class ProcessGroup:
    """The processes of one run, in the order they were started."""

    def __init__(self, state: RunState, t0: float) -> None:
        self.state, self.t0 = state, t0
        self.members: list[LabProcess] = []

    def start(self, role: str, argv: list[str], netns: str | None = None,
              merge_stderr: bool = True, stdio: Stdio | None = None,
              on_line: Callable[[OutputLine], None] | None = None) -> LabProcess:
        """Fork, record in the run file, record here: one step that a signal cannot split."""
        with shielded():
            process = LabProcess(role, argv, self.state, self.t0, netns=netns, merge_stderr=merge_stderr,
                                 stdio=stdio, on_line=on_line)
            self.members.append(process)
        return process

    def stop_all(self, grace: float = 2.0) -> None:
        """Stop every member still running, the last started first (clients, server, tcpdump)."""
        for process in reversed(self.members):
            process.stop(grace=grace)

    def transcript(self, leave_out: tuple[str, ...] = ("tcpdump",)) -> tuple[OutputLine, ...]:
        """The lab programs' lines in time order (tcpdump's own are its statistics, read apart)."""
        return tuple(sorted((line for p in self.members if p.role not in leave_out for line in p.lines),
                            key=lambda line: line.t))
