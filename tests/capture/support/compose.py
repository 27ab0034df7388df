"""Shared helpers for the compose tests on a live Docker engine: the marker, the image, leftovers,
and what our analyzer says a capture holds (for comparing the compose and netns captures)."""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections import defaultdict
from pathlib import Path

import pytest

from capture.compose_project import BUILD_SCRIPT, IMAGE, NETWORK, SERVICES, project_leftovers
from capture.compose_backend import NETNS_NAMES
from capture.nsutil import netns_path
from capture.topology import SERVER_IP, mac_for

ROOT = Path(__file__).resolve().parents[3]
COMPOSE_FILE = ROOT / "compose" / "reqresp.yml"


def _why_no_compose() -> str | None:
    if os.geteuid() != 0:
        return "needs root (tcpdump on br-reqresp, the containers' namespaces)"
    if shutil.which("docker") is None or shutil.which("docker-compose") is None:
        return "docker and docker-compose are not installed (make tools-test installs them)"
    if subprocess.run(["docker", "info"], capture_output=True, timeout=60).returncode != 0:
        return "no Docker engine answers (scripts/dockerd.sh start; .ci/run starts one)"
    return None


SKIP_REASON = _why_no_compose()
needs_compose = pytest.mark.skipif(SKIP_REASON is not None, reason=SKIP_REASON or "")
BUILD_SECONDS: list[float] = []  # how long the session's image build took (reported by the tests)


def build_image() -> float:
    """`make image` once per session (a warm call only compares the sources' hash): seconds taken."""
    t0 = time.monotonic()
    done = subprocess.run(["bash", str(BUILD_SCRIPT)], capture_output=True, text=True, timeout=1800, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    BUILD_SECONDS.append(time.monotonic() - t0)
    return BUILD_SECONDS[-1]


@pytest.fixture(scope="session")
def compose_image() -> str:
    build_image()
    return IMAGE


def docker(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check:
        assert done.returncode == 0, f"docker {' '.join(args)}: {done.stderr}"
    return done


def compose_leftovers() -> dict[str, list[str]]:
    """What a compose run may leave: project containers/networks, the fixed container names, lab-dock-*."""
    found = project_leftovers()
    names = docker("ps", "-a", "--format", "{{.Names}}").stdout.split()
    nets = docker("network", "ls", "--format", "{{.Name}}").stdout.split()
    return {
        "containers": sorted(set(found.containers) | {n for n in names if n in SERVICES.values()}),
        "networks": sorted(set(found.networks) | ({NETWORK} & set(nets))),
        "namespaces": sorted(n for n in NETNS_NAMES.values() if netns_path(n).exists()),
    }


def assert_no_compose_leftovers() -> None:
    left = compose_leftovers()
    assert left == {"containers": [], "networks": [], "namespaces": []}, f"compose leftovers: {left}"


def _client_of(frame) -> str:  # type: ignore[no-untyped-def]
    """Which client host a frame belongs to: the end that is not the server (IP, or MAC for ARP)."""
    server = {SERVER_IP, mac_for(SERVER_IP)}
    ends = [end for end in (frame.src, frame.dst) if end not in server and end != "ff:ff:ff:ff:ff:ff"]
    return ends[0] if ends else "server"


def sequences(pcap: Path) -> dict[str, list[tuple[str, str]]]:
    """Our analyzer's (phase, label) of every frame, per client host, in capture order.

    Per client because the clients of `multi` run at once: how their connections interleave is up to
    the scheduler, the order within each connection is not. MACs are Docker's 02:42 + IPv4 address,
    on both backends, so ARP frames of a client map to its IP.
    """
    from analysis import analyze

    by_mac = {mac_for(f"172.28.0.{i}"): f"172.28.0.{i}" for i in range(2, 10)}
    out: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for frame in analyze(str(pcap)).frames:
        client = _client_of(frame)
        out[by_mac.get(client, client)].append((frame.phase, frame.label))
    return dict(out)


def phases(seq: list[tuple[str, str]]) -> list[str]:
    """The phases in order, each run of one phase counted once: ['arp', 'handshake', 'data', 'teardown']."""
    runs: list[str] = []
    for phase, _ in seq:
        if not runs or runs[-1] != phase:
            runs.append(phase)
    return runs
