"""Real lab traffic on loopback, captured by tcpdump, for the analyzer's tests.

Starts `python -m lab.server` on 127.0.0.1 (a free port), tcpdump on `lo` filtered to that port,
runs a client (the lab's own, or a function speaking raw sockets like the course's original
client), and stops everything it started, by PID. Only loopback traffic.
"""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Iterator

REPO = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def _process(args: list[str], **kwargs) -> Iterator[subprocess.Popen]:
    proc = subprocess.Popen(args, cwd=REPO, **kwargs)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_for_line(stream, needle: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = stream.readline()
        if not line:
            break
        seen.append(line)
        if needle in line:
            return
    raise RuntimeError(f"did not see {needle!r} within {timeout}s; got {seen!r}")


def capture_lab(out: Path, talk: Callable[[int], None]) -> Path:
    """Run the lab server, capture it on loopback while `talk(port)` runs, return the pcap."""
    port = free_port()
    server_args = [sys.executable, "-m", "lab.server", "--host", "127.0.0.1", "--port", str(port),
                   "--store", "memory"]
    with _process(server_args, stdout=subprocess.PIPE, text=True) as server:
        _wait_for_line(server.stdout, "Server listening", 10)
        # -Z root: tcpdump would otherwise drop to its own user, who cannot write into tmp_path.
        # --immediate-mode: without it, packets still in the kernel ring buffer when tcpdump
        # gets SIGINT are counted but never written.
        dump_args = ["tcpdump", "-Z", "root", "--immediate-mode", "-i", "lo", "-U", "-s", "0", "-w", str(out),
                     "tcp", "port", str(port)]
        with _process(dump_args, stderr=subprocess.PIPE, text=True) as dump:
            _wait_for_line(dump.stderr, "listening on", 10)
            talk(port)
            time.sleep(0.3)                 # let the teardown's last ACK reach the capture
            dump.send_signal(signal.SIGINT)
            dump.wait(timeout=10)
    return out


def lab_client(*args: str) -> Callable[[int], None]:
    """A `talk` function running the real lab client with these arguments."""
    def talk(port: int) -> None:
        subprocess.run([sys.executable, "-m", "lab.client", "--host", "127.0.0.1", "--port", str(port),
                        *args], cwd=REPO, check=True, capture_output=True, timeout=30)
    return talk


def legacy_client(*messages: str) -> Callable[[int], None]:
    """The course's original client: `send(msg.encode())` with no newline, then `recv(1024)`."""
    def talk(port: int) -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            for message in messages:
                sock.sendall(message.encode())
                sock.recv(1024)
    return talk


def root() -> bool:
    return os.geteuid() == 0
