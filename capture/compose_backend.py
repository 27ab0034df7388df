"""Backend `compose`: the lab in the containers of compose/reqresp.yml, captured on its bridge.

The same file the course sheet uses, driven the way the sheet drives it (README, "The course's way"):
1. the image is built if its sources changed (scripts/build-image.sh, i.e. `make image`);
2. ``up -d`` of the idle containers the scenario needs (``--profile multi`` adds client2/3), inside
   the ``try``: a failed ``up`` is still followed by ``down``;
3. each container's network namespace is attached as ``lab-dock-*`` (the names contract, so
   `python -m capture clean` removes it after a SIGKILL); there we turn offloads off (correct
   checksums, wire-sized segments in the capture, as on netns) and, for `lossy`, add the same
   nftables receive-loss rule as netns (capture.loss) in the client's namespace;
4. tcpdump on the host bridge br-reqresp (the sheet's ``tcpdump -i br-reqresp``), confirmed
   listening before any container speaks, so their fresh ARP caches show up first;
5. ``exec -T reqresp-server python -m lab.server ...``, then ``exec`` of each client program in its
   own container; after they exit, the same teardown wait as netns, SIGTERM to the server, SIGINT
   to tcpdump;
6. ``down`` always (error, Ctrl-C, SIGTERM), then the pcap, written under a temporary name, is
   renamed to ``--out`` only if the run succeeded.
Root is needed (tcpdump on the host's bridge, setns into the containers), as for netns.
"""
from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path
from types import SimpleNamespace

from pyroute2 import netns as pyroute2_netns

from capture.compose_project import (BRIDGE, SERVICES, CommandResult, ComposeProject, Runner, find_compose,
                                     subprocess_runner)
from capture.errors import (ROOT_NAMESPACE, STILL_PRESENT, ComposeError, LabProcessError, NetworkSetupError,
                            ScenarioError, exited_on_sigterm)
from capture.interrupts import shielded
from capture.loss import add_receive_loss
from capture.names import check_kernel_name, check_output_path, give_to_invoking_user
from capture.netns_backend import remove_netns
from capture.nsutil import disable_ipv6, disable_offloads, in_netns, netns_path
from capture.processes import LabProcess, ProcessGroup
from capture.result import CaptureResult
from capture.runner import (CLIENT_TIMEOUT, MAX_HOLD, SERVER_READY_TIMEOUT, SETTLE, _check_totals, _retransmitted_segments,
                            _wait_connections_closed, hold_out_of_range)
from capture.scenarios import PORT, Scenario, get_scenario
from capture.sessions import run_attempts, wait_for_clients
from capture.state import RunState, lab_lock
from capture.tcpdump import find_tcpdump, parse_stats
from capture.text import N_, Text

# topology host -> the name its container's network namespace is attached under (lab-, <= 15 chars)
NETNS_NAMES = {"server": "lab-dock-srv", "client": "lab-dock-cli", "client2": "lab-dock-cli2",
               "client3": "lab-dock-cli3"}
CONTAINER_IFNAME = "eth0"
SERVER_STOP_TIMEOUT = 10.0
_PID_LINE = re.compile(r"^pid (\d+)$")
# `exec` gives no PID back: the shell prints its own, then becomes the server (exec keeps the PID).
_ANNOUNCE_PID = 'echo "pid $$"; exec "$@"'


def compose_down_problem(down: CommandResult) -> Text:
    """What a failed `down` left, for the teardown's error (Compose's own last words)."""
    return Text(N_("compose project reqresp ({output})"), output=(down.stderr or down.stdout).strip()[-200:])


def check_root() -> None:
    if os.geteuid() != 0:
        raise ComposeError("root", ("id", "-u"), Text(N_(
            "running as uid {uid}; the compose backend captures on the host bridge {bridge} and enters the "
            "containers' network namespaces: run it with sudo (sudo make capture BACKEND=compose)"),
            uid=os.getuid(), bridge=BRIDGE))


def run_compose(name: str, out: str | os.PathLike[str], runner: Runner | None = None,
                hold: float = 0.0) -> CaptureResult:
    """Run scenario ``name`` in the compose project and write the capture to ``out``.

    ``hold``: seconds to keep the lab up (tcpdump and server listening) before the clients start,
    to look around (docker compose -f compose/reqresp.yml exec reqresp-client ip addr).
    """
    scenario = get_scenario(name)
    if not 0 <= hold <= MAX_HOLD:
        raise ScenarioError(name, hold_out_of_range(hold))
    check_root()
    path = check_output_path(out)
    tcpdump = find_tcpdump()
    run = runner or subprocess_runner
    project = ComposeProject(find_compose(run), run)
    project.engine_answers()
    project.ensure_image()
    with lab_lock():  # one run at a time owns the lab- names (and the reqresp project)
        result = run_attempts(scenario, lambda attempt: _run_once(project, scenario, path, attempt, tcpdump, hold))
    give_to_invoking_user(path)
    return result


def _hosts(scenario: Scenario) -> list[str]:
    """The containers a scenario needs: always the server's (for `refused`, its kernel sends the RST)."""
    return ["server", *dict.fromkeys(program.host for program in scenario.clients)]


def _attach(host: str, pid: int, attached: list[str]) -> None:
    """Name the container's network namespace ``lab-dock-*``; inside it, turn offloads off.

    The name goes into ``attached`` (what teardown removes) before the namespace exists: a signal
    that lands between the two (SIGINT during disable_offloads) must not leave it behind.
    """
    name = check_kernel_name(NETNS_NAMES[host], "namespace")
    if netns_path(name).exists():
        raise NetworkSetupError(name, Text(N_("attach")), Text(N_("already exists (left by an earlier run?)")))
    attached.append(name)
    try:
        pyroute2_netns.attach(name, pid)
    except OSError as exc:
        raise NetworkSetupError(name, Text(N_("attach the namespace of pid {pid}"), pid=pid), exc) from exc
    in_netns(name, lambda: disable_offloads(CONTAINER_IFNAME, f"{SERVICES[host]} ({name})"))


