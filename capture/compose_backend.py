"""Backend `compose`: the same lab on Docker Compose (compose/reqresp.yml), for machines with Docker.

The sequence (every step an argument list to `docker compose`, run by an injectable runner):
1. ``up -d --build reqresp-server capture``: the server, and tcpdump in the server's network
   namespace writing ./captures/reqresp.pcap;
2. wait for tcpdump's "listening on" and the server's "Server listening on" in their logs;
3. ``run --rm --no-deps reqresp-client python -m lab.client ...``: the scenario's client session;
4. ``kill -s SIGINT capture``, wait for tcpdump's statistics in its log, read the server's log;
5. ``down --remove-orphans`` (always, also on error and Ctrl-C); move the pcap to ``--out``.
No Docker engine runs on the project's machines: this module is tested with a recorded runner, and
compose/reqresp.yml with `docker-compose config` (README says the backend is checked that far).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from capture.errors import ComposeError, MissingToolError, ScenarioError
from capture.names import check_output_path, give_to_invoking_user
from capture.processes import REPO_ROOT, OutputLine
from capture.result import CaptureResult
from capture.scenarios import Scenario, get_scenario
from capture.tcpdump import parse_stats

COMPOSE_FILE = REPO_ROOT / "compose" / "reqresp.yml"
CAPTURES_DIR = REPO_ROOT / "captures"
PROJECT = "reqresp"
BRIDGE = "br-reqresp"
SERVER, CLIENT, CAPTURE = "reqresp-server", "reqresp-client", "capture"
CONTAINER_PCAP = "reqresp.pcap"  # inside /captures, i.e. ./captures/reqresp.pcap on the host
READY_TIMEOUT = 60.0             # seconds (the first `up` may build the image: that is before this)
STATS_TIMEOUT = 15.0
SETTLE = 0.5
POLL = 0.5


@dataclass(frozen=True)
class CommandResult:
    returncode: int
    stdout: str
    stderr: str


Runner = Callable[[Sequence[str]], CommandResult]


def subprocess_runner(argv: Sequence[str]) -> CommandResult:
    """Run one command (argument list, no shell) and collect its output."""
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=1800, check=False)
    except FileNotFoundError as exc:
        raise MissingToolError(argv[0], "docker.io docker-compose") from exc
    return CommandResult(done.returncode, done.stdout, done.stderr)


def find_compose(runner: Runner = subprocess_runner) -> list[str]:
    """``docker compose`` (v2 plugin) if it works, else the standalone ``docker-compose``."""
    if shutil.which("docker"):
        try:
            if runner(["docker", "compose", "version"]).returncode == 0:
                return ["docker", "compose"]
        except MissingToolError:
            pass
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    raise MissingToolError("docker compose", "docker.io docker-compose")


def supported(scenario: Scenario) -> bool:
    """One client container, a server, no link conditions: what compose/reqresp.yml describes."""
    return scenario.run_server and scenario.client_hosts == 1 and scenario.loss is None


class ComposeLab:
    """The commands of one compose run. ``base`` is ``["docker", "compose"]`` or ``["docker-compose"]``."""

    def __init__(self, runner: Runner, base: Sequence[str], file: Path = COMPOSE_FILE,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic) -> None:
        self.runner, self.base, self.file = runner, list(base), file
        self.sleep, self.clock = sleep, clock

    def command(self, *args: str) -> list[str]:
        return [*self.base, "-f", str(self.file), "-p", PROJECT, *args]

    def step(self, name: str, *args: str) -> CommandResult:
        argv = self.command(*args)
        result = self.runner(argv)
        if result.returncode != 0:
            last = (result.stderr or result.stdout).strip().splitlines()
            hint = "; is the Docker engine running (docker info)?" if name == "up" else ""
            raise ComposeError(name, tuple(argv), f"exit status {result.returncode}"
                               + (f": {last[-1]}" if last else "") + hint)
        return result

    def logs(self, service: str) -> str:
        return self.step(f"logs {service}", "logs", "--no-color", "--no-log-prefix", service).stdout

    def wait_for_log(self, service: str, text: str, timeout: float) -> str:
        deadline = self.clock() + timeout
        while True:
            log = self.logs(service)
            if text in log:
                return log
            if self.clock() > deadline:
                raise ComposeError(f"wait for {service}", tuple(self.command("logs", service)),
                                   f"no '{text}' in its log within {timeout:g} s")
            self.sleep(POLL)


def run_compose(name: str, out: str | os.PathLike[str], runner: Runner | None = None,
                base: Sequence[str] | None = None, sleep: Callable[[float], None] = time.sleep,
                clock: Callable[[], float] = time.monotonic) -> CaptureResult:
    scenario = get_scenario(name)
    if not supported(scenario):
        raise ScenarioError(name, "needs the netns backend (several client hosts, no server, or link loss); "
                            "run it with --backend netns")
    path = check_output_path(out)
    run = runner or subprocess_runner
    lab = ComposeLab(run, base if base is not None else find_compose(run), sleep=sleep, clock=clock)
    CAPTURES_DIR.mkdir(exist_ok=True)
    t0 = clock()
    transcript: list[OutputLine] = []
    (program,) = scenario.clients
    lab.step("up", "up", "-d", "--build", SERVER, CAPTURE)
    try:
        lab.wait_for_log(CAPTURE, "listening on", READY_TIMEOUT)
        listening_since = clock()
        lab.wait_for_log(SERVER, "Server listening on", READY_TIMEOUT)
        client = lab.step("client", "run", "--rm", "--no-deps", CLIENT, "python", "-m", program.module, *program.args)
        transcript += [OutputLine(clock() - t0, "client", text) for text in client.stdout.splitlines()]
        sleep(SETTLE)
        lab.step("stop capture", "kill", "-s", "SIGINT", CAPTURE)
        capture_log = lab.wait_for_log(CAPTURE, "dropped by kernel", STATS_TIMEOUT)
        duration = clock() - listening_since
        server_log = lab.logs(SERVER)
    finally:
        lab.runner(lab.command("down", "--remove-orphans"))
    stats = parse_stats(capture_log, BRIDGE, str(path))
    transcript = [OutputLine(0.0, "server", text) for text in server_log.splitlines()] + transcript
    produced = CAPTURES_DIR / CONTAINER_PCAP
    if produced.resolve() != path.resolve():
        shutil.move(str(produced), str(path))
    give_to_invoking_user(path)
    return CaptureResult(scenario=scenario.name, backend="compose", pcap=path, packets=stats.captured,
                         dropped=stats.dropped, duration=duration, transcript=tuple(transcript))
