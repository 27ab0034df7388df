"""Connections on crafted captures (scapy, written to tmp_path): every conn_state Zeek names, each
history letter and its repetition rule, the `^` flip, irtt, closed_by and end."""
from __future__ import annotations

import pytest
from scapy.layers.inet import TCP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.utils import wrpcap

from analysis.vocabulary import CONN_ENDS, HISTORY_LETTERS
from tests.analysis.support.conn_tracking import seg, track


# --- crafted captures ----------------------------------------------------------------------------

C, S = ("10.0.0.1", 40000), ("10.0.0.2", 5000)    # 5000: not in Zeek's likely_server_ports
ISN_C, ISN_S = 1000, 5000


def crafted(tmp_path, packets, **options):
    path = tmp_path / "crafted.pcap"
    wrpcap(str(path), packets)
    return track(path, **options)


def one(tmp_path, packets, **options):
    conn, = crafted(tmp_path, packets, **options)
    return conn


def handshake(t=0.0):
    return [seg(C, S, "S", ISN_C, t=t),
            seg(S, C, "SA", ISN_S, ISN_C + 1, t=t + 0.010),
            seg(C, S, "A", ISN_C + 1, ISN_S + 1, t=t + 0.020)]


def data_exchange():
    return [seg(C, S, "PA", ISN_C + 1, ISN_S + 1, b"hello\n", t=0.030),
            seg(S, C, "A", ISN_S + 1, ISN_C + 7, t=0.031),
            seg(S, C, "PA", ISN_S + 1, ISN_C + 7, b"Echo: hello\n", t=0.032),
            seg(C, S, "A", ISN_C + 7, ISN_S + 13, t=0.033)]


def fin(side, t):
    """A FIN,ACK from `side` after data_exchange()."""
    if side is C:
        return seg(C, S, "FA", ISN_C + 7, ISN_S + 13, t=t)
    return seg(S, C, "FA", ISN_S + 13, ISN_C + 7, t=t)


@pytest.mark.parametrize("name, packets, state, history", [
    ("S0", lambda: [seg(C, S, "S", ISN_C)], "S0", "S"),
    ("S1", handshake, "S1", "ShA"),
    ("SF", lambda: handshake() + data_exchange() + [
        fin(C, 0.04), fin(S, 0.05), seg(C, S, "A", ISN_C + 8, ISN_S + 14, t=0.06)],
     "SF", "ShADadFf"),
    ("REJ", lambda: [seg(C, S, "S", ISN_C), seg(S, C, "RA", 0, ISN_C + 1)], "REJ", "Sr"),
    ("S2", lambda: handshake() + data_exchange() + [fin(C, 0.04)], "S2", "ShADadF"),
    ("S3", lambda: handshake() + data_exchange() + [fin(S, 0.04)], "S3", "ShADadf"),
    ("RSTO", lambda: handshake() + [seg(C, S, "RA", ISN_C + 1, ISN_S + 1)], "RSTO", "ShAR"),
    ("RSTR", lambda: handshake() + [seg(S, C, "R", ISN_S + 1)], "RSTR", "ShAr"),
    ("RSTOS0", lambda: [seg(C, S, "S", ISN_C), seg(C, S, "R", ISN_C + 1)], "RSTOS0", "SR"),
    # SYN-ACK then RST from the responder, no SYN: flipped on creation (`^`), orig = receiver
    ("RSTRH", lambda: [seg(S, C, "SA", ISN_S, ISN_C + 1), seg(S, C, "R", ISN_S + 1)],
     "RSTRH", "^hr"),
    ("SH", lambda: [seg(C, S, "S", ISN_C), seg(C, S, "F", ISN_C + 1)], "SH", "SF"),
    ("SHR", lambda: [seg(S, C, "SA", ISN_S, ISN_C + 1), seg(S, C, "FA", ISN_S + 1, ISN_C + 1)],
     "SHR", "^hf"),
    ("OTH", lambda: [seg(C, S, "PA", ISN_C, ISN_S, b"mid-stream\n"),
                     seg(S, C, "A", ISN_S, ISN_C + 11)], "OTH", "Da"),
])
def test_every_conn_state(tmp_path, name, packets, state, history):
    conn = one(tmp_path, packets())
    assert (conn.conn_state, conn.history) == (state, history)
    assert set(conn.history) <= set(HISTORY_LETTERS) | {c.upper() for c in HISTORY_LETTERS}
    assert conn.end in CONN_ENDS
    if "^" in history:
        assert (conn.orig, conn.resp) == ("10.0.0.1:40000", "10.0.0.2:5000")
    else:
        assert (conn.orig_ip, conn.orig_port, conn.resp_ip, conn.resp_port) == (*C, *S)


