"""The compose backend: the file (docker-compose config) and the command sequence (recorded runner).

No Docker engine runs on the project's machines, so this is as far as the backend is checked.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Sequence

import pytest

from capture import compose_backend
from capture.compose_backend import COMPOSE_FILE, CommandResult, ComposeLab, run_compose
from capture.errors import ComposeError, ScenarioError

ROOT = Path(__file__).resolve().parents[2]


def _config() -> dict:  # type: ignore[type-arg]
    """The file as docker-compose resolves it (Debian's docker-compose), else parsed as YAML."""
    exe = shutil.which("docker-compose")
    if exe is None:
        yaml = pytest.importorskip("yaml")
        return yaml.safe_load(COMPOSE_FILE.read_text())
    done = subprocess.run([exe, "-f", str(COMPOSE_FILE), "config"], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    try:
        import yaml
    except ImportError:  # docker-compose validated it; check the text of its output
        return {"_text": done.stdout}
    return yaml.safe_load(done.stdout)


def test_compose_file_is_valid_and_has_the_course_services() -> None:
    config = _config()
    if "_text" in config:
        text = config["_text"]
        for needle in ("reqresp-server:", "reqresp-client:", "capture:", "com.docker.network.bridge.name: br-reqresp",
                       "subnet: 172.28.0.0/24", "ipv4_address: 172.28.0.2", "ipv4_address: 172.28.0.3",
                       "network_mode: service:reqresp-server", "/captures"):
            assert needle in text, needle
        return
    services = config["services"]
    assert set(services) == {"reqresp-server", "reqresp-client", "capture"}
    net = config["networks"]["reqresp"]
    assert net["driver_opts"]["com.docker.network.bridge.name"] == "br-reqresp"
    assert net["ipam"]["config"][0]["subnet"] == "172.28.0.0/24"
    assert services["reqresp-server"]["networks"]["reqresp"]["ipv4_address"] == "172.28.0.2"
    assert services["reqresp-client"]["networks"]["reqresp"]["ipv4_address"] == "172.28.0.3"
    assert services["capture"]["network_mode"] == "service:reqresp-server"
    assert services["capture"]["command"][0] == "tcpdump"


def test_dockerfile_installs_this_project_and_tcpdump() -> None:
    text = (ROOT / "compose" / "Dockerfile").read_text()
    assert "pip install" in text and "tcpdump" in text
    for package in ("lab", "capture", "pyproject.toml"):
        assert f"COPY {package}" in text


class RecordedDocker:
    """Answers `docker compose` commands like a working engine would, and records them."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.commands: list[list[str]] = []
        self.fail_on = fail_on
        self.captured = False

    def __call__(self, argv: Sequence[str]) -> CommandResult:
        argv = list(argv)
        self.commands.append(argv)
        verb = argv[argv.index("-p") + 2]  # docker compose -f FILE -p PROJECT <verb> ...
        if self.fail_on == verb:
            return CommandResult(1, "", f"{verb} went wrong")
        if verb == "logs" and argv[-1] == "capture":
            tail = "24 packets captured\n24 packets received by filter\n0 packets dropped by kernel\n"
            return CommandResult(0, "tcpdump: listening on eth0, link-type EN10MB\n" + (tail if self.captured else ""), "")
        if verb == "logs":
            return CommandResult(0, "Server listening on 0.0.0.0:2222\nReceived from client: Hello Server\n", "")
        if verb == "run":
            return CommandResult(0, "Received from server: Echo: Hello Server\n", "")
        if verb == "kill":
            self.captured = True
            (compose_backend.CAPTURES_DIR / compose_backend.CONTAINER_PCAP).write_bytes(b"pcap")
        return CommandResult(0, "", "")


@pytest.fixture()
def captures_dir(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(compose_backend, "CAPTURES_DIR", tmp_path / "captures")
    return tmp_path


def test_compose_run_is_up_wait_client_stop_down(captures_dir) -> None:  # type: ignore[no-untyped-def]
    docker = RecordedDocker()
    out = captures_dir / "out.pcap"
    result = run_compose("echo", out, runner=docker, base=["docker", "compose"], sleep=lambda s: None)
    verbs = [cmd[6:] for cmd in docker.commands]
    assert all(cmd[:6] == ["docker", "compose", "-f", str(COMPOSE_FILE), "-p", "reqresp"] for cmd in docker.commands)
    assert verbs[0] == ["up", "-d", "--build", "reqresp-server", "capture"]
    run = next(v for v in verbs if v[0] == "run")
    assert run[:4] == ["run", "--rm", "--no-deps", "reqresp-client"]
    assert run[4:7] == ["python", "-m", "lab.client"] and "Hello Server" in run
    order = [v[0] for v in verbs]
    assert order.index("run") < order.index("kill") < order.index("down") == len(order) - 1
    assert ["kill", "-s", "SIGINT", "capture"] in verbs
    assert (result.packets, result.dropped, result.backend) == (24, 0, "compose")
    assert result.lines("client") == ("Received from server: Echo: Hello Server",)
    assert out.read_bytes() == b"pcap"


def test_compose_failure_still_brings_the_lab_down(captures_dir) -> None:  # type: ignore[no-untyped-def]
    docker = RecordedDocker(fail_on="run")
    with pytest.raises(ComposeError, match="step 'client'.*run went wrong"):
        run_compose("default", captures_dir / "out.pcap", runner=docker, base=["docker-compose"],
                    sleep=lambda s: None)
    assert docker.commands[-1][-2:] == ["down", "--remove-orphans"]


def test_compose_wait_gives_up_with_a_clear_error(captures_dir) -> None:  # type: ignore[no-untyped-def]
    now = [0.0]

    def clock() -> float:
        now[0] += 10.0
        return now[0]

    lab = ComposeLab(lambda argv: CommandResult(0, "nothing yet", ""), ["docker", "compose"],
                     sleep=lambda s: None, clock=clock)
    with pytest.raises(ComposeError, match="no 'listening on' in its log within 30 s"):
        lab.wait_for_log("capture", "listening on", 30)


@pytest.mark.parametrize("scenario", ["multi", "refused", "lossy"])
def test_scenarios_that_need_netns_say_so(scenario: str, captures_dir) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ScenarioError, match="--backend netns"):
        run_compose(scenario, captures_dir / "x.pcap", runner=RecordedDocker(), base=["docker", "compose"])
