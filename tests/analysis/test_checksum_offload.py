"""Checksum offload: a TCP checksum wrong exactly as offload leaves it is trusted by default (one
warning), counted as bad with --strict-checksums (Zeek without -C), ignored with -C; both engines.

The real capture (tests/analysis/data/offload-netns.pcap, made on the lab network with
`ethtool -K lab-eth0 tx on` in both hosts: see tests/analysis/data/offload.md) has every TCP
checksum wrong, tshark says so independently; crafted captures put the offload pattern on one
side only, next to correct and truly damaged checksums, over IPv4 and IPv6.
"""
from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import pytest
from scapy.layers.inet import TCP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.utils import PcapWriter, rdpcap

from analysis import analyze
from analysis.columnar.conn.kernel import connections_from_table
from analysis.columnar.engine import Scan
from analysis.decode.checksums import offload_pattern, offloaded
from analysis.api import iter_frames
from analysis.report.questions import answer_all
from tests.analysis.support.crafted import TcpConversation
from tests.analysis.support.fuzz_captures import check_engines_agree

REPO = Path(__file__).resolve().parents[2]
REAL = REPO / "tests" / "analysis" / "data" / "offload-netns.pcap"


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analysis", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=120)


def columnar(path: Path, **options):
    scan = Scan(path, **options)
    summary = scan.summary()
    return connections_from_table(summary.connections), summary.warnings


def per_frame(path: Path, **options):
    result = analyze(path, **options)
    return [c._replace(frames=()) for c in result.connections], result.warnings


# -- the real capture ---------------------------------------------------------------------------

def test_the_real_capture_is_offloaded_as_tshark_sees_it():
    done = subprocess.run(["tshark", "-r", str(REAL), "-o", "tcp.check_checksum:TRUE", "-Y", "tcp",
                           "-T", "fields", "-e", "tcp.checksum.status"],
                          capture_output=True, text=True, timeout=120, check=True)
    statuses = done.stdout.split()
    assert len(statuses) == 22 and set(statuses) == {"0"}        # 0: bad, every one
    assert all(offloaded(f) for f in iter_frames(REAL) if f.tcp is not None)


def test_by_default_the_real_capture_shows_what_happened():
    result = analyze(REAL)
    [conn] = result.connections
    assert (conn.conn_state, conn.history, conn.closed_by, conn.end) == ("SF", "ShADadFf", "orig",
                                                                         "fin-both")
    assert (conn.orig_pkts, conn.resp_pkts, conn.orig_bytes, conn.resp_bytes) == (12, 10, 117, 126)
    assert [e.kind for e in result.exchanges] == ["echo", "echo", "vote", "vote", "vote",
                                                  "results", "echo"]
    [warning] = result.warnings
    assert warning.code == "checksum-offload"
    assert "22 of 22 TCP checksums are wrong as checksum offload leaves them" in warning.message
    assert "treated as valid" in warning.message and "--strict-checksums" in warning.message
    closed = next(a for a in answer_all(result) if a.key == "closed-first")
    assert "client" in closed.answer and "Nobody" not in closed.answer


def test_strict_is_zeeks_reading_and_ignore_is_zeek_minus_c():
    [strict], warnings = per_frame(REAL, strict_checksums=True)
    assert (strict.conn_state, strict.history, strict.closed_by) == ("OTH", "CcCc", None)
    assert [w.code for w in warnings] == ["bad-checksums"]
    [trusting], warnings = per_frame(REAL, verify_checksums=False)
    assert (trusting.conn_state, trusting.history) == ("SF", "ShADadFf") and warnings == []


@pytest.mark.parametrize("options", [{}, {"strict_checksums": True}, {"verify_checksums": False}],
                         ids=["default", "strict", "ignore"])
def test_both_engines_agree_on_the_real_capture(options):
    assert columnar(REAL, **options) == per_frame(REAL, **options)


def test_the_cli_says_what_it_assumed_in_one_line():
    done = run_cli(str(REAL))
    assert done.returncode == 0
    lines = [line for line in done.stderr.splitlines() if line.startswith("warning:")]
    assert len(lines) == 1 and "checksum offload" in lines[0] and "--strict-checksums" in lines[0]
    assert "SF" in done.stdout and "ShADadFf" in done.stdout
    strict = run_cli(str(REAL), "--strict-checksums")
    assert "OTH" in strict.stdout and "--ignore-checksums" in strict.stderr
    summary = run_cli(str(REAL), "--summary")
    assert summary.returncode == 0 and "checksum offload" in summary.stderr
    both = run_cli(str(REAL), "-C", "--strict-checksums")
    assert both.returncode == 2 and "not allowed with" in both.stderr


