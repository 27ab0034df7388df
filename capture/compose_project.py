"""The compose project `reqresp` (compose/reqresp.yml): its commands, its containers, its leftovers.

Every command is an argument list (no shell) given to a runner, so tests can record or replay them.
Lifecycle commands go through Compose (`docker compose` v2 where present, else Debian's
`docker-compose` v1), exactly as the course sheet types them; questions about one container
(its PID) go to `docker` itself. Names are fixed by the file: the containers are named after their
services, the network is ``reqresp_reqresp`` on the bridge ``br-reqresp``, and everything Compose
creates is labelled ``com.docker.compose.project=reqresp`` - which is what `clean` looks for.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from capture.errors import ComposeError, MissingToolError
from capture.interrupts import shielded
from capture.processes import REPO_ROOT
from capture.text import N_, Text

COMPOSE_FILE = REPO_ROOT / "compose" / "reqresp.yml"
BUILD_SCRIPT = REPO_ROOT / "scripts" / "build-image.sh"
PROJECT = "reqresp"
NETWORK = "reqresp_reqresp"
BRIDGE = "br-reqresp"
IMAGE = "reqresp-lab:latest"
PROJECT_LABEL = f"com.docker.compose.project={PROJECT}"
# topology host name (capture.scenarios) -> the compose service (= container name) it runs in
SERVICES = {"server": "reqresp-server", "client": "reqresp-client",
            "client2": "reqresp-client2", "client3": "reqresp-client3"}
PROFILES = {"client2": "multi", "client3": "multi"}  # services `up` starts only with --profile
ALL_PROFILES = tuple(sorted(set(PROFILES.values())))
COMMAND_TIMEOUT = 300.0  # seconds for one docker command (an `up` that creates the network: ~2 s)


@dataclass(frozen=True)
class CommandResult:
    returncode: int
    stdout: str
    stderr: str


Runner = Callable[[Sequence[str]], CommandResult]


def subprocess_runner(argv: Sequence[str]) -> CommandResult:
    """Run one command (argument list, no shell) and collect its output."""
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=COMMAND_TIMEOUT,
                              check=False, cwd=REPO_ROOT, stdin=subprocess.DEVNULL)
    except FileNotFoundError as exc:
        raise MissingToolError(argv[0], "docker.io docker-compose") from exc
    except subprocess.TimeoutExpired as exc:
        raise ComposeError(" ".join(argv[:3]), tuple(argv), Text(N_(
            "no answer within {seconds:g} s; is the Docker engine stuck (docker info)?"),
            seconds=COMMAND_TIMEOUT)) from exc
    return CommandResult(done.returncode, done.stdout, done.stderr)


def run_in_own_group(argv: Sequence[str], timeout: float = 1800.0) -> CommandResult:
    """Run a long command (the image build) in its own session. When we are interrupted (Ctrl-C,
    SIGTERM, a timeout), its whole process group gets SIGTERM and we wait for it, so the script's
    own cleanup (temporary rootfs, intermediate containers) runs before we go on."""
    try:
        proc = subprocess.Popen(list(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                stdin=subprocess.DEVNULL, cwd=REPO_ROOT, start_new_session=True)
    except FileNotFoundError as exc:
        raise MissingToolError(argv[0], "bash") from exc
    try:
        out, err = proc.communicate(timeout=timeout)
    except BaseException:
        with shielded():
            for sig, grace in ((signal.SIGTERM, 60.0), (signal.SIGKILL, 10.0)):
                try:
                    os.killpg(proc.pid, sig)
                    proc.wait(grace)
                    break
                except ProcessLookupError:
                    break
                except subprocess.TimeoutExpired:
                    continue
        raise
    return CommandResult(proc.returncode, out, err)


def find_compose(runner: Runner = subprocess_runner) -> list[str]:
    """``docker compose`` (v2 plugin) if it works, else the standalone ``docker-compose`` (v1)."""
    if shutil.which("docker") and runner(["docker", "compose", "version"]).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    raise MissingToolError("docker compose", "docker.io docker-compose")


def _last_line(result: CommandResult) -> str:
    lines = (result.stderr or result.stdout).strip().splitlines()
    return lines[-1] if lines else ""


def _failed(result: CommandResult, hint: str | Text = "") -> Text:
    """"exit status 1: <the command's last line>; <what to do>" (the command's words as they are)."""
    last = _last_line(result)
    status = (Text(N_("exit status {code}: {output}"), code=result.returncode, output=last) if last
              else Text(N_("exit status {code}"), code=result.returncode))
    return Text(N_("{status}; {hint}"), status=status, hint=hint) if hint else status


class ComposeProject:
    """The commands of project `reqresp`. ``base`` is ``["docker", "compose"]`` or ``["docker-compose"]``."""

    def __init__(self, base: Sequence[str], runner: Runner = subprocess_runner, file: Path = COMPOSE_FILE) -> None:
        self.base, self.runner, self.file = list(base), runner, file

    def command(self, *args: str, profiles: Sequence[str] = ()) -> list[str]:
        flags = [flag for profile in profiles for flag in ("--profile", profile)]
        return [*self.base, "-f", str(self.file), "-p", PROJECT, *flags, *args]

    def check(self, step: str | Text, argv: Sequence[str], hint: str | Text = "") -> CommandResult:
        result = self.runner(argv)
        if result.returncode != 0:
            raise ComposeError(step, tuple(argv), _failed(result, hint))
        return result

    def engine_answers(self) -> None:
        """Raise the one-line error that says how to start the engine when `docker info` fails."""
        self.check("docker info", ["docker", "info", "--format", "{{.ServerVersion}}"],
                   Text(N_("start the Docker engine (sudo scripts/dockerd.sh start, or systemctl start docker)")))

    def ensure_image(self) -> None:
        """Build reqresp-lab:latest unless it already holds the current sources (make image)."""
        argv = ["bash", str(BUILD_SCRIPT)]
        result = run_in_own_group(argv) if self.runner is subprocess_runner else self.runner(argv)
        if result.returncode != 0:
            raise ComposeError("image", tuple(argv), _failed(result, Text(N_("run make image to see the whole build"))))

    def up(self, hosts: Sequence[str]) -> None:
        """Create the network and the idle containers of ``hosts`` (topology host names)."""
        profiles = sorted({PROFILES[h] for h in hosts if h in PROFILES})
        self.check("up", self.command("up", "-d", "--no-build", *(SERVICES[h] for h in hosts), profiles=profiles),
                   Text(N_("is the Docker engine running (docker info)?")))

    def down(self) -> CommandResult:
        """Remove every container (of every profile) and the network; never raises on a failed down."""
        return self.runner(self.command("down", "--remove-orphans", "--timeout", "2", profiles=ALL_PROFILES))

    def exec_argv(self, host: str, *argv: str) -> list[str]:
        """`exec` without a TTY: the program's output comes back on a pipe, line by line."""
        return self.command("exec", "-T", SERVICES[host], *argv)

    def container_pid(self, host: str) -> int:
        """The host PID of the container's first process: its network namespace is the container's."""
        service = SERVICES[host]
        result = self.check(f"inspect {service}", ["docker", "inspect", "--format", "{{.State.Pid}}", service])
        pid = int(result.stdout.strip() or 0)
        if pid <= 0:
            raise ComposeError(f"inspect {service}", (service,), Text(N_("the container is not running")))
        return pid

    def signal_in(self, host: str, pid: int, signal_name: str = "TERM") -> None:
        """Send a signal to process ``pid`` (as the container sees it) inside ``host``'s container."""
        # kill is a shell builtin there (the image has no procps); pid is an int, nothing to quote.
        self.check(Text(N_("stop pid {pid} in {container}"), pid=pid, container=SERVICES[host]),
                   ["docker", "exec", SERVICES[host], "sh", "-c", f"kill -s {signal_name} {int(pid)}"])


@dataclass(frozen=True)
class Leftovers:
    containers: tuple[str, ...]
    networks: tuple[str, ...]


def project_leftovers(runner: Runner = subprocess_runner) -> Leftovers:
    """Containers and networks labelled com.docker.compose.project=reqresp (a killed run leaves them)."""
    ps = runner(["docker", "ps", "-a", "--filter", f"label={PROJECT_LABEL}", "--format", "{{.Names}}"])
    nets = runner(["docker", "network", "ls", "--filter", f"label={PROJECT_LABEL}", "--format", "{{.Name}}"])
    if ps.returncode != 0 or nets.returncode != 0:  # no engine: then there is nothing of ours either
        return Leftovers((), ())
    return Leftovers(tuple(sorted(ps.stdout.split())), tuple(sorted(nets.stdout.split())))


def remove_project(runner: Runner = subprocess_runner) -> tuple[Leftovers, list[str | Text]]:
    """Remove the project's leftover containers, then its networks. Returns (what was found, problems)."""
    if not shutil.which("docker"):
        return Leftovers((), ()), []
    found = project_leftovers(runner)
    problems: list[str | Text] = []
    for verb, names in ((["rm", "-f"], found.containers), (["network", "rm"], found.networks)):
        if names:
            result = runner(["docker", *verb, *names])
            if result.returncode != 0:
                last = _last_line(result)
                problems.append(f"{' '.join(names)}: {last}" if last else " ".join(names))
    return found, problems
