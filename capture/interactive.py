"""The student's own session (`make lab`): type messages into the real client, watch the server's
lines and every captured frame narrated as it happens.

    result = run_lab("reqresp.pcap", on_line=print_it)          # netns (default) or backend="compose"

Order, as in `capture.runner` (what the pcap holds depends on it):
1. the network (a spare client host, ``client2``, for `python -m capture lab-client`);
2. tcpdump ``-U -w -`` on the bridge, confirmed listening (the server starts beside it: a listening
   socket sends nothing); a tee thread copies tcpdump's stream into the hidden partial pcap and
   into the narrator's stdin as each packet arrives;
3. the server, confirmed listening; then ``python -m lab.client`` in the client host with the
   caller's terminal as its stdin/stdout (it prompts and reads there itself), and the narrator,
   ``python -m analysis - --live`` (a process: capture/ never imports analysis/);
4. the client ends (``bye``, Ctrl-D, or Ctrl-C, which we hand on to it as SIGINT: it closes the
   connection first, as after ``bye``); a joined client (``lab-client``) is asked to close the same
   way; we wait for the server's connections to close (bounded), stop the server, stop tcpdump,
   let the narrator print its summary; the pcap is renamed into place.
Whatever happens, the `finally` stops every process by PID and removes the network (or the compose
project); building and starting are shielded from signals (capture.interrupts). Nothing is printed
here: every line of the server and of the narrator goes to ``on_line`` as it is read.
"""
from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import termios
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Callable

from capture.errors import (STILL_PRESENT, CaptureError, Interrupted, LabProcessError, NetworkSetupError, ScenarioError,
                            UsageError, exited_on_sigterm)
from capture.interrupts import shielded
from capture.names import check_output_path, give_to_invoking_user, partial_path
from capture.processes import LabProcess, OutputLine, ProcessGroup, Stdio, python_module
from capture.scenarios import PORT
from capture.state import processes_in_namespaces
from capture.stream_tee import StreamTee
from capture.tcpdump import CaptureStats, parse_stats
from capture.text import N_, NP_, Text, Translation, plural

SERVER_READY_TIMEOUT = 15.0
CLOSE_TIMEOUT = 5.0        # seconds for the server's connections to close after the client ended
CLIENT_CLOSE_GRACE = 3.0   # seconds a client has to close its connection after SIGINT
NARRATOR_TIMEOUT = 15.0    # seconds for the narrator's summary after the stream ended
SETTLE = 0.2               # seconds between the last FIN/ACK and stopping tcpdump
SPARE_CLIENT = "client2"   # the host `lab-client` joins from: a second connection

LineSink = Callable[[OutputLine], None]


@dataclass(frozen=True)
class LabSessionResult:
    """One finished interactive session."""

    backend: str
    pcap: Path
    packets: int
    dropped: int
    duration: float                     # seconds tcpdump listened
    ended_by: str | Text                # ENDED_BY_CLIENT (bye, Ctrl-D) or "Ctrl-C"
    transcript: tuple[OutputLine, ...]  # the server's and the narrator's lines, in time order
    warnings: tuple[Text, ...] = ()     # e.g. connections that did not close in time

    def lines(self, role: str) -> tuple[str, ...]:
        return tuple(line.text for line in self.transcript if line.role == role)

    def summary(self, t: Translation | None = None) -> str:
        """The one summary line `make lab` prints: English, or in the language of `t`."""
        return Text(N_("wrote {path}: {packets}, {dropped} dropped by kernel, {seconds:.2f} s "
                       "(lab session, {backend}, ended by {ended_by})"),
                    path=str(self.pcap), packets=plural(*NP_("{count} packet captured", "{count} packets captured"),
                                                        count=self.packets),
                    dropped=self.dropped, seconds=self.duration, backend=self.backend,
                    ended_by=self.ended_by).render(t)


ENDED_BY_CLIENT = Text(N_("the client (bye or Ctrl-D)"))


@dataclass(frozen=True)
class LabHosts:
    """What differs between the backends once the network is up: the argument lists."""

    backend: str
    tcpdump: list[str]                  # writes the pcap stream to stdout
    tcpdump_netns: str | None
    interface: str
    server: list[str]
    server_netns: str | None
    client: list[str]
    client_netns: str | None
    server_pid: Callable[[LabProcess], int]        # a PID in the server's network namespace
    client_pids: Callable[[str], list[int]]        # host -> PIDs of lab clients running there
    names: dict[str, str]                          # IP -> name, for the narrator's ARP lines
    stop_server: Callable[[LabProcess], int | None] = lambda server: server.stop()  # its exit status


