"""The columnar connection stage (analysis/columnar/conn/kernel.py) against ConnectionTracker.

Every corpus capture (tests/analysis/columnar/support/corpus.py) plus a crafted capture aimed at the
stage's own corners (long histories past the inline letters and several overflow chunks, many
above-hole blocks and gaps, the above-hole skip, scaled letters past 10, a self-connection, the
flips, IPv6, bad checksums) is run through the reference per-frame tracker and through
ConnStage in chunks of 1_000_000, 1000 and 7 frames, with and without ignore_checksums, and
with flip_syn_ack=False / other likely_server_ports on a few captures. Every field of every
Connection must be equal (frames compared by count). The first mismatch names the capture,
the connection, the field and both values.
"""
from __future__ import annotations

import random
import re

import numpy as np
import pytest
from scapy.layers.inet import TCP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.utils import wrpcap

from analysis.columnar.columns import (ConnectionTable, from_frames, slice_frames, slice_tcp,
                                       tcp_from_infos)
from analysis.columnar.conn.kernel import ConnStage, connections_from_table
from analysis.columnar.conn.table import _rstos0
from analysis.conn.connections import ConnectionTracker
from analysis.decode.frame import decode_frame
from analysis.read.reader import CaptureReader
from analysis.tcp.analysis import TcpAnalyzer
from tests.analysis.columnar.support.corpus import corpus_paths
from tests.analysis.support.conn_tracking import seg

CHUNKS = (1_000_000, 1000, 7)


# --- a crafted capture for the stage's own corners -----------------------------------------------
def _pair(k: int, server_port: int = 5000, server: str = "10.0.0.2"):
    return ("10.0.0.1", 41000 + k), (server, server_port)


def _handshake(c, s, t, isn_c=1000, isn_s=5000):
    return [seg(c, s, "S", isn_c, t=t), seg(s, c, "SA", isn_s, isn_c + 1, t=t + 0.001),
            seg(c, s, "A", isn_c + 1, isn_s + 1, t=t + 0.002)]


def _v6(src, dst, flags, seq, ack, data=b"", t=0.0):
    pkt = Ether() / IPv6(src=src[0], dst=dst[0]) / TCP(sport=src[1], dport=dst[1], flags=flags,
                                                       seq=seq, ack=ack, window=8192)
    pkt = pkt / data if data else pkt
    pkt.time = 1_700_000_000 + t
    return pkt


