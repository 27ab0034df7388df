"""`make lab` on network namespaces: the course's network plus a spare client host for `lab-client`."""
from __future__ import annotations

import time
from pathlib import Path

from capture import netns_backend
from capture.interactive import (SPARE_CLIENT, LabHosts, LabSessionResult, LineSink, lab_client_pids,
                                 network_problems, session, stop_clients)
from capture.interrupts import shielded
from capture.processes import ProcessGroup, python_module
from capture.runner import check_netns_prerequisites
from capture.scenarios import PORT
from capture.state import RunState, lab_lock
from capture.tcpdump import find_tcpdump, tcpdump_argv
from capture.topology import Topology, lab_topology


def netns_hosts(topo: Topology) -> LabHosts:
    def pids(host: str) -> list[int]:
        return lab_client_pids(lambda: netns_backend.namespace_inode(topo.host(host).netns))

    return LabHosts(
        backend="netns",
        tcpdump=tcpdump_argv(topo.bridge, Path("-"), find_tcpdump()),
        tcpdump_netns=topo.wire,
        interface=topo.bridge,
        server=python_module("lab.server", "--host", "0.0.0.0", "--port", str(PORT), "--store", "memory"),
        server_netns=topo.server.netns,
        client=python_module("lab.client", "--host", topo.server.ip, "--port", str(PORT)),
        client_netns=topo.host("client").netns,
        server_pid=lambda server: server.pid,
        client_pids=pids,
        names={host.ip: host.name for host in topo.hosts},
    )


def netns_session(partial: Path, on_line: LineSink, lang: str | None = None) -> LabSessionResult:
    check_netns_prerequisites()
    with lab_lock():
        topo = lab_topology(2)   # client, and client2: the spare host `lab-client` joins from
        netns_backend.check_names_free(topo)
        state = RunState.create()
        group = ProcessGroup(state, time.monotonic())
        try:
            with shielded():  # a signal now takes effect once the network is whole (then removed below)
                netns_backend.build(topo)
            hosts = netns_hosts(topo)
            return session(hosts, partial, group, on_line,
                           stop_joined=lambda: stop_clients(hosts.client_pids(SPARE_CLIENT)), lang=lang)
        finally:
            with shielded():  # a Ctrl-C now waits until the lab is gone
                group.stop_all(grace=2.0)
                problems = netns_backend.teardown(topo)  # also stops a joined client or shell
                state.close()
            network_problems(problems)