def test_syn_ack_first_is_flipped_only_by_port_in_zeeks_own_rule(tmp_path):
    packets = [seg(S, C, "SA", ISN_S, ISN_C + 1), seg(C, S, "A", ISN_C + 1, ISN_S + 1)]
    # our default: the SYN-ACK's receiver originates (deliberate difference from Zeek, which
    # only flips when the source port is a likely server port: 5000 is not)
    conn = one(tmp_path, packets)
    assert (conn.orig, conn.history, conn.conn_state) == ("10.0.0.1:40000", "^hA", "S1")
    conn = one(tmp_path, packets, flip_syn_ack=False)
    assert (conn.orig, conn.history) == ("10.0.0.2:5000", "Ha")
    conn = one(tmp_path, packets, flip_syn_ack=False, likely_server_ports=frozenset({5000}))
    assert (conn.orig, conn.history) == ("10.0.0.1:40000", "^hA")


def test_midstream_flip_by_likely_server_port(tmp_path):
    web = ("10.0.0.2", 80)
    packets = [seg(web, C, "PA", ISN_S, ISN_C, b"HTTP/1.1 200 OK\r\n"),
               seg(C, web, "A", ISN_C, ISN_S + 17)]
    conn = one(tmp_path, packets)
    assert (conn.orig, conn.resp, conn.history) == ("10.0.0.1:40000", "10.0.0.2:80", "^dA")
    # both ports plausible servers and the source port the lower one: Zeek flips a non-SYN
    both = ("10.0.0.1", 8080)
    conn = one(tmp_path, [seg(web, both, "PA", ISN_S, ISN_C, b"x")])
    assert (conn.orig, conn.history) == ("10.0.0.1:8080", "^d")
    # source port unknown: no flip
    conn = one(tmp_path, [seg(C, web, "PA", ISN_C, ISN_S, b"GET / HTTP/1.1\r\n")])
    assert (conn.orig, conn.history) == ("10.0.0.1:40000", "D")


def test_syn_syn_ack_reversal_flips_midway(tmp_path):
    # Zeek's exact configuration (no flip on creation): SYN-ACK, then the SYN with the sequence
    # number the SYN-ACK acknowledged -> FlipRoles inside the state machine.
    packets = [seg(S, C, "SA", ISN_S, ISN_C + 1), seg(C, S, "S", ISN_C),
               seg(C, S, "A", ISN_C + 1, ISN_S + 1)]
    conn = one(tmp_path, packets, flip_syn_ack=False)
    assert (conn.orig, conn.history, conn.conn_state) == ("10.0.0.1:40000", "Hs^A", "S1")
    # Deliberate difference: the flipping SYN counts for its sender (Zeek's ConnSize sees the
    # pre-flip direction and counts it for the responder: 1 / 2)
    assert (conn.orig_pkts, conn.resp_pkts) == (2, 1)