def narrator_argv(names: dict[str, str], lang: str | None = None) -> list[str]:
    """`python -m analysis - --live`, its lines in ``lang`` (None: the locale's, as the analyzer reads it)."""
    return python_module("analysis", "-", "--live", *(f"--name={ip}={name}" for ip, name in names.items()),
                         *(("--lang", lang) if lang is not None else ()))


def lab_client_pids(inode_of: Callable[[], int | None]) -> list[int]:
    """PIDs of `python -m lab.client` processes living in the namespace whose inode ``inode_of`` gives."""
    inode = inode_of()
    if inode is None:
        return []
    found = []
    for pid, _ in processes_in_namespaces({inode: "host"}):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"lab.client" in argv:
            found.append(pid)
    return found


def run_lab(out: str | os.PathLike[str] = "reqresp.pcap", *, backend: str = "netns",
            on_line: LineSink = lambda line: None, lang: str | None = None) -> LabSessionResult:
    """Run the interactive session; the caller's terminal (stdin/stdout) becomes the client's.

    ``lang``: the language of the narrator's lines ("en", "id"; None: the locale's). The server's
    and the client's lines are the course's, in English as its sheets show them."""
    path = check_output_path(out)
    partial = partial_path(path)
    try:
        if backend == "netns":
            from capture.interactive_netns import netns_session

            result = netns_session(partial, on_line, lang)
        elif backend == "compose":
            from capture.interactive_compose import compose_session

            result = compose_session(partial, on_line, lang)
        else:
            raise UsageError(Text(N_("unknown backend {backend!r}: choose one of {known}"), backend=backend,
                                  known="netns, compose"))
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)  # a failed session's capture; gone already after the rename
    give_to_invoking_user(path)
    return dataclasses.replace(result, pcap=path)


@dataclass
class _Running:
    """The processes of a session, for `session` and its finally."""

    group: ProcessGroup
    narrator: LabProcess | None = None
    tcpdump: LabProcess | None = None
    tee: StreamTee | None = None
    server: LabProcess | None = None
    client: LabProcess | None = None
    stats: CaptureStats | None = None     # set once the end has stopped tcpdump
    duration: float = 0.0


def session(hosts: LabHosts, partial: Path, group: ProcessGroup, on_line: LineSink,
            stop_joined: Callable[[], None], lang: str | None = None) -> LabSessionResult:
    """Start narrator, tcpdump, server and client on a network that is up; run until the client ends.

    The caller tears the network down (its finally); this stops and checks what it started.
    """
    run = _Running(group)
    warnings: list[Text] = []
    saved_tty = _terminal_state()
    try:
        run.tcpdump = group.start("tcpdump", hosts.tcpdump, netns=hosts.tcpdump_netns,
                                  stdio=Stdio(stdout=subprocess.PIPE, stderr=subprocess.PIPE, raw_stdout=True))
        run.tee = StreamTee(run.tcpdump.popen.stdout, partial)  # type: ignore[arg-type]
        # The server starts beside tcpdump, not after it: a listening socket sends nothing (no IPv6,
        # no gratuitous ARP), so the first frame on the wire is still the client's ARP request, and
        # the two interpreters' start-ups overlap (the 3 s to the first prompt).
        run.server = group.start("server", hosts.server, netns=hosts.server_netns, on_line=on_line)
        run.tcpdump.wait_for_line(r"listening on " + hosts.interface, 10.0)
        listening_since = time.monotonic()
        run.server.wait_for_line(r"Server listening on", SERVER_READY_TIMEOUT)
        run.client = group.start("client", hosts.client, netns=hosts.client_netns,
                                 stdio=Stdio(stdin=None, stdout=None, stderr=None))
        run.narrator = group.start("frame", narrator_argv(hosts.names, lang), on_line=on_line,
                                   stdio=Stdio(stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                               stderr=subprocess.STDOUT))
        run.tee.attach(run.narrator.popen.stdin)  # type: ignore[arg-type]
        ended_by = _wait_for_client(run.client, hosts)
        _restore_terminal(saved_tty)
        try:
            stats, duration = _end(run, hosts, partial, stop_joined, warnings, listening_since)
        except (Interrupted, KeyboardInterrupt) as exc:
            # A Ctrl-C while the session was already ending in order (held until the end was done):
            # it asked for what has just happened. SIGTERM still aborts.
            if (isinstance(exc, Interrupted) and exc.signal_name != "SIGINT") or run.stats is None:
                raise
            stats, duration = run.stats, run.duration
    finally:
        _restore_terminal(saved_tty)
        with shielded():
            group.stop_all(grace=2.0)
    transcript = group.transcript(leave_out=("tcpdump", "client"))
    return LabSessionResult(backend=hosts.backend, pcap=partial, packets=stats.captured, dropped=stats.dropped,
                            duration=duration, ended_by=ended_by, transcript=transcript, warnings=tuple(warnings))


