"""The server under abuse, as a real process on loopback (issue 11): bursts, clients that never
read, churn, running out of descriptors, a stdout nobody reads, slowloris, SIGTERM under load.

Every load here is bounded in count and in time; the timing bounds are generous because the
machine is shared: they separate "served within milliseconds" from "stalled for seconds".
"""
from __future__ import annotations

import os
import re
import resource
import select
import signal
import socket
import struct
import threading
import time

import psutil

from tests.lab.support.server import ask, recv_until_eof

RST = struct.pack("ii", 1, 0)   # SO_LINGER on, 0 s: close() sends RST


def _flood(sock: socket.socket, until: float, chunk: bytes = b"\n" * 65536) -> None:
    """Send as fast as the server takes it, never blocking past `until`."""
    sock.setblocking(False)
    while time.monotonic() < until:
        try:
            sock.send(chunk)
        except BlockingIOError:
            select.select([], [sock], [], 0.05)
        except OSError:
            return


def _drain(sock: socket.socket, until: float) -> int:
    """Read and count reply lines until EOF or `until`."""
    n = 0
    while time.monotonic() < until:
        if not select.select([sock], [], [], 0.2)[0]:
            continue
        try:
            data = sock.recv(1 << 20)
        except OSError:
            break
        if not data:
            break
        n += data.count(b"\n")
    return n


def _p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def test_a_pipelining_client_gets_every_reply_while_a_probe_is_answered_at_once(start_server):
    server = start_server("--store", "memory")
    lines = 2 << 20                            # 2 MiB of "\n": 2,097,152 requests in one go
    with server.connect(timeout=120) as pipe, server.connect(timeout=10) as probe:
        got = {"bytes": 0}

        def read_all() -> None:
            deadline = time.monotonic() + 120
            while got["bytes"] < 7 * lines and time.monotonic() < deadline:
                if select.select([pipe], [], [], 0.5)[0]:
                    data = pipe.recv(1 << 20)
                    if not data:
                        break
                    got["bytes"] += len(data)
        reader = threading.Thread(target=read_all)
        reader.start()
        sender = threading.Thread(target=pipe.sendall, args=(b"\n" * lines,))
        sender.start()
        latencies = []
        while reader.is_alive() and len(latencies) < 400:
            t = time.monotonic()
            assert ask(probe, b"probe\n") == b"Echo: probe\n"
            latencies.append(time.monotonic() - t)
            time.sleep(0.005)
        sender.join(120)
        reader.join(120)
    assert got["bytes"] == 7 * lines            # b"Echo: \n" for every one of them
    assert _p99(latencies) < 0.25, f"probe p99 {_p99(latencies) * 1000:.0f} ms"
    assert len(latencies) >= 20, "the pipelined burst was over before the probe could measure it"


def test_clients_that_never_read_cost_bounded_memory_and_nobody_else_waits(start_server):
    server = start_server("--store", "memory")
    proc = psutil.Process(server.proc.pid)
    rss0 = peak = proc.memory_info().rss
    hogs = [server.connect() for _ in range(10)]
    until = time.monotonic() + 4
    floods = [threading.Thread(target=_flood, args=(s, until)) for s in hogs]
    for t in floods:
        t.start()
    answered = 0
    while time.monotonic() < until:
        with server.connect(timeout=5) as probe:    # a timeout here fails the test
            assert ask(probe, b"still there?\n") == b"Echo: still there?\n"
        answered += 1
        peak = max(peak, proc.memory_info().rss)
        time.sleep(0.1)
    for t in floods:
        t.join(10)
    for s in hogs:
        s.close()                                  # unread replies: the kernel sends RST
    time.sleep(0.5)
    with server.connect(timeout=5) as probe:
        assert ask(probe, b"after\n") == b"Echo: after\n"
    assert answered >= 10
    assert peak - rss0 < 60 << 20, f"RSS grew {(peak - rss0) >> 20} MB"
    assert server.stop() == 0
    assert server.errors() == ""                   # no "socket.send() raised exception." spam


