"""Real lab traffic on loopback for the analyzer's tests: capture.loopback (the helper the
benchmark uses too) with the clients the tests run. Only loopback traffic."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Callable

from capture.loopback import HOST, capture_loopback

REPO = Path(__file__).resolve().parents[3]


def capture_lab(out: Path, talk: Callable[[int], None]) -> Path:
    """Run the lab server, capture it on loopback while `talk(port)` runs, return the pcap."""
    return capture_loopback(out, talk).pcap


def lab_client(*args: str) -> Callable[[int], None]:
    """A `talk` function running the real lab client with these arguments."""
    def talk(port: int) -> None:
        subprocess.run([sys.executable, "-m", "lab.client", "--host", HOST, "--port", str(port),
                        *args], cwd=REPO, check=True, capture_output=True, timeout=30)
    return talk


def legacy_client(*messages: str) -> Callable[[int], None]:
    """The course's original client: `send(msg.encode())` with no newline, then `recv(1024)`."""
    def talk(port: int) -> None:
        with socket.create_connection((HOST, port), timeout=5) as sock:
            for message in messages:
                sock.sendall(message.encode())
                sock.recv(1024)
    return talk


def root() -> bool:
    return os.geteuid() == 0
