"""The run's state file and `python -m capture clean` (the `mn -c` of this lab).

Each run records the processes it starts (PID + kernel start time, so a recycled PID is never
killed) in ``/run/reqresp-lab/run-<pid>.json``. A run that ends normally removes its file; one
killed with SIGKILL leaves it behind, and `clean` uses it to stop exactly those processes.
`clean` also stops processes still living in a ``lab-`` namespace (ours by the names contract),
then removes every ``lab-`` namespace and root-namespace link, and the containers and networks
labelled com.docker.compose.project=reqresp (the compose backend's). Nothing else is touched.
"""
from __future__ import annotations

import fcntl
import json
import os
import signal
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from capture.errors import ROOT_NAMESPACE, CaptureError
from capture.names import is_lab_name
from capture.text import N_, Text

STATE_DIR = Path(os.environ.get("REQRESP_LAB_STATE_DIR", "/run/reqresp-lab"))


LOCK_TIMEOUT = 120.0  # seconds to wait for another run to finish with the lab network


@contextmanager
def lab_lock(state_dir: Path | None = None, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """One run (or `clean`) at a time owns the lab- names: wait for the other one, then go.

    flock is released by the kernel when its holder dies, even by SIGKILL; lab processes do not
    inherit the descriptor (subprocess closes it), so a leftover server cannot hold the lock.
    """
    folder = state_dir if state_dir is not None else STATE_DIR
    folder.mkdir(mode=0o755, parents=True, exist_ok=True)
    fd = os.open(folder / "lab.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
                    raise CaptureError(Text(N_("another capture run (pid {pid}) has used the lab network for over "
                                               "{seconds:g} s; wait for it, or stop it and run 'python -m capture "
                                               "clean'"), pid=holder, seconds=timeout))
                time.sleep(0.1)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


def process_start_ticks(pid: int) -> int | None:
    """Field 22 of /proc/PID/stat (start time in clock ticks since boot), None if PID is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[19])


@dataclass
class RunState:
    """The processes of one run, mirrored to a JSON file as they are started and stopped."""

    path: Path
    processes: dict[int, dict[str, object]] = field(default_factory=dict)

    @classmethod
    def create(cls, state_dir: Path = STATE_DIR) -> "RunState":
        state_dir.mkdir(mode=0o755, parents=True, exist_ok=True)
        state = cls(path=state_dir / f"run-{os.getpid()}.json")
        state._save()
        return state

    def add(self, pid: int, role: str, netns: str | None) -> None:
        self.processes[pid] = {"role": role, "netns": netns, "start": process_start_ticks(pid)}
        self._save()

    def discard(self, pid: int) -> None:
        if self.processes.pop(pid, None) is not None:
            self._save()

    def close(self) -> None:
        """The run ended and stopped its processes itself: forget the file."""
        self.path.unlink(missing_ok=True)

    def _save(self) -> None:
        record = {"owner": os.getpid(), "owner_start": process_start_ticks(os.getpid()),
                  "processes": {str(k): v for k, v in self.processes.items()}}
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record))
        tmp.replace(self.path)


@dataclass(frozen=True)
class CleanReport:
    """What `clean` found and removed."""

    killed: tuple[Text, ...]      # "pid 1234 (server in lab-server)", said in a language by the CLI
    namespaces: tuple[str, ...]
    links: tuple[str, ...]
    problems: tuple[str | Text, ...]   # anything that could not be removed
    compose: tuple[str, ...] = ()  # containers and networks of the compose project reqresp

    @property
    def nothing_found(self) -> bool:
        return not (self.killed or self.namespaces or self.links or self.problems or self.compose)


def recorded_processes(state_dir: Path = STATE_DIR) -> list[tuple[int, Text]]:
    """(pid, description) of processes recorded by earlier runs that still live (same start time)."""
    found: list[tuple[int, Text]] = []
    if not state_dir.is_dir():
        return found
    for path in sorted(state_dir.glob("run-*.json")):
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        for pid_text, info in record.get("processes", {}).items():
            pid = int(pid_text)
            if info.get("start") is not None and process_start_ticks(pid) == info["start"]:
                found.append((pid, Text(N_("pid {pid} ({role} in {namespace})"), pid=pid, role=info.get("role"),
                                        namespace=info.get("netns") or ROOT_NAMESPACE)))
    return found


def processes_in_namespaces(inodes: dict[int, str]) -> list[tuple[int, Text]]:
    """(pid, description) of processes whose network namespace is one of ``inodes`` (inode -> name)."""
    found: list[tuple[int, Text]] = []
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            inode = os.stat(entry / "ns" / "net").st_ino
        except OSError:
            continue
        if inode in inodes:
            found.append((int(entry.name), Text(N_("pid {pid} (in {namespace})"), pid=int(entry.name),
                                                namespace=inodes[inode])))
    return found


def kill_pids(targets: list[tuple[int, Text]], grace: float = 2.0) -> list[Text]:
    """SIGTERM each PID, wait up to ``grace`` seconds, SIGKILL the rest. Returns their descriptions."""
    starts = {pid: process_start_ticks(pid) for pid, _ in targets}
    done: list[Text] = []
    for pid, what in targets:
        if starts[pid] is None:
            continue
        try:
            os.kill(pid, signal.SIGTERM)
            done.append(what)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace
    alive = [pid for pid, _ in targets if starts[pid] is not None]
    while alive and time.monotonic() < deadline:
        alive = [pid for pid in alive if process_start_ticks(pid) == starts[pid]]
        time.sleep(0.05)
    for pid in alive:
        if process_start_ticks(pid) == starts[pid]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    return done


def clean(state_dir: Path = STATE_DIR) -> CleanReport:
    """Remove every leftover of earlier runs: their processes, ``lab-`` namespaces and links.

    Waits for a run in progress to finish first (the lab lock), so it never pulls the network
    from under a live run.
    """
    with lab_lock(state_dir):
        return _clean(state_dir)


def _clean(state_dir: Path) -> CleanReport:
    from capture import netns_backend  # late: pyroute2 is heavy and `clean` may run without it

    spaces, links = netns_backend.existing_lab_objects()
    inodes = {ino: name for name in spaces if (ino := netns_backend.namespace_inode(name)) is not None}
    targets = dict(recorded_processes(state_dir))
    for pid, what in processes_in_namespaces(inodes):
        targets.setdefault(pid, what)
    targets.pop(os.getpid(), None)
    killed = kill_pids(sorted(targets.items()))
    problems: list[str | Text] = []
    for name in spaces:
        problems += netns_backend.remove_netns(name)
    # Bridge ports first (removing one also removes its peer), the bridges last.
    _, links_now = netns_backend.existing_lab_objects()
    for name in sorted(links_now, key=lambda n: n.startswith("lab-br")):
        if is_lab_name(name):
            problems += netns_backend.remove_link(name)
    if state_dir.is_dir():
        for path in state_dir.glob("run-*.json"):
            try:
                record = json.loads(path.read_text())
                owner = int(record.get("owner", 0))
                alive = owner and process_start_ticks(owner) == record.get("owner_start")
            except (OSError, ValueError):
                alive = False
            if not alive:
                path.unlink(missing_ok=True)
    from capture.compose_project import remove_project  # the compose backend's containers and network

    found, compose_problems = remove_project()
    problems += compose_problems
    return CleanReport(tuple(killed), tuple(spaces), tuple(links), tuple(problems),
                       found.containers + found.networks)