def test_sigterm_under_load_exits_0_within_its_one_second_budget(start_server):
    server = start_server()                        # SQLite store: votes in flight too
    until = time.monotonic() + 20
    readers = [server.connect() for _ in range(8)]
    hogs = [server.connect() for _ in range(4)]    # these never read
    threads = [threading.Thread(target=_flood, args=(s, until, b"VOTE A\n" * 100 + b"\n" * 20000))
               for s in readers + hogs]
    threads += [threading.Thread(target=_drain, args=(s.dup(), until)) for s in readers]
    for t in threads:
        t.start()
    try:
        time.sleep(2)
        t0 = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        status = server.proc.wait(10)
        took = time.monotonic() - t0
    finally:
        for s in readers + hogs:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, RST)
            s.close()
        for t in threads:
            t.join(30)
    assert status == 0
    # The server's budget is 1 s (SHUTDOWN_GRACE 0.5 s, then the store and the log close; measured
    # 0.62-0.72 s at load 5 on 2 cores); the extra half second is room for a loaded CI machine.
    assert took < 1.5, f"SIGTERM took {took:.2f} s"
    assert "Traceback" not in server.errors()


def test_churn_prints_no_traceback_and_live_clients_are_not_refused(start_server):
    server = start_server("--max-connections", "50", "--store", "memory")
    live = [server.connect(timeout=10) for _ in range(10)]
    busy, served = [], [0]
    lock = threading.Lock()

    def churn(n: int) -> None:
        for i in range(100):               # 20 threads x 100: never more than 20 open at once
            try:
                s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            except OSError:
                continue
            with s:
                if i % 3 == 0:             # connect and close at once
                    continue
                if i % 3 == 1:             # connect and reset
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, RST)
                    continue
                try:
                    reply = ask(s, b"hi %d\n" % n)
                except OSError:
                    continue
                with lock:
                    if reply == b"ERROR server busy\n":
                        busy.append(reply)
                    served[0] += reply.startswith(b"Echo: hi")
    threads = [threading.Thread(target=churn, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        for i, s in enumerate(live):
            assert ask(s, b"live %d\n" % i) == b"Echo: live %d\n" % i
        time.sleep(0.02)
    for t in threads:
        t.join(60)
    for s in live:
        s.close()
    assert busy == [], f"{len(busy)} clients refused with at most 30 of 50 open"
    assert served[0] > 0
    assert server.stop() == 0
    assert "Traceback" not in server.errors()
    assert server.errors() == ""


def test_refused_clients_are_closed_fast_not_after_the_2_s_linger(start_server):
    server = start_server("--max-connections", "2", "--store", "memory")
    proc = psutil.Process(server.proc.pid)
    with server.connect() as a, server.connect() as b:
        assert ask(a, b"a\n") == b"Echo: a\n" and ask(b, b"b\n") == b"Echo: b\n"
        base = proc.num_fds()
        refused = [server.connect(timeout=10) for _ in range(30)]   # they never close
        try:
            assert all(recv_until_eof(s) == b"ERROR server busy\n" for s in refused)
            t0 = time.monotonic()
            while proc.num_fds() > base and time.monotonic() - t0 < 5:
                time.sleep(0.05)
            freed_after = time.monotonic() - t0
        finally:
            for s in refused:
                s.close()
        assert proc.num_fds() <= base
        assert freed_after < 1.5, f"refused clients held their descriptors {freed_after:.2f} s"
        assert ask(a, b"a again\n") == b"Echo: a again\n"


def _fd_limit_96() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (96, 96))


def test_running_out_of_descriptors_is_a_line_now_and_then_not_a_traceback_per_accept(start_server):
    server = start_server("--store", "memory", preexec_fn=_fd_limit_96)
    held = []
    for _ in range(300):                   # far more than 96 descriptors' worth, all held open
        try:
            held.append(socket.create_connection(("127.0.0.1", server.port), timeout=5))
        except OSError:
            pass
    time.sleep(1.5)                        # it hits EMFILE, backs off, retries
    for s in held:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, RST)
        s.close()
    deadline = time.monotonic() + 20
    while True:                            # it recovers once they are gone
        try:
            with server.connect(timeout=5) as probe:
                if ask(probe, b"back\n") == b"Echo: back\n":
                    break
        except OSError:
            pass
        assert time.monotonic() < deadline, "the server did not recover after EMFILE"
        time.sleep(0.2)
    assert server.stop() == 0
    errors = server.errors()
    assert "Traceback" not in errors
    assert "only 96 file descriptors allowed" in errors
    assert len(errors.splitlines()) <= 8, errors[:2000]