def crafted_corners() -> list:
    packets = []
    t = 0.0
    # a long history: 80 FINs with new sequence numbers (an F each), then RSTs
    c, s = _pair(0)
    packets += _handshake(c, s, t)
    for j in range(80):
        packets.append(seg(c, s, "FA", 1001 + j, 5001, b"x", t=t + 0.01 + j * 0.001))
    packets += [seg(s, c, "R", 5001 + j, t=t + 0.5 + j * 0.001) for j in range(5)]
    # many above-hole blocks, then one ACK over all of them: 30 gaps (G at the 1st and 10th)
    t, (c, s) = 10.0, _pair(1)
    packets += _handshake(c, s, t)
    for j in range(30):
        packets.append(seg(c, s, "PA", 1001 + 20 * j + 10, 5001, b"0123456789",
                           t=t + 0.01 + j * 0.001))
    for j in range(0, 30, 3):       # some holes filled, out of order, merging blocks
        packets.append(seg(c, s, "PA", 1001 + 20 * j, 5001, b"abcdefghij",
                           t=t + 0.05 + j * 0.001))
    packets.append(seg(s, c, "A", 5001, 1001 + 600, t=t + 0.1))
    packets += [seg(c, s, "FA", 1601, 5001, t=t + 0.2), seg(s, c, "FA", 5001, 1602, t=t + 0.21)]
    # zero windows and retransmissions past 10 (W, T at the 1st and 10th)
    t, (c, s) = 20.0, _pair(2)
    packets += _handshake(c, s, t)
    for j in range(12):
        packets.append(seg(s, c, "A", 5001, 1001, window=0, t=t + 0.01 + j * 0.001))
        packets.append(seg(c, s, "PA", 1001, 5001, b"again", t=t + 0.02 + j * 0.001))
    # above a hole by more than 16384 bytes with nothing acked: Zeek stops reassembling
    t, (c, s) = 30.0, _pair(3)
    packets += _handshake(c, s, t)
    packets += [seg(c, s, "PA", 1001 + 20000, 5001, b"far ahead", t=t + 0.01),
                seg(c, s, "PA", 1001 + 30000, 5001, b"further", t=t + 0.02),
                seg(s, c, "A", 5001, 1001 + 40000, t=t + 0.03)]
    # bad checksums (C at the 1st and 10th) between good packets
    t, (c, s) = 40.0, _pair(4)
    packets += _handshake(c, s, t)
    packets += [seg(c, s, "PA", 1001, 5001, b"bad", chksum=0x1234, t=t + 0.01 + j * 0.001)
                for j in range(11)]
    packets.append(seg(c, s, "FA", 1001, 5001, t=t + 0.1))
    # a self-connection: same address and port both ways
    t, me = 50.0, ("10.0.0.5", 7777)
    packets += [seg(me, me, "S", 100, t=t), seg(me, me, "SA", 900, 101, t=t + 0.001),
                seg(me, me, "A", 101, 901, t=t + 0.002),
                seg(me, me, "PA", 101, 901, b"hi", t=t + 0.003)]
    # first a SYN-ACK; then the SYN (the reversal when flip_syn_ack is off)
    t, (c, s) = 60.0, _pair(6)
    packets += [seg(s, c, "SA", 5000, 1001, t=t), seg(c, s, "S", 1000, t=t + 0.001),
                seg(c, s, "A", 1001, 5001, t=t + 0.002)]
    # mid-stream starts from likely server ports (one, both)
    t, (c, s) = 70.0, _pair(7, 80)
    packets += [seg(s, c, "PA", 5000, 1000, b"HTTP/1.1 200 OK\r\n", t=t),
                seg(c, s, "A", 1000, 5017, t=t + 0.001)]
    packets.append(seg(("10.0.0.2", 80), ("10.0.0.1", 8080), "PA", 1, 1, b"x", t=t + 1))
    # SYN then RST (RSTOS0), SYN-ACK then RST (RSTRH), a rejected SYN (REJ)
    t, (c, s) = 80.0, _pair(8)
    packets += [seg(c, s, "S", 1000, t=t), seg(c, s, "R", 1001, t=t + 0.001)]
    c, s = _pair(9)
    packets += [seg(s, c, "SA", 5000, 1001, t=t + 1), seg(s, c, "R", 5001, t=t + 1.001)]
    c, s = _pair(10)
    packets += [seg(c, s, "S", 1000, t=t + 2), seg(s, c, "RA", 0, 1001, t=t + 2.001)]
    # IPv6, FIN both ways
    t, c, s = 90.0, ("2001:db8::1", 40000), ("2001:db8::2", 443)
    packets += [_v6(c, s, "S", 1000, 0, t=t), _v6(s, c, "SA", 5000, 1001, t=t + 0.001),
                _v6(c, s, "A", 1001, 5001, t=t + 0.002),
                _v6(c, s, "PA", 1001, 5001, b"hello", t=t + 0.003),
                _v6(s, c, "FA", 5001, 1006, t=t + 0.004), _v6(c, s, "FA", 1006, 5002, t=t + 0.005),
                _v6(s, c, "A", 5002, 1007, t=t + 0.006)]
    return packets


# --- reference and stage -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def captures(tmp_path_factory):
    """{name: (frames, infos, cols, tcp)} for every corpus capture and the crafted one."""
    tmp = tmp_path_factory.mktemp("conn_corpus")
    paths = corpus_paths(tmp)
    crafted = tmp / "conn_corners.pcap"
    wrpcap(str(crafted), crafted_corners())
    paths.append(crafted)
    out = {}
    for path in paths:
        frames = [decode_frame(r, path=path) for r in CaptureReader(path).records()]
        analyzer = TcpAnalyzer()
        infos = [analyzer.process(f) if f.tcp is not None else None for f in frames]
        cols, _ = from_frames(frames)
        out[path.name] = (frames, infos, cols, tcp_from_infos(infos))
    return out