def test_live_mode_reads_the_offloaded_stream_the_same_way():
    done = subprocess.run([sys.executable, "-m", "analysis", "-", "--live"], cwd=REPO,
                          stdin=open(REAL, "rb"), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0
    assert "SF  ShADadFf  closed first by the client" in done.stdout
    assert "checksum offload" in done.stderr


# -- crafted: one side offloaded, beside correct and damaged checksums ---------------------------

def _conversation() -> TcpConversation:
    conv = TcpConversation()
    conv.handshake(rtt=0.002)
    conv.client(b"hello\n")
    conv.server(b"Echo: hello\n")
    conv.client(b"bye\n")
    conv.server(b"Echo: bye\n")
    conv.client(flags="FA")
    conv.server(flags="FA")
    conv.client(flags="A")
    return conv


def _rewrite(path: Path, change) -> Path:
    """Rewrite each TCP frame's checksum field: change(number, frame bytes, pseudo sum) -> field
    or None (keep)."""
    packets = rdpcap(str(path))
    out = path.with_name(path.stem + "-offload.pcap")
    writer = PcapWriter(str(out), linktype=1, nano=True, sync=True)
    for number, packet in enumerate(packets, 1):
        data = bytearray(bytes(packet))
        v6 = data[12:14] == b"\x86\xdd"
        t = 14 + (40 if v6 else (data[14] & 0x0F) * 4)
        seg = len(data) - t
        addresses = data[22:54] if v6 else data[26:34]
        pseudo = int.from_bytes(addresses, "big") + 6 + seg
        field = change(number, bytes(data), pseudo % 0xFFFF)
        if field is not None:
            data[t + 16:t + 18] = struct.pack("!H", field)
        new = Ether(bytes(data))
        new.time = packet.time
        writer.write(new)
    writer.close()
    return out


def _client_sent(number: int) -> bool:
    return number in (1, 3, 4, 6, 8, 10)        # the frames _conversation() has the client send


@pytest.mark.parametrize("pattern", ["pseudo-sum", "zero"])
def test_one_offloaded_side_is_trusted_and_a_damaged_segment_is_not(tmp_path, pattern):
    path = _conversation().write(tmp_path / "conv.pcap")
    damaged = 7                                   # the server's second data segment

    def change(number, data, pseudo):
        field = struct.unpack_from("!H", data, 34 + 16)[0]
        if _client_sent(number):
            return pseudo if pattern == "pseudo-sum" else 0
        if number == damaged:
            return field ^ 0x0101                 # damaged in transit: no offload pattern
        return None

    crafted = _rewrite(path, change)
    result = analyze(crafted)
    [conn] = result.connections
    assert conn.conn_state == "SF" and conn.closed_by == "orig"
    # only the damaged segment is a checksum error (c), and its bytes a gap (g) in the server's
    # stream; -C reads the segment as it came
    assert conn.history == "ShADdcFgf"
    assert analyze(crafted, verify_checksums=False).connections[0].history == "ShADdFf"
    [warning] = result.warnings
    assert warning.code == "checksum-offload"
    assert ": 6 of 10 TCP checksums are wrong as checksum offload leaves them" in warning.message
    strict = analyze(crafted, strict_checksums=True).connections[0]
    assert strict.conn_state != "SF" and "C" in strict.history
    for options in ({}, {"strict_checksums": True}, {"verify_checksums": False}):
        assert columnar(crafted, **options) == per_frame(crafted, **options), options
    check_engines_agree(crafted)


def test_ipv6_offload_pattern(tmp_path):
    client, server = "fd00::3", "fd00::2"
    writer_path = tmp_path / "v6.pcap"
    frames = [(client, server, 40000, 2222, "S", 100, 0, b""),
              (server, client, 2222, 40000, "SA", 500, 101, b""),
              (client, server, 40000, 2222, "A", 101, 501, b""),
              (client, server, 40000, 2222, "PA", 101, 501, b"halo\n"),
              (server, client, 2222, 40000, "PA", 501, 106, b"Echo: halo\n"),
              (client, server, 40000, 2222, "FA", 106, 512, b""),
              (server, client, 2222, 40000, "FA", 512, 107, b""),
              (client, server, 40000, 2222, "A", 107, 513, b"")]
    writer = PcapWriter(str(writer_path), linktype=1, nano=True, sync=True)
    for i, (src, dst, sport, dport, flags, seq, ack, data) in enumerate(frames):
        packet = (Ether(src="02:00:00:00:00:03", dst="02:00:00:00:00:02") / IPv6(src=src, dst=dst)
                  / TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack) / data)
        packet = Ether(bytes(packet))
        packet.time = 1_700_000_000 + i * 0.001
        writer.write(packet)
    writer.close()
    crafted = _rewrite(writer_path, lambda number, data, pseudo:
                       pseudo if number in (1, 3, 4, 6, 8) else None)
    assert sum(offloaded(f) for f in iter_frames(crafted)) == 5
    [conn] = analyze(crafted).connections
    assert (conn.conn_state, conn.history) == ("SF", "ShADdFf")
    for options in ({}, {"strict_checksums": True}):
        assert columnar(crafted, **options) == per_frame(crafted, **options), options


def test_the_pattern_is_the_pseudo_header_sum_in_either_ones_complement_zero():
    assert offload_pattern(0x1234, 0x1234) and offload_pattern(0, 0x5678)
    assert offload_pattern(0xFFFF, 0) and offload_pattern(0, 0xFFFF)
    assert not offload_pattern(0x1235, 0x1234)
