"""`make lab BACKEND=compose`: the student's session in the containers of compose/reqresp.yml.

As the compose backend (capture.compose_backend): ``up`` of the server, the client and the spare
client2 (profile multi), their namespaces attached as ``lab-dock-*`` with offloads off, tcpdump on
the host's br-reqresp (leaving out the host's own frames). The client is ``docker exec -i
reqresp-client python -m lab.client`` with the terminal as its stdin/stdout (no -t: the terminal
stays in its ordinary mode, so the live lines around the prompt print as on netns). The server is
stopped by the PID it announced inside its container; ``down`` always.
"""
from __future__ import annotations

import dataclasses
import re
import shutil
import time
from pathlib import Path

from capture.compose_backend import (NETNS_NAMES, _ANNOUNCE_PID, _PID_LINE, _attach, _stop_server, check_root,
                                     compose_down_problem)
from capture.compose_project import BRIDGE, SERVICES, ComposeProject, find_compose, subprocess_runner
from capture.interactive import (SPARE_CLIENT, LabHosts, LabSessionResult, LineSink, lab_client_pids,
                                 network_problems, session, stop_clients)
from capture.errors import ROOT_NAMESPACE
from capture.interrupts import shielded
from capture.netns_backend import namespace_inode, remove_netns
from capture.nsutil import disable_ipv6, netns_path
from capture.processes import OutputLine, ProcessGroup
from capture.scenarios import PORT
from capture.state import RunState, lab_lock
from capture.tcpdump import find_tcpdump
from capture.topology import lab_topology

HOSTS = ("server", "client", SPARE_CLIENT)


def _client_argv(service: str, *docker_flags: str) -> list[str]:
    docker = shutil.which("docker") or "docker"
    return [docker, "exec", *docker_flags, service, "python", "-m", "lab.client", "--host", SERVICES["server"],
            "--port", str(PORT)]


def compose_lab_running() -> bool:
    return netns_path(NETNS_NAMES[SPARE_CLIENT]).exists()


def compose_join_argv(kind: str, host: str) -> list[str]:
    """``docker exec -it``: the joined client or shell gets a terminal of its own in the container."""
    if kind == "client":
        return _client_argv(SERVICES[SPARE_CLIENT], "-it")
    return [shutil.which("docker") or "docker", "exec", "-it", SERVICES[host], "sh"]


def compose_hosts(project: ComposeProject, tcpdump: str, pids: dict[str, int]) -> LabHosts:
    mac = Path(f"/sys/class/net/{BRIDGE}/address").read_text().strip()
    topo = lab_topology(2)   # the compose file's addresses are the netns lab's

    def client_pids(host: str) -> list[int]:
        return lab_client_pids(lambda: namespace_inode(NETNS_NAMES[host]))

    return LabHosts(
        backend="compose",
        tcpdump=[tcpdump, "-i", BRIDGE, "-U", "-s", "0", "-n", "--immediate-mode", "-Z", "root", "-w", "-",
                 "not", "ether", "src", mac],
        tcpdump_netns=None,
        interface=re.escape(BRIDGE),
        server=project.exec_argv("server", "sh", "-c", _ANNOUNCE_PID, "sh", "python", "-m", "lab.server",
                                 "--host", "0.0.0.0", "--port", str(PORT), "--store", "memory"),
        server_netns=None,
        client=_client_argv(SERVICES["client"], "-i"),
        client_netns=None,
        server_pid=lambda server: pids["server"],
        client_pids=client_pids,
        names={host.ip: host.name for host in topo.hosts},
        stop_server=lambda server: _stop_server(project, server) or 0,   # it raises on a bad exit
    )


def compose_session(partial: Path, on_line: LineSink, lang: str | None = None) -> LabSessionResult:
    check_root()
    tcpdump = find_tcpdump()
    project = ComposeProject(find_compose(subprocess_runner), subprocess_runner)
    project.engine_answers()
    project.ensure_image()

    def shown(line: OutputLine) -> None:  # the server's "pid N" is ours, not the student's
        if not (line.role == "server" and _PID_LINE.match(line.text)):
            on_line(line)

    with lab_lock():
        state = RunState.create()
        group = ProcessGroup(state, time.monotonic())
        attached: list[str] = []
        try:
            project.up(list(HOSTS))
            disable_ipv6(BRIDGE, ROOT_NAMESPACE)   # as compose_backend: the bridge's IPv6 stays silent
            pids = {host: project.container_pid(host) for host in HOSTS}
            for host in HOSTS:
                with shielded():
                    _attach(host, pids[host], attached)
            hosts = compose_hosts(project, tcpdump, pids)
            result = session(hosts, partial, group, shown,
                             stop_joined=lambda: stop_clients(hosts.client_pids(SPARE_CLIENT)), lang=lang)
        finally:
            with shielded():  # a Ctrl-C now waits until the project is down
                group.stop_all(grace=2.0)
                problems = [problem for name in attached for problem in remove_netns(name)]
                down = project.down()
                state.close()
            if down.returncode != 0:
                problems.append(compose_down_problem(down))
            network_problems(problems)
    transcript = tuple(line for line in result.transcript
                       if not (line.role == "server" and _PID_LINE.match(line.text)))
    return dataclasses.replace(result, transcript=transcript)
