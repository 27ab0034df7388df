"""Run a scenario on the netns backend: build the network, capture, run the lab, tear it all down.

Order matters for what the pcap holds:
1. fresh namespaces (empty ARP caches) on a silent bridge (no IPv6, no address, no STP) in the
   namespace ``lab-wire``;
2. tcpdump on the bridge (in ``lab-wire``), confirmed listening;
3. the server (``python -m lab.server``), confirmed listening; then the clients;
4. after the clients exit, wait until the server's TCP connections are closed (its last FIN was
   acknowledged), give the teardown a moment, stop the server, then stop tcpdump with SIGINT.
Whatever happens (error, Ctrl-C, SIGTERM), the `finally` stops every process by PID and removes
every namespace of the run (and with them every link). Building the network and starting a process
are shielded (capture.interrupts): a signal takes effect only once what was made is recorded.

tcpdump writes to a temporary file beside ``out``, renamed to ``out`` only when the run succeeded:
a failed or interrupted run leaves an earlier good capture as it was.
"""
from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

from capture import netns_backend
from capture.errors import (STILL_PRESENT, LabProcessError, NetworkSetupError, NotRootError, ScenarioError,
                            exited_on_sigterm)
from capture.interrupts import shielded
from capture.loss import add_receive_loss
from capture.names import check_output_path, give_to_invoking_user, partial_path
from capture.processes import LabProcess, OutputLine, ProcessGroup, python_module
from capture.result import CaptureResult, final_tally
from capture.scenarios import PORT, Scenario, get_scenario
from capture.sessions import run_attempts, wait_for_clients
from capture.state import RunState, lab_lock
from capture.tcpdump import BridgeCapture, find_tcpdump
from capture.text import N_, Text
from capture.topology import lab_topology

SERVER_READY_TIMEOUT = 15.0   # seconds for `Server listening on ...`
CLIENT_TIMEOUT = 60.0         # seconds for one client session (lossy needs retransmission timers)
CLOSE_TIMEOUT = 15.0          # seconds for the server's connections to finish closing
SETTLE = 0.2                  # seconds between the last FIN/ACK and stopping tcpdump
TCP_LISTEN = "0A"
MAX_HOLD = 3600.0             # state column of /proc/net/tcp


def hold_out_of_range(hold: float) -> Text:
    return Text(N_("--hold must be 0 to {limit:g} seconds, not {hold:g}"), limit=MAX_HOLD, hold=hold)


def check_root() -> None:
    if os.geteuid() != 0:
        raise NotRootError(os.getuid())


def check_netns_prerequisites() -> None:
    """Root and tcpdump; raise the one-line error that says how to get them."""
    check_root()
    find_tcpdump()


def run_netns(name: str, out: str | os.PathLike[str], hold: float = 0.0) -> CaptureResult:
    """Run scenario ``name`` on network namespaces and write the capture to ``out``.

    ``hold``: seconds to keep the lab up (tcpdump and server listening) before the clients start,
    to look around with ``ip netns exec lab-client ...``.
    """
    scenario = get_scenario(name)
    if not 0 <= hold <= MAX_HOLD:
        raise ScenarioError(name, hold_out_of_range(hold))
    check_netns_prerequisites()
    path = check_output_path(out)
    partial = partial_path(path)
    try:
        with lab_lock():
            result = run_attempts(scenario, lambda attempt: _run_once(scenario, partial, attempt, hold))
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)  # a failed run's capture; gone already after the rename
    give_to_invoking_user(path)
    return dataclasses.replace(result, pcap=path)


def _run_once(scenario: Scenario, out: Path, attempt: int, hold: float) -> CaptureResult:
    topo = lab_topology(scenario.client_hosts)
    # Before anything is ours: if the names are taken, say so and touch nothing of the other's.
    netns_backend.check_names_free(topo)
    state = RunState.create()
    t0 = time.monotonic()
    group = ProcessGroup(state, t0)
    try:
        with shielded():  # a signal now takes effect once the network is whole (then removed below)
            netns_backend.build(topo)
        if scenario.loss is not None:
            add_receive_loss(topo.clients[0].netns, scenario.loss)
        capture = BridgeCapture(group, topo.bridge, out, topo.wire)
        listening_since = time.monotonic()
        server = None
        if scenario.run_server:
            server = group.start("server", python_module("lab.server", "--host", "0.0.0.0", "--port", str(PORT),
                                                         *scenario.server_args), netns=topo.server.netns)
            server.wait_for_line(r"Server listening on", SERVER_READY_TIMEOUT)
        time.sleep(hold)
        clients = [group.start(program.host, python_module(program.module, *program.args),
                               netns=topo.host(program.host).netns)
                   for program in scenario.clients]
        wait_for_clients(clients, CLIENT_TIMEOUT)
        retransmissions = None
        if server is not None:
            _wait_connections_closed(server)
            retransmissions = _retransmitted_segments(server.pid)
        time.sleep(SETTLE)
        if server is not None:
            code = server.stop()
            if code != 0:
                raise LabProcessError("server", server.where, exited_on_sigterm(code),
                                      server.output())
        stats = capture.stop()
        duration = time.monotonic() - listening_since
    finally:
        with shielded():  # a Ctrl-C now waits until the lab is gone
            group.stop_all(grace=2.0)
            problems = netns_backend.teardown(topo)  # also stops anything else living in the namespaces
            state.close()
        if problems:  # only when the kernel refuses; say how to finish the job
            raise NetworkSetupError(problems, *STILL_PRESENT)
    transcript = group.transcript()
    return CaptureResult(
        scenario=scenario.name, backend="netns", pcap=out, packets=stats.captured, dropped=stats.dropped,
        duration=duration, transcript=transcript, attempts=attempt, retransmissions=retransmissions,
        totals=_check_totals(scenario, transcript),
    )


def _check_totals(scenario: Scenario, transcript: tuple[OutputLine, ...]) -> str | None:
    if scenario.expected_totals is None:
        return None
    tally = final_tally(transcript)
    if tally is None or tally != (scenario.expected_votes, scenario.expected_totals):
        raise ScenarioError(scenario.name, Text(N_("expected {votes} votes with totals {totals}, the server's last "
                                                   "tally was {tally}"), votes=scenario.expected_votes,
                                                totals=scenario.expected_totals, tally=str(tally)))
    return tally[1]


def _tcp_states(pid: int) -> list[str]:
    """The states of the TCP sockets in the network namespace of ``pid`` (hex, /proc/net/tcp)."""
    try:
        rows = Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return []
    return [row.split()[3] for row in rows if row.strip()]


def _wait_connections_closed(server: LabProcess, timeout: float = CLOSE_TIMEOUT) -> None:
    """Until only the listening socket is left in the server's namespace: the last FIN was ACKed."""
    deadline = time.monotonic() + timeout
    while any(state != TCP_LISTEN for state in _tcp_states(server.pid)):
        if time.monotonic() > deadline:
            raise ScenarioError(Text(N_("teardown")), Text(N_("the server's connections in {where} did not close "
                                                              "within {seconds:g} s"), where=server.where,
                                                           seconds=timeout))
        time.sleep(0.02)


def _retransmitted_segments(pid: int) -> int:
    """Tcp RetransSegs of the namespace ``pid`` lives in (/proc/PID/net/snmp)."""
    lines = [line.split() for line in Path(f"/proc/{pid}/net/snmp").read_text().splitlines()
             if line.startswith("Tcp:")]
    header, values = lines[0], lines[1]
    return int(values[header.index("RetransSegs")])