def test_a_stdout_nobody_reads_does_not_stop_the_server_and_drops_are_reported(start_server):
    server = start_server("--store", "memory", stdout_pipe=True)
    message = b"x" * 8000 + b"\n"          # 8 KB log lines: 12 MB through a 64 KiB pipe
    with server.connect(timeout=10) as s:
        for _ in range(1500):
            assert ask(s, message) == b"Echo: " + message
    seen = b""
    deadline = time.monotonic() + 20      # now read: the writer resumes and says what it dropped
    while b"(stdout not read)" not in seen and time.monotonic() < deadline:
        if select.select([server.pipe], [], [], 0.5)[0]:
            seen += os.read(server.pipe, 1 << 20)
    m = re.search(rb"\.\.\. (\d+) log lines dropped \(stdout not read\)\n", seen)
    assert m and int(m.group(1)) > 0


def test_sigterm_with_a_stdout_nobody_reads_exits_at_once_and_says_what_was_lost(start_server):
    server = start_server("--store", "memory", stdout_pipe=True)
    with server.connect(timeout=10) as s:
        for _ in range(800):
            assert ask(s, b"y" * 8000 + b"\n").startswith(b"Echo: y")
    t0 = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(10) == 0
    assert time.monotonic() - t0 < 1.5
    assert re.fullmatch(r"lab\.server: \d+ log lines dropped while stdout was not read"
                        r"(, \d+ not written at exit)?\n", server.errors())


def test_a_line_trickled_faster_than_the_idle_gap_is_cut_off_after_the_line_timeout(start_server):
    """Slowloris against this protocol: one byte every 10 ms keeps a line unfinished (each byte
    restarts the 50 ms idle gap) and would hold a slot for ever without --line-timeout."""
    server = start_server("--store", "memory", "--line-timeout", "1")
    with server.connect(timeout=5) as slow, server.connect(timeout=5) as other:
        slow.setblocking(False)
        t0 = time.monotonic()
        closed_after = None
        last_other = 0.0
        while time.monotonic() - t0 < 15 and closed_after is None:
            try:
                slow.send(b"x")
                if select.select([slow], [], [], 0.01)[0] and slow.recv(65536) == b"":
                    closed_after = time.monotonic() - t0
            except OSError:                 # reset: closed as well
                closed_after = time.monotonic() - t0
            if time.monotonic() - last_other > 0.2:
                assert ask(other, b"ping\n") == b"Echo: ping\n"
                last_other = time.monotonic()
        assert closed_after is not None, "a trickled line held its connection for 15 s"
        assert closed_after >= 0.9
        assert ask(other, b"ping\n") == b"Echo: ping\n"
    assert "(line not finished within 1 s)" in server.output()


def test_a_client_that_sends_and_closes_while_waiting_for_a_slot_gets_its_answers(start_server):
    """`printf 'hi\\n' | nc` against a full server: it needs no slot (it can send no more)."""
    server = start_server("--max-connections", "1", "--store", "memory")
    with server.connect() as holder:
        assert ask(holder, b"mine\n") == b"Echo: mine\n"
        with server.connect(timeout=10) as late:
            late.sendall(b"hi\n")
            late.shutdown(socket.SHUT_WR)
            assert recv_until_eof(late) == b"Echo: hi\n"
        with server.connect(timeout=10) as busy:        # one that stays gets busy after the wait
            assert recv_until_eof(busy) == b"ERROR server busy\n"
        assert ask(holder, b"still mine\n") == b"Echo: still mine\n"