def _end(run: _Running, hosts: LabHosts, partial: Path, stop_joined: Callable[[], None], warnings: list[Text],
         listening_since: float) -> tuple[CaptureStats, float]:
    """The end, in the course's order, shielded from signals: joined clients close, the server's
    connections are closed, then the server and tcpdump stop and the narrator prints its summary."""
    assert run.server is not None and run.tcpdump is not None and run.tee is not None and run.narrator is not None
    with shielded():
        stop_joined()
        try:
            _wait_connections_closed(hosts.server_pid(run.server))
        except ScenarioError as exc:
            warnings.append(exc.text)
        time.sleep(SETTLE)
        code = hosts.stop_server(run.server)
        if code != 0:
            raise LabProcessError("server", run.server.where, exited_on_sigterm(code),
                                  run.server.output())
        run.tcpdump.stop(signal.SIGINT, grace=5.0)
        stats = parse_stats(run.tcpdump.output(), hosts.interface, str(partial))
        duration = time.monotonic() - listening_since
        run.tee.join(10.0)
        run.narrator.wait(NARRATOR_TIMEOUT)
        run.stats, run.duration = stats, duration
    return stats, duration


def _wait_for_client(client: LabProcess, hosts: LabHosts) -> str | Text:
    """Until the client exits. The first Ctrl-C ends the session: the client gets SIGINT and closes
    its connection (FIN first), as after `bye`. SIGTERM aborts (Interrupted goes up)."""
    try:
        code = client.popen.wait()
    except (Interrupted, KeyboardInterrupt) as exc:
        if isinstance(exc, Interrupted) and exc.signal_name != "SIGINT":
            raise
        for pid in hosts.client_pids("client") or [client.pid]:
            _signal(pid, signal.SIGINT)
        try:
            client.popen.wait(CLIENT_CLOSE_GRACE)
        except subprocess.TimeoutExpired:
            client.stop()
        return "Ctrl-C"
    if code not in (0, 130):
        raise LabProcessError("client", client.where, Text(N_("exited with status {code}"), code=code))
    return ENDED_BY_CLIENT if code == 0 else "Ctrl-C"


def stop_clients(pids: list[int]) -> None:
    """Ask joined clients to close (SIGINT: FIN first, as the course's client after `bye`)."""
    for pid in pids:
        _signal(pid, signal.SIGINT)
    deadline = time.monotonic() + CLIENT_CLOSE_GRACE
    while any(Path(f"/proc/{pid}").exists() for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _wait_connections_closed(pid: int) -> None:
    from capture.runner import _wait_connections_closed as wait_closed

    wait_closed(SimpleNamespace(pid=pid, where=Text(N_("the server's host"))), CLOSE_TIMEOUT)  # type: ignore[arg-type]


def _terminal_state() -> list | None:  # type: ignore[type-arg]
    """The terminal's settings, to put back after the client (readline changes them while it reads)."""
    try:
        return termios.tcgetattr(sys.stdin.fileno()) if sys.stdin.isatty() else None
    except (termios.error, ValueError, OSError):
        return None


def _restore_terminal(saved: list | None) -> None:  # type: ignore[type-arg]
    if saved is not None:
        try:
            termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, saved)
        except (termios.error, OSError):
            pass


def join_argv(kind: str, host: str = "server") -> list[str]:
    """The command that joins a running lab: ``kind`` "client" (a second client, on the spare host)
    or "shell" (a shell in ``host``, server or client). Raises CaptureError when no lab runs."""
    from capture.netns_backend import namespace_inode
    from capture.runner import check_root
    from capture.topology import lab_topology

    if host not in ("server", "client"):
        raise UsageError(Text(N_("unknown lab host {host!r}: choose server or client"), host=host))
    check_root()
    topo = lab_topology(2)
    if namespace_inode(topo.host(SPARE_CLIENT).netns) is not None:
        if kind == "client":
            return python_module("capture.nsexec", topo.host(SPARE_CLIENT).netns,
                                 *python_module("lab.client", "--host", topo.server.ip, "--port", str(PORT)))
        return python_module("capture.nsexec", topo.host(host).netns, _shell())
    from capture.interactive_compose import compose_join_argv, compose_lab_running

    if compose_lab_running():
        return compose_join_argv(kind, host)
    raise CaptureError(Text(N_("no lab is running (no namespace {namespace}, no compose lab): start one with "
                               "'make lab' in another terminal first"), namespace=topo.host(SPARE_CLIENT).netns))


def _shell() -> str:
    return next((p for p in ("/bin/bash", "/usr/bin/bash", "/bin/sh") if Path(p).exists()), "sh")


def network_problems(problems: list[Text]) -> None:
    if problems:  # only when the kernel refuses; say how to finish the job
        raise NetworkSetupError(problems, *STILL_PRESENT)
