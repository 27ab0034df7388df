"""The course sheet, verbatim, in terminals (pexpect gives each program a TTY, as a student's has).

    docker compose -f compose/reqresp.yml up -d
    docker compose -f compose/reqresp.yml exec reqresp-server python server.py
    docker compose -f compose/reqresp.yml exec reqresp-client python client.py     (typing messages)
    sudo tcpdump -nvi br-reqresp -w reqresp.pcap
    docker compose -f compose/reqresp.yml down

With `docker compose` (v2) where its plugin is installed, and Debian's `docker-compose` (v1).
"""
from __future__ import annotations

import re
import shutil
import subprocess

import pexpect
import pytest

from tests.capture.support.compose import (ROOT, assert_no_compose_leftovers, compose_image, docker,
                                           needs_compose, sequences)

pytestmark = [needs_compose, pytest.mark.root, pytest.mark.slow]
__all__ = ["compose_image"]
TIMEOUT = 60  # seconds for any one line (the machine is shared; a line normally takes well under 1 s)


def _v2_works() -> bool:
    return shutil.which("docker") is not None and subprocess.run(
        ["docker", "compose", "version"], capture_output=True, timeout=60).returncode == 0


COMPOSES = [
    pytest.param(["docker", "compose"], id="docker-compose-v2",
                 marks=pytest.mark.skipif(not _v2_works(), reason="the docker compose v2 plugin is not installed")),
    pytest.param(["docker-compose"], id="docker-compose-v1"),
]


# ARP request and reply, 3 of the handshake, 3 requests and 3 replies, FIN, FIN, ACK
MIN_FRAMES = 14


def _wait_for_count(tcpdump: pexpect.spawn, count: int) -> None:
    seen = 0
    while seen < count:
        tcpdump.expect(r"Got (\d+)")
        seen = int(tcpdump.match.group(1))


def _spawn(argv: list[str], cwd: str = str(ROOT)) -> pexpect.spawn:
    return pexpect.spawn(argv[0], argv[1:], cwd=cwd, timeout=TIMEOUT, encoding="utf-8", dimensions=(50, 200))


@pytest.mark.parametrize("compose", COMPOSES)
def test_the_course_sheet_as_written(compose: list[str], compose_image, tmp_path) -> None:  # type: ignore[no-untyped-def]
    sheet = [*compose, "-f", "compose/reqresp.yml"]
    spawned: list[pexpect.spawn] = []
    try:
        # 1. up -d: both containers run, idle (nothing listens yet, so server.py can take 2222).
        up = subprocess.run([*sheet, "up", "-d"], cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert up.returncode == 0, up.stderr
        for name in ("reqresp-server", "reqresp-client"):
            state = docker("inspect", "-f", "{{.State.Running}} {{.Config.Cmd}}", name).stdout.strip()
            assert state == "true [sleep infinity]", f"{name}: {state}"
        assert docker("network", "inspect", "-f", "{{.Internal}}", "reqresp_reqresp").stdout.strip() == "true"

        # 2. the server, in its own terminal.
        server = _spawn([*sheet, "exec", "reqresp-server", "python", "server.py"])
        spawned.append(server)
        server.expect_exact("Server listening on 0.0.0.0:2222")

        # 4. tcpdump on the host's bridge (started before the client talks, as a student would).
        pcap = tmp_path / "reqresp.pcap"
        tcpdump = _spawn(["tcpdump", "-nvi", "br-reqresp", "-w", "reqresp.pcap"], cwd=str(tmp_path))
        spawned.append(tcpdump)
        tcpdump.expect_exact("listening on br-reqresp")

        # 3. the client, typing.
        client = _spawn([*sheet, "exec", "reqresp-client", "python", "client.py"])
        spawned.append(client)
        client.expect_exact("Enter message: ")
        client.sendline("Hello Server")
        client.expect_exact("Received from server: Echo: Hello Server")
        server.expect(r"Connection from: \('172\.28\.0\.3', \d+\)")
        server.expect_exact("Received from client: Hello Server")
        client.expect_exact("Enter another message: ")
        client.sendline("Apa kabar?")
        client.expect_exact("Received from server: Echo: Apa kabar?")
        server.expect_exact("Received from client: Apa kabar?")
        client.expect_exact("Enter another message: ")
        client.sendline("bye")
        client.expect_exact("Received from server: Echo: bye")
        client.expect(pexpect.EOF)
        server.expect_exact("Received from client: bye")

        # tcpdump -v -w shows "Got N" while it writes; a student presses Ctrl-C once the session is in
        # (earlier, frames still in the kernel's buffer would be lost: "received by filter", not captured).
        _wait_for_count(tcpdump, MIN_FRAMES)
        tcpdump.kill(2)  # Ctrl-C
        tcpdump.expect(r"(\d+) packets? captured")
        tcpdump.expect(pexpect.EOF)
        server.sendintr()  # Ctrl-C in the server's terminal reaches server.py through the TTY
        server.expect(pexpect.EOF)

        # The capture tells the course's story: ARP, handshake, data both ways, FIN teardown.
        frames = [frame for seq in sequences(pcap).values() for frame in seq]
        labels = {label for _, label in frames}
        assert {"arp-request", "arp-reply", "syn", "syn-ack", "handshake-ack", "data", "fin"} <= labels
        assert [p for p in ("arp", "handshake", "data", "teardown") if p in {ph for ph, _ in frames}] == [
            "arp", "handshake", "data", "teardown"]
    finally:
        for child in spawned:
            child.close(force=True)
        # 5. down: containers and network are gone.
        down = subprocess.run([*sheet, "down"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert down.returncode == 0, down.stderr
    assert re.search(r"Remov\w+ network reqresp_reqresp|Network reqresp_reqresp\s+Removed", down.stderr + down.stdout)
    assert_no_compose_leftovers()
