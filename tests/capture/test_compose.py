"""The compose backend's files and commands, without an engine: the compose file as Compose reads it,
the Dockerfile, the course's entry points (run here on loopback), the command lines.

The live runs are in test_compose_scenarios.py, test_compose_sheet.py and test_compose_cleanup.py.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Sequence

import pytest

from capture import compose_backend
from capture.compose_project import COMPOSE_FILE, CommandResult, ComposeProject
from capture.errors import ComposeError

ROOT = Path(__file__).resolve().parents[2]
import yaml  # noqa: E402  (PyYAML: the test extra)


@pytest.fixture(scope="module")
def config() -> dict:  # type: ignore[type-arg]
    """The file as Debian's docker-compose resolves it (all profiles), else as plain YAML."""
    exe = shutil.which("docker-compose")
    if exe is None:
        return yaml.safe_load(COMPOSE_FILE.read_text())
    done = subprocess.run([exe, "-f", str(COMPOSE_FILE), "--profile", "multi", "config"], capture_output=True,
                          text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return yaml.safe_load(done.stdout)


def test_the_course_services_are_idle_on_an_internal_network_without_ipv6(config) -> None:  # type: ignore[no-untyped-def]
    services = config["services"]
    assert set(services) == {"reqresp-server", "reqresp-client", "reqresp-client2", "reqresp-client3"}
    addresses = {name: s["networks"]["reqresp"]["ipv4_address"] for name, s in services.items()}
    assert addresses == {"reqresp-server": "172.28.0.2", "reqresp-client": "172.28.0.3",
                         "reqresp-client2": "172.28.0.4", "reqresp-client3": "172.28.0.5"}
    for name, service in services.items():
        assert service["container_name"] == name
        assert service["command"] == ["sleep", "infinity"], "idle: the course starts the programs with exec"
        assert str(service["sysctls"]["net.ipv6.conf.all.disable_ipv6"]) == "1"
        assert service["image"] == "reqresp-lab:latest"
    assert services["reqresp-client2"]["profiles"] == services["reqresp-client3"]["profiles"] == ["multi"]
    assert "profiles" not in services["reqresp-server"] and "profiles" not in services["reqresp-client"]
    net = config["networks"]["reqresp"]
    assert net["internal"] is True, "no route out of the lab"
    assert net["driver_opts"]["com.docker.network.bridge.name"] == "br-reqresp"
    assert net["ipam"]["config"][0]["subnet"] == "172.28.0.0/24"
    assert net["name"] == "reqresp_reqresp"
    assert "COMPOSE_PROJECT_NAME=reqresp" in (ROOT / "compose" / ".env").read_text().splitlines()


def test_the_dockerfile_holds_the_lab_and_tcpdump_not_the_analyzer() -> None:
    text = (ROOT / "compose" / "Dockerfile").read_text()
    assert re.search(r"^ARG BASE=python:3\.11-slim$", text, re.M) and "FROM ${BASE}" in text
    assert "pip install" not in text and "analysis" not in text.replace("analyzer", "")
    for copied in ("COPY lab ./lab", "COPY compose/server.py compose/client.py ./", "COPY capture/peers"):
        assert copied in text
    assert 'CMD ["sleep", "infinity"]' in text
    rules = [line for line in (ROOT / ".dockerignore").read_text().splitlines() if line and line[0] != "#"]
    assert rules[0] == "*", "the build context is only what the image needs (no .venv)"
    assert not any(".venv" in rule or "analysis" in rule for rule in rules if rule.startswith("!"))


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")


def test_the_course_entry_points_are_the_lab_with_its_defaults(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`python server.py` and `python client.py` as in the containers (here on loopback)."""
    server = subprocess.Popen([sys.executable, str(ROOT / "compose" / "server.py"), "--host", "127.0.0.1",
                               "--port", "0", "--store", "memory"], stdout=subprocess.PIPE, text=True,
                              env=_env(), cwd=tmp_path)
    try:
        assert server.stdout is not None
        first = server.stdout.readline()
        port = re.fullmatch(r"Server listening on 127\.0\.0\.1:(\d+)\n", first)
        assert port, first
        client = subprocess.run([sys.executable, str(ROOT / "compose" / "client.py"), "--host", "127.0.0.1",
                                 "--port", port.group(1)], input="Hello Server\nbye\n", capture_output=True,
                                text=True, env=_env(), timeout=60, cwd=tmp_path)
        assert client.returncode == 0, client.stderr
        assert client.stdout.startswith("Enter message: Received from server: Echo: Hello Server\n")
        assert "Enter another message: Received from server: Echo: bye" in client.stdout
    finally:
        server.terminate()
        server.wait(30)
    defaults = subprocess.run([sys.executable, "-c", "import lab.client as c, lab.server as s; "
                               "print(c.build_parser().parse_args([]).host, s.build_parser().parse_args([]).port)"],
                              capture_output=True, text=True, env=_env(), timeout=60)
    assert defaults.stdout.split() == ["reqresp-server", "2222"]


def test_commands_name_the_file_the_project_and_the_profiles() -> None:
    recorded: list[list[str]] = []

    def runner(argv: Sequence[str]) -> CommandResult:
        recorded.append(list(argv))
        return CommandResult(0, "", "")

    project = ComposeProject(["docker-compose"], runner)
    project.up(["server", "client", "client2", "client3"])
    project.up(["server", "client"])
    project.down()
    base = ["docker-compose", "-f", str(COMPOSE_FILE), "-p", "reqresp"]
    assert recorded[0] == [*base, "--profile", "multi", "up", "-d", "--no-build", "reqresp-server",
                           "reqresp-client", "reqresp-client2", "reqresp-client3"]
    assert recorded[1] == [*base, "up", "-d", "--no-build", "reqresp-server", "reqresp-client"]
    assert recorded[2] == [*base, "--profile", "multi", "down", "--remove-orphans", "--timeout", "2"]
    assert project.exec_argv("client2", "python", "-m", "lab.client") == [
        *base, "exec", "-T", "reqresp-client2", "python", "-m", "lab.client"]


def test_a_failing_step_is_one_line_with_the_command_and_a_hint() -> None:
    project = ComposeProject(["docker-compose"], lambda argv: CommandResult(1, "", "boom\nno such image\n"))
    with pytest.raises(ComposeError, match=r"^compose backend, step 'up' \(docker-compose .* up -d .*\): exit "
                                           r"status 1: no such image; is the Docker engine running"):
        project.up(["server"])


def test_the_compose_backend_says_it_needs_root(monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(ComposeError, match=r"needs? .*root|run it with sudo \(sudo make capture BACKEND=compose\)"):
        compose_backend.run_compose("default", tmp_path / "x.pcap")