def test_repeat_rules_for_f_and_r(tmp_path):
    # f/r repeat only when the sequence number differs; a/d once per direction
    packets = handshake() + [
        seg(C, S, "PA", ISN_C + 1, ISN_S + 1, b"a"), seg(C, S, "PA", ISN_C + 2, ISN_S + 1, b"b"),
        seg(C, S, "FA", ISN_C + 3, ISN_S + 1), seg(C, S, "FA", ISN_C + 3, ISN_S + 1),  # one F
        seg(S, C, "A", ISN_S + 1, ISN_C + 4), seg(S, C, "A", ISN_S + 1, ISN_C + 4),
        seg(S, C, "R", ISN_S + 1), seg(S, C, "R", ISN_S + 1),                       # one r
        seg(S, C, "R", ISN_S + 2)]                                                  # r again
    conn = one(tmp_path, packets)
    assert conn.history == "ShADFarr"


def test_repeat_rule_for_s_and_h():
    # A SYN with a new ISN is a new tshark stream, so this drives the Zeek engine on its own.
    # The relative sequence number is what must differ: a SYN in SYN_SENT re-initialises the
    # endpoint (rel 0 again, no new S); after a RST or FIN Zeek no longer re-initialises it.
    from analysis.conn.zeek import ZeekTcp
    zeek = ZeekTcp(*C, *S, flip=False)
    zeek.packet(True, 0x02, ISN_C, 0, 8192, 0, True)              # S
    zeek.packet(True, 0x02, ISN_C, 0, 8192, 0, True)              # retransmitted: nothing
    zeek.packet(True, 0x02, ISN_C + 300, 0, 8192, 0, True)        # SYN_seq_jump: rel 0, nothing
    zeek.packet(False, 0x12, ISN_S, ISN_C + 301, 8192, 0, True)   # h
    zeek.packet(False, 0x04, ISN_S + 1, 0, 8192, 0, True)         # r (resp RESET)
    zeek.packet(False, 0x12, ISN_S + 900, ISN_C + 301, 8192, 0, True)   # h again: other seq
    zeek.packet(True, 0x11, ISN_C + 301, ISN_S + 1, 8192, 0, True)      # F (orig CLOSED)
    zeek.packet(True, 0x02, ISN_C + 800, 0, 8192, 0, True)        # S again: other seq
    assert "".join(zeek.history) == "ShrhFS"


def test_logarithmic_letters(tmp_path):
    packets = handshake() + [seg(C, S, "PA", ISN_C + 1, ISN_S + 1, b"x" * 10)]
    # 12 retransmissions of the same segment: T at the 1st and the 10th
    packets += [seg(C, S, "PA", ISN_C + 1, ISN_S + 1, b"x" * 10) for _ in range(12)]
    # 10 bad checksums from the responder: c at the 1st and 10th
    packets += [seg(S, C, "A", ISN_S + 1, ISN_C + 11, chksum=0xBAD) for _ in range(10)]
    # zero windows from the responder: w at the 1st only (3 < 10)
    packets += [seg(S, C, "A", ISN_S + 1, ISN_C + 11, window=0) for _ in range(3)]
    conn = one(tmp_path, packets)
    assert conn.history == "ShADTTccaw"
    assert (conn.orig_pkts, conn.resp_pkts) == (2 + 13, 1 + 3)     # bad checksums not counted


def test_content_gap(tmp_path):
    # the responder ACKs 100 bytes of which only the last 50 were captured: one gap (G), found
    # by the ACK after its `a` was recorded
    packets = handshake() + [seg(C, S, "PA", ISN_C + 51, ISN_S + 1, b"y" * 50),
                             seg(S, C, "A", ISN_S + 1, ISN_C + 101)]
    conn = one(tmp_path, packets)
    assert (conn.history, conn.orig_bytes) == ("ShADaG", 100)


def test_inconsistent_and_multi_flag(tmp_path):
    other = ("10.0.0.3", 40001)
    packets = handshake() + [seg(C, S, "FR", ISN_C + 1, ISN_S + 1),
                             seg(other, S, "SF", 77)]
    first, second = crafted(tmp_path, packets)
    assert (first.history, first.conn_state) == ("ShAI", "RSTO")   # FIN+RST: i, then RESET
    assert (second.history, second.conn_state) == ("Q", "SH")      # SYN+FIN: q


