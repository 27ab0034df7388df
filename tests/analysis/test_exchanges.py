"""Request/response pairing on real lab traffic (loopback) and on crafted reassembly cases."""
from __future__ import annotations

import shutil

import pytest
from scapy.all import IP, TCP, Ether, wrpcap

from analysis import analyze
from analysis.session.exchanges import ExchangeTracker, exchange_kind, vote_totals
from tests.analysis.support.lab_capture import capture_lab, lab_client, legacy_client, root

needs_tcpdump = pytest.mark.skipif(not (root() and shutil.which("tcpdump")),
                                   reason="capturing on lo needs root and tcpdump")


@needs_tcpdump
def test_the_course_session_is_read_back_from_the_wire(tmp_path):
    pcap = capture_lab(tmp_path / "lab.pcap", lab_client(
        "-m", "Hello Server", "-m", "Apa kabar?", "--vote", "A", "--vote", "B", "--vote", "A",
        "-m", "RESULTS", "-m", "bye"))
    # Loopback never fills in TCP checksums (offload), so trust them, as zeek -C does.
    result = analyze(pcap, verify_checksums=False)
    assert [(e.kind, e.request.split(" id=")[0], e.response) for e in result.exchanges] == [
        ("echo", "Hello Server", "Echo: Hello Server"),
        ("echo", "Apa kabar?", "Echo: Apa kabar?"),
        ("vote", "VOTE A", "VOTED A A=1 B=0 C=0"),
        ("vote", "VOTE B", "VOTED B A=1 B=1 C=0"),
        ("vote", "VOTE A", "VOTED A A=2 B=1 C=0"),
        ("results", "RESULTS", "RESULTS A=2 B=1 C=0"),
        ("echo", "bye", "Echo: bye"),
    ]
    assert result.votes == {"A": 2, "B": 1, "C": 0}
    frames = {f.number: f for f in result.frames}
    for exchange in result.exchanges:
        assert frames[exchange.request_frame].direction == "request"
        assert frames[exchange.response_frame].direction == "response"
        assert exchange.latency == pytest.approx(
            frames[exchange.response_frame].time - frames[exchange.request_frame].time)
    (conn,) = result.connections
    assert conn.conn_state == "SF" and conn.closed_by == "orig" and conn.end == "fin-both"
    assert conn.history == "ShADadFf"
    # Verifying checksums (the default) leaves every segment out, and says why.
    strict = analyze(pcap)
    assert strict.connections[0].conn_state == "OTH"
    assert [w.code for w in strict.warnings] == ["bad-checksums"]
    assert "--ignore-checksums" in strict.warnings[0].message


@needs_tcpdump
def test_messages_without_newline_are_one_message_each(tmp_path):
    pcap = capture_lab(tmp_path / "legacy.pcap", legacy_client("Hello Server", "Apa kabar?"))
    result = analyze(pcap)
    assert [(e.request, e.response) for e in result.exchanges] == [
        ("Hello Server", "Echo: Hello Server"), ("Apa kabar?", "Echo: Apa kabar?")]


def _session(tmp_path, segments):
    """A handshake, then `segments` = [(from_client, seq_offset, payload)], then nothing."""
    cli, srv = ("10.0.0.1", 40000), ("10.0.0.2", 2222)
    eth = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
    packets = [eth / IP(src=cli[0], dst=srv[0]) / TCP(sport=cli[1], dport=srv[1], flags="S", seq=999),
               eth / IP(src=srv[0], dst=cli[0]) / TCP(sport=srv[1], dport=cli[1], flags="SA", seq=4999, ack=1000),
               eth / IP(src=cli[0], dst=srv[0]) / TCP(sport=cli[1], dport=srv[1], flags="A", seq=1000, ack=5000)]
    for i, (from_client, offset, payload) in enumerate(segments):
        a, b, base = (cli, srv, 1000) if from_client else (srv, cli, 5000)
        pkt = eth / IP(src=a[0], dst=b[0]) / TCP(sport=a[1], dport=b[1], flags="PA", seq=base + offset) / payload
        pkt.time = 1_700_000_000 + i * 0.01 + 0.1
        packets.append(pkt)
    for i, pkt in enumerate(packets[:3]):
        pkt.time = 1_700_000_000 + i * 0.001
    path = tmp_path / "crafted.pcap"
    wrpcap(str(path), packets)
    return path


def test_retransmitted_and_reordered_bytes_are_reassembled_once(tmp_path):
    path = _session(tmp_path, [
        (True, 0, b"VOTE A id="), (True, 10, b"t1\n"), (True, 10, b"t1\n"),   # retransmission
        (False, 8, b"A=1 B=0\n"), (False, 0, b"VOTED A "),                   # reordered
        (True, 13, b"RESULTS\n"), (False, 16, b"RESULTS A=1 B=0\n"),
    ])
    result = analyze(path)
    assert [(e.request, e.response) for e in result.exchanges] == [
        ("VOTE A id=t1", "VOTED A A=1 B=0"), ("RESULTS", "RESULTS A=1 B=0")]
    assert result.votes == {"A": 1, "B": 0}
    assert result.exchanges[0].request_frame == 4


def test_a_request_without_answer_is_reported_with_no_response(tmp_path):
    path = _session(tmp_path, [(True, 0, b"Hello\n"), (False, 0, b"Echo: Hello\n"), (True, 6, b"bye\n")])
    result = analyze(path)
    assert [(e.request, e.response, e.latency is None) for e in result.exchanges] == [
        ("Hello", "Echo: Hello", False), ("bye", None, True)]


def test_kinds_and_totals():
    assert exchange_kind("vote c", "ERROR unknown option 'C' (options: A, B)") == "error"
    assert exchange_kind("VOTE A", "VOTED A A=1") == "vote"
    assert exchange_kind("results", "RESULTS A=0") == "results"
    assert exchange_kind("hi", "Echo: hi") == "echo"
    assert exchange_kind("GET /", "HTTP/1.1 200 OK") == "other"
    tracker = ExchangeTracker()
    tracker.add(0, ("c", 1), ("c", 1), 10, b"VOTE A\n", 1, 0.0)
    tracker.add(0, ("c", 1), ("s", 2), 50, b"VOTED A A=3 B=4\n", 2, 0.5)
    exchanges = tracker.finish()
    assert exchanges[0].latency == 0.5
    assert vote_totals(exchanges) == {"A": 3, "B": 4}
