"""`python -m lab.client` as a real process against a real server on loopback."""
from __future__ import annotations

import os
import pty
import select
import socket
import subprocess
import sys
import time

from tests.lab.support.server import HOST, ROOT, ask


def _client(*args: str, stdin: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lab.client", *args], cwd=ROOT, input=stdin,
                          capture_output=True, text=True, timeout=timeout)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def test_scripted_keeps_the_command_line_order(start_server):
    """The capture's default scenario."""
    server = start_server()
    done = _client("--host", HOST, "--port", str(server.port), "-m", "Hello Server", "-m", "Apa kabar?",
                   "--vote", "A", "--vote", "b", "--vote", "A", "-m", "RESULTS", "-m", "bye")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "Received from server: Echo: Hello Server",
        "Received from server: Echo: Apa kabar?",
        "Received from server: VOTED A A=1 B=0 C=0",
        "Received from server: VOTED B A=1 B=1 C=0",
        "Received from server: VOTED A A=2 B=1 C=0",
        "Received from server: RESULTS A=2 B=1 C=0",
        "Received from server: Echo: bye",
    ]
    server_lines = [line for line in server.output().splitlines() if line.startswith("Received from client")]
    assert server_lines[0] == "Received from client: Hello Server"
    assert server_lines[2].startswith("Received from client: VOTE A id=")
    assert server_lines[-1] == "Received from client: bye"


def test_script_file_and_delay(start_server, tmp_path):
    server = start_server("--store", "memory")
    script = tmp_path / "talk.txt"
    script.write_text("halo\r\n\napa kabar?\nVOTE c\n")
    started = time.monotonic()
    done = _client("--host", HOST, "--port", str(server.port), "-m", "first", "--script", str(script),
                   "--delay", "0.1")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["Received from server: Echo: first", "Received from server: Echo: halo",
                                        "Received from server: Echo: apa kabar?",
                                        "Received from server: VOTED C A=0 B=0 C=1"]
    assert time.monotonic() - started >= 0.3


def test_missing_script_is_a_one_line_error(tmp_path):
    done = _client("--host", HOST, "--port", "9", "--script", str(tmp_path / "nope.txt"))
    assert done.returncode == 1
    assert done.stderr.startswith("lab.client: error: cannot read script") and done.stderr.count("\n") == 1


def test_no_server_gives_a_one_line_error_and_exit_1():
    port = _free_port()
    started = time.monotonic()
    done = _client("--host", HOST, "--port", str(port), "--retries", "2", "-m", "hi")
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert f"cannot reach server {HOST}:{port} after 3 attempt(s) (Connection refused)" in done.stderr
    assert time.monotonic() - started >= 0.2 + 0.4          # it backed off between attempts


def test_piped_stdin_is_read_line_by_line_with_the_course_prompts(start_server):
    server = start_server("--store", "memory")
    done = _client("--host", HOST, "--port", str(server.port), stdin="Hello Server\nApa kabar?\nbye\nnot sent\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout == ("Enter message: Received from server: Echo: Hello Server\n\n"
                           "Enter another message: Received from server: Echo: Apa kabar?\n\n"
                           "Enter another message: Received from server: Echo: bye\n")
    assert "not sent" not in server.output()


def _read_until(fd: int, wanted: bytes, seen: bytearray, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while wanted not in seen:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        assert ready, f"waited for {wanted!r}, have {bytes(seen)!r}"
        try:
            chunk = os.read(fd, 4096)
        except OSError:       # EIO: the child closed the terminal
            chunk = b""
        assert chunk, f"terminal closed before {wanted!r}; have {bytes(seen)!r}"
        seen += chunk


def test_interactive_on_a_terminal_shows_the_course_prompts_and_bye_closes(start_server):
    server = start_server("--store", "memory")
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "lab.client", "--host", HOST, "--port", str(server.port)],
                            cwd=ROOT, stdin=slave, stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    seen = bytearray()
    try:
        _read_until(master, b"Enter message: ", seen)
        os.write(master, b"Hello Server\n")
        _read_until(master, b"Enter another message: ", seen)
        os.write(master, b"bye\n")
        _read_until(master, b"Echo: bye", seen)
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    text = bytes(seen).decode().replace("\r\n", "\n")
    assert "Enter message: Hello Server\nReceived from server: Echo: Hello Server\n\nEnter another message: bye\n" \
           "Received from server: Echo: bye" in text
    # The client closed first; the server is still serving others.
    with server.connect() as s:
        assert ask(s, b"still up\n") == b"Echo: still up\n"


def test_client_sends_the_first_fin_after_bye():
    """Against a bare socket peer that never closes first: the client must end the connection."""
    with socket.socket() as listener:
        listener.bind((HOST, 0))
        listener.listen()
        proc = subprocess.Popen([sys.executable, "-m", "lab.client", "--host", HOST,
                                 "--port", str(listener.getsockname()[1]), "-m", "bye"],
                                cwd=ROOT, stdout=subprocess.PIPE, text=True)
        listener.settimeout(20)
        conn, _ = listener.accept()
        with conn:
            conn.settimeout(20)
            assert conn.recv(100) == b"bye\n"
            conn.sendall(b"Echo: bye\n")
            assert conn.recv(100) == b""            # the client's FIN, while we are still open
        out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0
    assert out == "Received from server: Echo: bye\n"