def _start_tcpdump(tcpdump: str, tmp: Path, group: ProcessGroup) -> LabProcess:
    """tcpdump -i br-reqresp with the netns backend's options (see capture.tcpdump.tcpdump_argv).

    One difference: the filter leaves out frames the host itself sends on the bridge. Docker gives
    br-reqresp an address and multicast snooping, so the host sends IGMP reports there (for about a
    second after `up`, some of them into a capture that starts at once); the lab's containers never
    talk to the host (internal network), so every lab frame passes.
    """
    mac = Path(f"/sys/class/net/{BRIDGE}/address").read_text().strip()
    argv = [tcpdump, "-i", BRIDGE, "-U", "-s", "0", "-n", "--immediate-mode", "-Z", "root", "-w", str(tmp),
            "not", "ether", "src", mac]
    process = group.start("tcpdump", argv)   # fork and record: one step no signal splits
    try:
        process.wait_for_line(r"listening on " + re.escape(BRIDGE), 10.0)
    except BaseException:
        process.stop(signal.SIGKILL)
        raise
    return process


def _exec(project: ComposeProject, group: ProcessGroup, role: str, host: str, argv: list[str]) -> LabProcess:
    process = group.start(role, project.exec_argv(host, *argv))
    process.where = Text(N_("container {name}"), name=SERVICES[host])
    return process


def _run_once(project: ComposeProject, scenario: Scenario, out: Path, attempt: int, tcpdump: str,
              hold: float) -> CaptureResult:
    hosts = _hosts(scenario)
    state = RunState.create()
    t0 = time.monotonic()
    tmp = out.with_name(f".{out.name}.{os.getpid()}.partial")
    group = ProcessGroup(state, t0)
    attached: list[str] = []
    capture: LabProcess | None = None
    server: LabProcess | None = None
    done = False
    try:
        project.up(hosts)
        # The host side of the bridge is the one IPv6 speaker left (the containers have it off): no
        # DAD and MLD from it. Off for this bridge only, as netns does for lab-br0.
        disable_ipv6(BRIDGE, ROOT_NAMESPACE)
        pids = {host: project.container_pid(host) for host in hosts}
        for host in hosts:
            _attach(host, pids[host], attached)
        if scenario.loss is not None:
            add_receive_loss(NETNS_NAMES["client"], scenario.loss)
        capture = _start_tcpdump(tcpdump, tmp, group)
        listening_since = time.monotonic()
        if scenario.run_server:
            server = _exec(project, group, "server", "server",
                           ["sh", "-c", _ANNOUNCE_PID, "sh", "python", "-m", "lab.server",
                            "--host", "0.0.0.0", "--port", str(PORT), *scenario.server_args])
            server.wait_for_line(r"Server listening on", SERVER_READY_TIMEOUT)
        time.sleep(hold)
        clients = [_exec(project, group, program.host, program.host, ["python", "-m", program.module, *program.args])
                   for program in scenario.clients]
        wait_for_clients(clients, CLIENT_TIMEOUT)
        retransmissions = None
        if server is not None:
            # The container's first process shares its network namespace: its /proc/PID/net is the server's.
            _wait_connections_closed(SimpleNamespace(pid=pids["server"], where=server.where))
            retransmissions = _retransmitted_segments(pids["server"])
        time.sleep(SETTLE)
        if server is not None:
            _stop_server(project, server)
        capture.stop(signal.SIGINT, grace=5.0)
        stats = parse_stats(capture.output(), BRIDGE, str(out))
        duration = time.monotonic() - listening_since
        done = True
    finally:
        with shielded():  # a Ctrl-C now waits until the project is down
            for process in reversed(group.members):
                if process is not capture:
                    process.stop(grace=2.0)
            if capture is not None and capture.running:
                capture.stop(signal.SIGKILL)
            problems = [problem for name in attached for problem in remove_netns(name)]
            down = project.down()
            state.close()
            if not done:
                tmp.unlink(missing_ok=True)
        if down.returncode != 0:
            problems.append(compose_down_problem(down))
        if problems:
            tmp.unlink(missing_ok=True)
            raise NetworkSetupError(problems, *STILL_PRESENT)
    tmp.replace(out)
    transcript = tuple(sorted((line for p in group.members if p is not capture for line in p.lines
                               if not (p is server and _PID_LINE.match(line.text))), key=lambda line: line.t))
    return CaptureResult(
        scenario=scenario.name, backend="compose", pcap=out, packets=stats.captured, dropped=stats.dropped,
        duration=duration, transcript=transcript, attempts=attempt, retransmissions=retransmissions,
        totals=_check_totals(scenario, transcript),
    )


def _stop_server(project: ComposeProject, server: LabProcess) -> None:
    """SIGTERM to the server inside its container (by the PID it announced); it must exit with 0."""
    announced = next((m for line in server.lines if (m := _PID_LINE.match(line.text))), None)
    if announced is None:
        raise LabProcessError("server", server.where, Text(N_("did not announce its PID")), server.output())
    project.signal_in("server", int(announced.group(1)))
    code = server.wait(SERVER_STOP_TIMEOUT)
    if code != 0:
        raise LabProcessError("server", server.where, exited_on_sigterm(code), server.output())
