"""The server as a real process on loopback: course compatibility, protocol, bad input, limits, stop."""
from __future__ import annotations

import asyncio
import resource
import signal
import socket
import time

import pytest

from tests.lab.support.server import HOST, ask, recv_line, recv_until_eof


def test_prints_the_course_lines(start_server):
    server = start_server()
    with server.connect() as s:
        assert ask(s, b"Hello Server\n") == b"Echo: Hello Server\n"
        peer = s.getsockname()
    assert server.stop() == 0
    out = server.output().splitlines()
    assert out[0] == f"Server listening on 127.0.0.1:{server.port}"
    assert f"Connection from: ('127.0.0.1', {peer[1]})" in out
    assert "Received from client: Hello Server" in out


def test_course_client_without_newline_gets_its_echo(start_server):
    """The course's client: sock.send(msg.encode()), then recv(1024), on one connection."""
    server = start_server("--store", "memory")
    with server.connect() as s:
        for msg in ["Hello Server", "Apa kabar?", "bye"]:
            s.send(msg.encode())
            assert s.recv(1024) == f"Echo: {msg}\n".encode()


def test_crlf_and_pipelined_messages_are_answered_in_order(start_server):
    server = start_server()
    with server.connect() as s:
        s.sendall(b"hi\r\nVOTE a\r\nvote B id=p1\nRESULTS\nVOTE b id=p1\nVOTE D\nbye\n")
        expected = (b"Echo: hi\nVOTED A A=1 B=0 C=0\nVOTED B A=1 B=1 C=0\nRESULTS A=1 B=1 C=0\n"
                    b"VOTED B A=1 B=1 C=0\nERROR unknown option 'D' (options: A, B, C)\nEcho: bye\n")
        got = b""
        while len(got) < len(expected):
            got += s.recv(65536)
        assert got == expected


def test_custom_options(start_server):
    server = start_server("--options", "yes,no", "--store", "memory")
    with server.connect() as s:
        assert ask(s, b"vote YES\n") == b"VOTED yes yes=1 no=0\n"
        assert ask(s, b"VOTE A\n") == b"ERROR unknown option 'A' (options: yes, no)\n"


def test_invalid_utf8_gets_an_error_and_the_connection_stays_open(start_server):
    server = start_server("--store", "memory")
    with server.connect() as s:
        assert ask(s, b"\xff\xfeabc\n") == b"ERROR invalid UTF-8\n"
        assert ask(s, b"still here\n") == b"Echo: still here\n"


@pytest.mark.parametrize("ending", [b"\n", b""], ids=["with-newline", "without-newline"])
def test_a_line_over_64_kib_is_refused_and_closed_while_others_are_served(start_server, ending):
    server = start_server("--store", "memory")
    with server.connect() as other, server.connect() as s:
        assert ask(other, b"before\n") == b"Echo: before\n"
        s.sendall(b"x" * (64 * 1024 + 1) + ending)
        assert recv_until_eof(s) == b"ERROR line too long\n"
        assert ask(other, b"after\n") == b"Echo: after\n"
    with server.connect() as s:            # exactly 64 KiB is fine
        assert ask(s, b"y" * (64 * 1024) + b"\r\n") == b"Echo: " + b"y" * (64 * 1024) + b"\n"


def test_bad_votes_get_errors_and_count_nothing(start_server):
    server = start_server()
    with server.connect() as s:
        assert ask(s, b"VOTE\n").startswith(b"ERROR usage: VOTE <option>")
        assert ask(s, b"VOTE A id=\n").startswith(b"ERROR invalid vote id")
        assert ask(s, b"VOTE A id=k\n") == b"VOTED A A=1 B=0 C=0\n"
        assert ask(s, b"VOTE B id=k\n") == b"ERROR vote id 'k' was already used for option A\n"
        assert ask(s, b"RESULTS\n") == b"RESULTS A=1 B=0 C=0\n"


