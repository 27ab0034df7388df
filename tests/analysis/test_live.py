"""Live input: `python -m analysis - --live` on a pipe, `FILE --live --follow`, and the library
beneath them (analysis.read.sources, analysis.live). Real captures are fed through a real pipe a
few records at a time; every wait is bounded and generous (the machine is shared)."""
from __future__ import annotations

import os
import queue
import signal
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from analysis import analyze
from analysis.live import LiveSession
from analysis.read.reader import CaptureReader
from analysis.read.sources import PipeSource, open_source

REPO = Path(__file__).resolve().parents[2]
LAB = REPO / "notebooks" / "data" / "reqresp.pcap"
LOSSY = REPO / "notebooks" / "data" / "lossy.pcap"
WAIT = 30.0          # s: the most any expected line may take to appear (a loaded machine)


def pcap_records(path: Path) -> tuple[bytes, list[bytes]]:
    """(the 24-byte file header, each record with its 16-byte header) of a little-endian pcap."""
    data = path.read_bytes()
    assert data[:4] == b"\xd4\xc3\xb2\xa1" or data[:4] == b"\x4d\x3c\xb2\xa1"
    records, pos = [], 24
    while pos < len(data):
        caplen = struct.unpack_from("<I", data, pos + 8)[0]
        records.append(data[pos:pos + 16 + caplen])
        pos += 16 + caplen
    return data[:24], records


def pcapng_blocks(path: Path) -> list[bytes]:
    data = path.read_bytes()
    blocks, pos = [], 0
    while pos < len(data):
        length = struct.unpack_from("<I", data, pos + 4)[0]
        blocks.append(data[pos:pos + length])
        pos += length
    return blocks


class Live:
    """`python -m analysis ARGS` with a pipe on stdin; stdout lines collected by a thread."""

    def __init__(self, *args: str, stdin=subprocess.PIPE) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "analysis", *args], cwd=REPO,
                                     stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.lines: queue.Queue = queue.Queue()
        self.seen: list[tuple[float, str]] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for raw in self.proc.stdout:
            self.lines.put((time.monotonic(), raw.decode()))
        self.lines.put(None)

    def write(self, data: bytes) -> float:
        self.proc.stdin.write(data)
        self.proc.stdin.flush()
        return time.monotonic()

    def wait_lines(self, count: int) -> list[tuple[float, str]]:
        """The next `count` lines, each within WAIT seconds, or fail."""
        got = []
        for _ in range(count):
            try:
                item = self.lines.get(timeout=WAIT)
            except queue.Empty:
                pytest.fail(f"no output line within {WAIT} s; had {self.seen}")
            assert item is not None, f"output ended early: {self.seen}"
            got.append(item)
            self.seen.append(item)
        return got

    def finish(self) -> tuple[int, str, str]:
        """(exit status, the rest of stdout, stderr), within WAIT seconds."""
        if self.proc.stdin and not self.proc.stdin.closed:
            self.proc.stdin.close()
        status = self.proc.wait(timeout=WAIT)
        rest = []
        while True:
            item = self.lines.get(timeout=WAIT)
            if item is None:
                break
            rest.append(item[1])
        return status, "".join(rest), self.proc.stderr.read().decode()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=WAIT)


@pytest.fixture
def live_proc(request):
    procs: list[Live] = []

    def start(*args, **kw) -> Live:
        procs.append(Live(*args, **kw))
        return procs[-1]

    yield start
    for proc in procs:
        proc.kill()


def test_lines_appear_as_records_arrive_before_the_stream_ends(live_proc):
    header, records = pcap_records(LAB)
    live = live_proc("-", "--live")
    live.write(header)
    [(_, first)] = live.wait_lines(1)
    assert first.startswith("live: ") and "?" in first and "final report" in first
    delays = []
    for index, record in enumerate(records[:5]):
        sent = live.write(record)
        [(when, line)] = live.wait_lines(1)            # the stream is still open: no EOF yet
        delays.append(when - sent)
        assert line.split()[0] == str(index + 1), line
    assert live.proc.poll() is None
    print(f"line after its record: max {max(delays) * 1000:.1f} ms, "
          f"median {sorted(delays)[2] * 1000:.1f} ms")
    # a record written in two pieces becomes a line only once it is whole
    head, tail = records[5][:30], records[5][30:]
    live.write(head)
    with pytest.raises(queue.Empty):
        live.lines.get(timeout=0.5)
    live.write(tail)
    [(_, line)] = live.wait_lines(1)
    assert line.split()[0] == "6"
    for record in records[6:]:
        live.write(record)
    status, rest, err = live.finish()
    assert status == 0, err
    assert "Traceback" not in err
    assert "SF" in rest and "closed first by the client" in rest


def frame_lines(stdout: str) -> list[str]:
    """The narrated lines: those before the blank line that opens the summary."""
    lines = []
    for line in stdout.splitlines():
        if not line:
            break
        if not line.startswith("live: "):
            lines.append(line)
    return lines


def narrated(stdout: str) -> list[list[str]]:
    return [line.split() for line in frame_lines(stdout)]