def test_bad_checksum_packets_change_no_state(tmp_path):
    packets = [seg(C, S, "S", ISN_C), seg(S, C, "SA", ISN_S, ISN_C + 1, chksum=0xBAD)]
    conn = one(tmp_path, packets)
    assert (conn.history, conn.conn_state, conn.resp_pkts) == ("Sc", "S0", 0)
    conn = one(tmp_path, packets, ignore_checksums=True)
    assert (conn.history, conn.conn_state, conn.resp_pkts) == ("Sh", "S1", 1)


def test_summary_fields(tmp_path):
    packets = handshake() + data_exchange() + [fin(S, 0.04), fin(C, 0.05),
                                               seg(S, C, "A", ISN_S + 14, ISN_C + 8, t=0.06)]
    conn = one(tmp_path, packets)
    assert conn.id == 0
    assert conn.start == pytest.approx(1_700_000_000.0)
    assert conn.irtt == pytest.approx(0.020, abs=1e-6)          # SYN -> handshake ACK
    assert conn.duration == pytest.approx(0.05, abs=1e-6)       # the ACK after both FINs: no
    assert (conn.orig_pkts, conn.resp_pkts) == (5, 5)
    assert (conn.orig_bytes, conn.resp_bytes) == (6, 12)
    assert (conn.closed_by, conn.end) == ("resp", "fin-both")
    assert conn.frames == tuple(range(1, 11))


@pytest.mark.parametrize("tail, closed_by, end", [
    ([], None, "open"),
    ([fin(C, 0.04)], "orig", "fin-one"),
    ([fin(S, 0.04), seg(C, S, "R", ISN_C + 7, t=0.05)], "resp", "fin-rst"),
    ([seg(S, C, "RA", ISN_S + 13, ISN_C + 7, t=0.04)], "resp", "rst"),
])
def test_closed_by_and_end(tmp_path, tail, closed_by, end):
    conn = one(tmp_path, handshake() + data_exchange() + tail)
    assert (conn.closed_by, conn.end) == (closed_by, end)


def test_ipv6_endpoints_are_bracketed(tmp_path):
    a, b = "2001:db8::1", "2001:db8::2"
    packets = [Ether() / IPv6(src=a, dst=b) / TCP(sport=40000, dport=5000, flags="S", seq=1),
               Ether() / IPv6(src=b, dst=a) / TCP(sport=5000, dport=40000, flags="SA", seq=9,
                                                  ack=2)]
    conn = one(tmp_path, packets)
    assert (conn.orig, conn.resp, conn.conn_state) == ("[2001:db8::1]:40000",
                                                       "[2001:db8::2]:5000", "S1")


def test_connections_are_streams_in_order(tmp_path):
    other = ("10.0.0.3", 40001)
    packets = [seg(C, S, "S", ISN_C), seg(other, S, "S", 77), seg(S, C, "RA", 0, ISN_C + 1)]
    first, second = crafted(tmp_path, packets)
    assert (first.id, first.conn_state, first.frames) == (0, "REJ", (1, 3))
    assert (second.id, second.conn_state, second.frames) == (1, "S0", (2,))


def test_close_is_not_deferred_while_data_is_missing(tmp_path):
    # The responder's FIN comes after a hole nobody acknowledges, then both FINs, then a late
    # ACK. Deliberate difference: Zeek defers the responder's close while data is pending, so
    # its duration would run to the late ACK; here the FIN closes that side at once.
    packets = handshake() + [
        seg(S, C, "PA", ISN_S + 11, ISN_C + 1, b"z" * 10, t=0.03),      # bytes 1..10 missing
        seg(S, C, "FA", ISN_S + 21, ISN_C + 1, t=0.04),
        seg(C, S, "FA", ISN_C + 1, ISN_S + 1, t=0.05),
        seg(C, S, "A", ISN_C + 2, ISN_S + 1, t=0.50)]
    conn = one(tmp_path, packets)
    assert (conn.conn_state, conn.end) == ("SF", "fin-both")
    assert conn.duration == pytest.approx(0.05, abs=1e-6)