def test_idle_connections_are_closed(start_server):
    server = start_server("--idle-timeout", "0.3", "--store", "memory")
    with server.connect() as idle, server.connect() as busy:
        assert ask(idle, b"hello\n") == b"Echo: hello\n"
        deadline = time.monotonic() + 0.9
        while time.monotonic() < deadline:     # a chatty client is not idle
            assert ask(busy, b"ping\n") == b"Echo: ping\n"
            time.sleep(0.05)
        idle.settimeout(5)
        assert recv_until_eof(idle) == b""     # closed with FIN, not reset
        assert ask(busy, b"ping\n") == b"Echo: ping\n"
    assert "Closing idle connection from" in server.output()


def test_past_max_connections_a_client_gets_busy_and_is_closed(start_server):
    server = start_server("--max-connections", "2", "--store", "memory")
    a, b = server.connect(), server.connect()
    try:
        assert ask(a, b"a\n") == b"Echo: a\n"
        assert ask(b, b"b\n") == b"Echo: b\n"
        with server.connect() as c:
            assert recv_until_eof(c) == b"ERROR server busy\n"
        assert ask(a, b"a again\n") == b"Echo: a again\n"
    finally:
        a.close()
    deadline = time.monotonic() + 5          # a's slot frees once the server has seen a's FIN
    while True:
        with server.connect() as c:
            c.sendall(b"c\n")
            reply = recv_line(c)
        if reply == b"Echo: c\n" or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    b.close()
    assert reply == b"Echo: c\n"


def test_holds_1000_open_connections(start_server):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < 1200:      # our side needs 1,000 sockets too
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(4096, hard), hard))
    server = start_server("--store", "memory")

    async def main() -> list[bytes]:
        conns = []
        for _ in range(1000):
            conns.append(await asyncio.open_connection(HOST, server.port))
        for i, (_, w) in enumerate(conns):       # all 1000 are open at once, then each talks
            w.write(b"hi %d\n" % i)
        replies = [await asyncio.wait_for(r.readline(), 30) for r, _ in conns]
        for _, w in conns:
            w.close()
        return replies

    replies = asyncio.run(main())
    assert replies == [b"Echo: hi %d\n" % i for i in range(1000)]
    assert server.output().count("Connection from:") == 1000


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_stop_signal_answers_what_is_in_flight_closes_with_fin_and_exits_0(start_server, tmp_path, sig):
    store = str(tmp_path / "stop.db")
    server = start_server(store=store)
    with server.connect() as s:
        assert ask(s, b"VOTE A\n") == b"VOTED A A=1 B=0 C=0\n"
        s.sendall(b"VOTE A\n" * 300)
        server.proc.send_signal(sig)
        got = recv_until_eof(s)                # ends in our FIN: a reset would raise here
    assert server.proc.wait(15) == 0
    replies = got.splitlines()
    assert replies, "the server answered nothing before stopping"
    assert all(r.startswith(b"VOTED A ") for r in replies) and got.endswith(b"\n")
    with pytest.raises(OSError):
        socket.create_connection((HOST, server.port), timeout=2).close()
    # Every vote that was answered was committed, and nothing else was counted.
    again = start_server(store=store)
    with again.connect() as s:
        assert ask(s, b"RESULTS\n") == b"RESULTS A=%d B=0 C=0\n" % (1 + len(replies))


def test_port_in_use_is_a_one_line_error(start_server):
    import subprocess
    import sys
    server = start_server("--store", "memory")
    done = subprocess.run([sys.executable, "-m", "lab.server", "--host", HOST, "--port", str(server.port),
                           "--store", "memory"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "cannot listen on 127.0.0.1" in done.stderr


def test_bytes_then_fin_without_newline_still_get_their_reply(start_server):
    """`printf hi | nc`: the message ends with the client's FIN instead of a newline or a pause."""
    server = start_server("--store", "memory")
    with server.connect() as s:
        s.sendall(b"first\nhi")
        s.shutdown(socket.SHUT_WR)
        assert recv_until_eof(s) == b"Echo: first\nEcho: hi\n"