def test_the_lab_capture_is_narrated_in_order():
    done = subprocess.run([sys.executable, "-m", "analysis", "-", "--live",
                           "--name", "172.28.0.3=client", "--name", "172.28.0.2=server"],
                          cwd=REPO, stdin=open(LAB, "rb"), capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    lines = frame_lines(done.stdout)
    labels = [line.split()[3] for line in lines]
    assert labels[:5] == ["arp-request", "arp-reply", "syn", "syn-ack", "handshake-ack"]
    assert labels[-3:] == ["fin", "fin", "teardown-ack"]
    assert set(labels[5:-3]) == {"data", "ack"}
    text = "\n".join(lines)
    for words in ("client asks who has 172.28.0.2 (ARP)", "server answers: 172.28.0.2 is at",
                  "client opens the connection", "server accepts the connection",
                  "client completes the handshake", "client sends 13 bytes (request)",
                  "server acknowledges 13 bytes", "server sends 19 bytes (response)",
                  "client closes first", "server closes its side too and acknowledges the "
                  "client's FIN", "client acknowledges the server's FIN"):
        assert words in text, words
    assert "Seq=1 Ack=14" in lines[6] and "Len=0" in lines[6]
    # the summary: the report's connection table and who closed first
    summary = done.stdout[done.stdout.index("\n\n"):]
    assert "Connections (1)" in summary and "Exchanges (7)" in summary
    assert "SF  ShADadFf  closed first by the client (172.28.0.3:" in summary


def test_live_labels_are_the_final_reports_and_doubts_are_marked():
    final = analyze(LOSSY)
    session = LiveSession(open_source(str(LOSSY)))
    records = list(session.frames())
    assert [(r.number, r.phase, r.label, r.analysis, r.seq, r.ack) for r in records] == [
        (f.number, f.phase, f.label, f.analysis, f.seq, f.ack) for f in final.frames]
    doubtful = [r for r in records if r.provisional]
    assert doubtful and all(r.doubt == "one-pass" for r in doubtful)
    assert all(set(r.analysis) & {"retransmission", "lost-segment", "out-of-order",
                                  "ack-lost-segment"} for r in doubtful)
    assert session.result().connections == final.connections


def test_a_connection_seen_without_its_handshake_is_provisional(tmp_path):
    header, records = pcap_records(LAB)
    midstream = tmp_path / "midstream.pcap"
    midstream.write_bytes(header + b"".join(records[8:]))     # from the middle of the data
    records = list(LiveSession(open_source(str(midstream))).frames())
    assert records and all(r.provisional and r.doubt == "roles-guessed" for r in records)


def test_a_truncated_stream_gives_its_whole_frames_and_a_warning():
    header, records = pcap_records(LAB)
    data = header + b"".join(records[:10]) + records[10][:20]
    done = subprocess.run([sys.executable, "-m", "analysis", "-", "--live"], cwd=REPO, input=data,
                          capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert [line[0] for line in narrated(done.stdout.decode())] == [str(i) for i in range(1, 11)]
    err = done.stderr.decode()
    assert "<stdin>: file ends inside frame 11" in err and "Traceback" not in err


def test_a_pcapng_stream_is_read_incrementally(tmp_path, live_proc):
    ng = tmp_path / "lab.pcapng"
    subprocess.run(["editcap", "-F", "pcapng", str(LAB), str(ng)], check=True, timeout=60)
    blocks = pcapng_blocks(ng)
    live = live_proc("-", "--live")
    first_epb = next(i for i, b in enumerate(blocks) if struct.unpack_from("<I", b)[0] == 6)
    live.write(b"".join(blocks[:first_epb]))
    live.wait_lines(1)                                   # the caveat line
    for number, block in enumerate(blocks[first_epb:first_epb + 3], 1):
        live.write(block)
        [(_, line)] = live.wait_lines(1)
        assert line.split()[0] == str(number)
    live.write(b"".join(blocks[first_epb + 3:]))
    status, rest, err = live.finish()
    assert status == 0, err
    assert len(narrated(rest)) == len(pcap_records(LAB)[1]) - 3
    assert "SF" in rest


@pytest.mark.parametrize("writer_closes", [True, False], ids=["tcpdump-stops-too", "writer-stays"])
def test_ctrl_c_prints_the_summary_and_exits_cleanly(live_proc, writer_closes):
    header, records = pcap_records(LAB)
    live = live_proc("-", "--live")
    live.write(header + b"".join(records[:6]))
    live.wait_lines(7)
    live.proc.send_signal(signal.SIGINT)
    if writer_closes:     # as tcpdump does on the same Ctrl-C: the rest arrives, then the end
        live.write(b"".join(records[6:9]))
        live.proc.stdin.close()
    else:                 # the writer keeps the pipe open: we stop after a quiet grace period
        live.proc.wait(timeout=WAIT)
    status, rest, err = live.finish()
    assert status == 0, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert "Connections (1)" in rest
    assert len(narrated(rest)) == (3 if writer_closes else 0)


def test_a_second_ctrl_c_stops_at_once(live_proc):
    header, records = pcap_records(LAB)
    live = live_proc("-", "--live")
    live.write(header + records[0])
    live.wait_lines(2)
    live.proc.send_signal(signal.SIGINT)
    time.sleep(0.3)
    live.proc.send_signal(signal.SIGINT)
    status = live.proc.wait(timeout=WAIT)
    err = live.proc.stderr.read().decode()
    assert status == 130 and "Traceback" not in err


def test_follow_reads_a_growing_file_until_idle(tmp_path, live_proc):
    header, records = pcap_records(LAB)
    path = tmp_path / "growing.pcap"
    with open(path, "wb", buffering=0) as handle:
        handle.write(header + records[0])
        live = live_proc(str(path), "--live", "--follow", "--idle-timeout", "3",
                         stdin=subprocess.DEVNULL)
        live.wait_lines(2)
        for number, record in enumerate(records[1:4], 2):
            handle.write(record)
            [(_, line)] = live.wait_lines(1)
            assert line.split()[0] == str(number)
        handle.write(b"".join(records[4:]))
        status, rest, err = live.finish()          # ends by itself: 3 s without new bytes
    assert status == 0, err
    assert len(narrated(rest)) == len(records) - 4 and "closed first by the client" in rest


def test_follow_stops_on_ctrl_c(tmp_path, live_proc):
    header, records = pcap_records(LAB)
    path = tmp_path / "growing.pcap"
    path.write_bytes(header + b"".join(records[:3]))
    live = live_proc(str(path), "--live", "--follow", stdin=subprocess.DEVNULL)
    live.wait_lines(4)
    live.proc.send_signal(signal.SIGINT)
    status, rest, err = live.finish()
    assert status == 0 and "Traceback" not in err
    assert "Connections (1)" in rest


def test_stdin_without_live_gives_the_whole_report():
    done = subprocess.run([sys.executable, "-m", "analysis", "-"], cwd=REPO, stdin=open(LAB, "rb"),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("<stdin>: 24 frames, 1 TCP connection, 7 request/response exchanges")
    assert "Phase: handshake (3 frames)" in done.stdout


@pytest.mark.parametrize("args, words", [
    (("-", "--follow"), "--follow is for a file"),
    (("-", "--live", "--json"), "--live prints the narrated frames"),
    ((str(LAB), "--live", "--idle-timeout", "2"), "--idle-timeout S needs --follow"),
    (("-", "--live", "--name", "server"), "give IP=NAME"),
    (("-", "--summary"), "--summary reads a whole file"),
])
def test_bad_live_arguments_are_one_line_errors(args, words):
    done = subprocess.run([sys.executable, "-m", "analysis", *args], cwd=REPO, input="",
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and words in done.stderr and done.stderr.count("\n") == 1


def test_not_a_capture_on_stdin_is_a_one_line_error():
    done = subprocess.run([sys.executable, "-m", "analysis", "-", "--live"], cwd=REPO,
                          input=b"hello, this is no capture\n", capture_output=True, timeout=60)
    err = done.stderr.decode()
    assert done.returncode == 2 and err.startswith("error: <stdin>: not a pcap or pcapng")


@pytest.mark.parametrize("name", ["reqresp.pcap", "lab.pcapng", "multi.pcapng"])
def test_the_reader_reads_a_pipe_in_small_pieces_as_a_file(tmp_path, name, conformance_dir):
    """Records cut anywhere by the pipe's reads (7-byte writes) come out whole, the same as from
    the file; the byte offsets in warnings are the file's."""
    if name == "reqresp.pcap":
        path = LAB
    elif name == "lab.pcapng":
        path = tmp_path / name
        subprocess.run(["editcap", "-F", "pcapng", str(LAB), str(path)], check=True, timeout=60)
    else:
        path = conformance_dir / "pcaps" / "zeek_pcapng_multi_interface.pcapng"
    data = path.read_bytes()[:-3]          # cut the last record: the same warning both ways
    cut = tmp_path / ("cut-" + name)
    cut.write_bytes(data)
    read_end, write_end = os.pipe()

    def feed() -> None:
        with os.fdopen(write_end, "wb", buffering=0) as pipe:
            for i in range(0, len(data), 7):
                pipe.write(data[i:i + 7])

    threading.Thread(target=feed, daemon=True).start()
    try:
        reader = CaptureReader(None, source=PipeSource(read_end, str(cut)))
        from_pipe = list(reader.records())
    finally:
        os.close(read_end)
    from_file = CaptureReader(cut)
    assert from_pipe == list(from_file.records()) and len(from_pipe) > 2
    assert reader.warnings == from_file.warnings and reader.warnings[0].code == "truncated-file"


def test_every_event_and_doubt_is_in_the_vocabulary(conformance_dir):
    from analysis import vocabulary
    from analysis.report.live_text import words

    paths = [LAB, LOSSY] + sorted((conformance_dir / "pcaps").iterdir())
    events, doubts = set(), set()
    for path in paths:
        for record in LiveSession(open_source(str(path))).frames():
            events.add(record.event)
            doubts.add(record.doubt)
            assert words(record)
    assert events <= set(vocabulary.LIVE_EVENTS) and doubts - {None} <= set(vocabulary.LIVE_DOUBTS)
    assert len(events) >= 10
