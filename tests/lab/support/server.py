"""The lab server as a real subprocess (`python -m lab.server`) on a free loopback port, and the
socket helpers the lab tests talk to it with."""
from __future__ import annotations

import os
import re
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
HOST = "127.0.0.1"
_LISTENING = re.compile(r"Server listening on 127\.0\.0\.1:(\d+)")


class RunningServer:
    def __init__(self, proc: subprocess.Popen, out: Path, err: Path) -> None:
        self.proc, self.out_path, self.err_path = proc, out, err
        self.port = 0

    def output(self) -> str:
        return self.out_path.read_text(errors="replace")

    def errors(self) -> str:
        return self.err_path.read_text(errors="replace")

    def connect(self, timeout: float = 5.0) -> socket.socket:
        return socket.create_connection((HOST, self.port), timeout=timeout)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout)

    def kill9(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)


class ServerStarter:
    """start(*args, store=...) -> RunningServer, its output in tmp_path; close() kills every server
    it started (the `start_server` fixture's teardown)."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.started: list[RunningServer] = []
        self.pipes: list[int] = []

    def start(self, *args: str, store: str | None = None, stdout_pipe: bool = False,
              preexec_fn=None) -> RunningServer:
        """stdout_pipe: the server's stdout is a pipe (server.pipe, its read end) that the test reads
        only as far as the first line; preexec_fn runs in the child (e.g. to lower its limits)."""
        n = len(self.started)
        out, err = self.tmp_path / f"server{n}.out", self.tmp_path / f"server{n}.err"
        store = store or str(self.tmp_path / "votes.db")
        cmd = [sys.executable, "-m", "lab.server", "--host", HOST, "--port", "0", "--store", store, *args]
        pipe_r = pipe_w = None
        if stdout_pipe:
            pipe_r, pipe_w = os.pipe()
        with open(out, "wb") as fo, open(err, "wb") as fe:
            proc = subprocess.Popen(cmd, stdout=pipe_w if stdout_pipe else fo, stderr=fe, cwd=ROOT,
                                    env={**os.environ, "PYTHONPATH": str(ROOT)}, preexec_fn=preexec_fn)
        server = RunningServer(proc, out, err)
        self.started.append(server)
        if stdout_pipe:
            os.close(pipe_w)
            server.pipe = pipe_r
            self.pipes.append(pipe_r)
            first = b""
            while not first.endswith(b"\n") and select.select([pipe_r], [], [], 20)[0]:
                chunk = os.read(pipe_r, 1)   # one byte at a time: leave the rest in the pipe
                if not chunk:
                    break
                first += chunk
            m = _LISTENING.search(first.decode(errors="replace"))
            if not m:
                raise AssertionError(f"server did not report listening: {first!r} {server.errors()}")
            server.port = int(m.group(1))
            return server
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            m = _LISTENING.search(server.output())
            if m:
                server.port = int(m.group(1))
                return server
            if proc.poll() is not None:
                raise AssertionError(f"server exited with {proc.returncode}: {server.errors()}")
            time.sleep(0.02)
        raise AssertionError("server did not report listening within 20 s")

    def close(self) -> None:
        for server in self.started:
            if server.proc.poll() is None:
                server.proc.kill()
                server.proc.wait(10)
        for fd in self.pipes:
            os.close(fd)


def recv_line(sock: socket.socket) -> bytes:
    """Read one reply line (with its newline), or whatever came before EOF."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def ask(sock: socket.socket, message: bytes) -> bytes:
    sock.sendall(message)
    return recv_line(sock)


def recv_until_eof(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data