def reference(frames, infos, **options):
    tracker = ConnectionTracker(**options)
    for frame, info in zip(frames, infos):
        if info is not None:
            tracker.process(frame, info)
    return tracker.finish()


def staged(cols, tcp, chunk, **options) -> ConnectionTable:
    stage = ConnStage(**options)
    for start in range(0, len(cols), chunk):
        stage.run(slice_frames(cols, start, start + chunk), slice_tcp(tcp, start, start + chunk))
    return stage.finish()


def first_mismatch(name, ref, table) -> str | None:
    ours = connections_from_table(table)
    if [c.id for c in ours] != [c.id for c in ref]:
        return f"{name}: connection ids {[c.id for c in ours]} != {[c.id for c in ref]}"
    for conn, want, count in zip(ours, ref, table.frames.tolist()):
        if count != len(want.frames):
            return f"{name}: connection {want.id} frames: {count} != {len(want.frames)}"
        want = want._replace(frames=())
        for field in want._fields:
            a, b = getattr(conn, field), getattr(want, field)
            if a != b or type(a) is not type(b):
                return f"{name}: connection {want.id} {field}: ours {a!r} != reference {b!r}"
    return None


def check_all(captures, names, chunks=CHUNKS, **options) -> int:
    compared = 0
    for name in names:
        frames, infos, cols, tcp = captures[name]
        ref = reference(frames, infos, **options)
        for chunk in chunks:
            problem = first_mismatch(f"{name} (chunk {chunk}, {options})", ref,
                                     staged(cols, tcp, chunk, **options))
            assert problem is None, problem
        compared += len(ref)
    return compared


@pytest.mark.parametrize("ignore_checksums", [False, True])
def test_every_capture_matches_the_tracker(captures, ignore_checksums):
    assert check_all(captures, sorted(captures), ignore_checksums=ignore_checksums) > 2000


def test_flip_options(captures):
    names = ["conn_corners.pcap", "zeek_handshake_reorder.pcap", "fuzz0.pcap", "fuzz5.pcap",
             "crafted_tcp.pcap"]
    assert check_all(captures, names, flip_syn_ack=False)
    assert check_all(captures, names, flip_syn_ack=False, likely_server_ports=frozenset({5000}))
    assert check_all(captures, names, likely_server_ports=frozenset(), ignore_checksums=True)


def test_crafted_corners_reach_the_pools(captures):
    """The crafted capture exercises what the test is for: overflow chunks, blocks, letters."""
    frames, infos, cols, tcp = captures["conn_corners.pcap"]
    table = staged(cols, tcp, 1_000_000)
    history = list(table.history)
    assert max(len(h) for h in history) > 12 + 2 * 28          # three overflow chunks
    for letter in "GwTC":          # scaled letters at the 1st and the 10th time
        assert any(h.count(letter) == 2 for h in history), letter
    assert {"RSTOS0", "RSTRH", "REJ", "SF", "OTH"} <= {
        c.conn_state for c in connections_from_table(table)}


def test_rstos0_pattern_is_zeeks_regex():
    pattern = re.compile(r"\^?S[^HAFGIQ]*R.*")
    rng = random.Random(7)
    alphabet = "^SHADFRIQCGTWshadfrcgtw"
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8)))
        if rng.random() < 0.5:
            text = rng.choice(("S", "^S")) + text
        got = _rstos0(np.frombuffer(text.encode(), np.uint8))
        assert got == bool(pattern.fullmatch(text)), text


def test_table_types_and_empty_stage(captures):
    assert len(ConnStage().finish().id) == 0
    frames, infos, cols, tcp = captures["zeek_http_get.pcap"]
    table = staged(cols, tcp, 5)
    expected = {"id": np.int64, "family": np.uint8, "orig_hi": np.uint64, "orig_port": np.int32,
                "conn_state": np.uint8, "history": object, "start_ns": np.int64,
                "irtt_ns": np.int64, "closed_by": np.int8, "end": np.uint8, "frames": np.int64}
    for field, dtype in expected.items():
        assert getattr(table, field).dtype == dtype, field
    assert all(isinstance(h, str) for h in table.history)
