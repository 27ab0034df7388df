"""Phases and labels (vocabulary.PHASES / LABELS) on the conformance captures.

Every frame of every capture is checked against what tshark's own dissection says the frame is
(flags, payload length, ARP opcode), and a few whole conversations are checked label by label.
"""
from __future__ import annotations

import pytest

from analysis import analyze, vocabulary

SYN, ACK, RST, FIN = 0x002, 0x010, 0x004, 0x001


@pytest.fixture(scope="module")
def analysed():
    cache = {}

    def get(conformance_dir, name):
        if name not in cache:
            cache[name] = analyze(conformance_dir / "pcaps" / name)
        return cache[name]
    return get


def test_every_frame_gets_a_label_that_agrees_with_tshark(conformance_name, conformance_dir,
                                                          conformance_truth, analysed):
    result = analysed(conformance_dir, conformance_name)
    truth = conformance_truth(conformance_name)
    assert [f.number for f in result.frames] == [row["frame.number"] for row in truth.packets]
    for frame, row in zip(result.frames, truth.packets):
        assert frame.phase in vocabulary.PHASES
        assert frame.label in vocabulary.LABELS
        assert vocabulary.LABEL_PHASE[frame.label] == frame.phase or frame.label in ("rst",)
        assert set(frame.analysis) <= set(vocabulary.ANALYSIS_FLAGS)
        flags = row["tcp.flags"]
        where = f"{conformance_name} frame {frame.number}"
        if isinstance(flags, tuple):      # an ICMP error quoting a TCP header: not a TCP frame
            continue
        if flags is not None and frame.proto == "tcp":
            assert frame.conn == row["tcp.stream"], where
            if flags & RST:
                expected = {"rst"}
            elif flags & SYN:
                expected = {"syn-ack"} if flags & ACK else {"syn"}
            elif flags & FIN:
                expected = {"fin"}
            elif row["tcp.len"]:
                expected = {"data"}
            else:
                expected = {"ack", "handshake-ack", "teardown-ack", "tcp"}
            assert frame.label in expected, where
            assert (frame.direction is not None) == (frame.label == "data"), where
        elif row["arp.opcode"] is not None:
            opcode = row["arp.opcode"]
            if opcode in (3, 4):
                assert frame.label == "rarp", where
            elif row["arp.src.proto_ipv4"] == row["arp.dst.proto_ipv4"]:
                assert frame.label == "arp-announcement", where
            else:
                assert frame.label == {1: "arp-request", 2: "arp-reply"}[opcode], where
        else:
            assert frame.phase == "other", where


def _labels(result):
    return [(f.label, f.direction) if f.direction else f.label for f in result.frames]


def test_a_complete_http_session_reads_like_the_course_analysis(conformance_dir, analysed):
    result = analysed(conformance_dir, "zeek_http_get.pcap")
    assert _labels(result) == [
        "syn", "syn-ack", "handshake-ack", ("data", "request"), "ack",
        ("data", "response"), ("data", "response"), ("data", "response"), ("data", "response"),
        "ack", "ack", "fin", "fin", "teardown-ack"]
    assert [f.phase for f in result.frames][:3] == ["handshake"] * 3
    assert result.frames[11].src == "141.142.228.5"     # the client closes first


def test_arp_then_tcp_then_reset(conformance_dir, analysed):
    result = analysed(conformance_dir, "tcpdump_mptcp_fclose_arp.pcap")
    assert _labels(result) == [
        "arp-request", "arp-reply", "syn", "syn-ack", "handshake-ack", ("data", "request"), "ack",
        ("data", "response"), "ack", "ack", "rst"]
    assert result.frames[0].dst == "ff:ff:ff:ff:ff:ff"
    assert result.frames[0].info == "Who has 10.2.1.2? Tell 10.2.1.1"
    assert result.frames[1].info == "10.2.1.2 is at d6:06:3c:4a:35:7a"
    assert result.frames[9].analysis == ("duplicate-ack",)


def test_syn_ack_captured_before_the_syn_keeps_the_client_as_client(conformance_dir, analysed):
    # The SYN-ACK comes first in this file; the request still goes client -> server.
    result = analysed(conformance_dir, "zeek_handshake_reorder.pcap")
    assert _labels(result)[:4] == ["syn-ack", "syn", "handshake-ack", ("data", "request")]


def test_refused_connection_is_syn_then_rst(conformance_dir, analysed):
    result = analysed(conformance_dir, "pcpp_one_tcp_rst_refused.pcap")
    assert [(f.phase, f.label) for f in result.frames] == [("handshake", "syn"), ("reset", "rst")]


def test_gratuitous_arp_is_an_announcement(conformance_dir, analysed):
    result = analysed(conformance_dir, "zeek_linuxsll_arp.pcap")
    labels = {f.label for f in result.frames}
    assert labels <= {"arp-request", "arp-announcement", "arp-reply"}
    assert "arp-announcement" in labels


def test_non_tcp_frames_are_named_by_protocol(conformance_dir, analysed):
    result = analysed(conformance_dir, "zeek_linux_sll2_arp_icmp.pcap")
    labels = [f.label for f in result.frames]
    assert "icmp" in labels and "icmpv6" in labels and "arp-request" in labels and "rarp" in labels
    dns = analysed(conformance_dir, "zeek_pcapng_multi_interface.pcapng")
    assert {f.label for f in dns.frames} == {"udp"}
    assert {f.phase for f in dns.frames} == {"other"}


def test_retransmission_flags_are_analysis_flags():
    assert set(vocabulary.RETRANSMISSION_FLAGS) <= set(vocabulary.ANALYSIS_FLAGS)
    assert all("retransmission" in flag for flag in vocabulary.RETRANSMISSION_FLAGS)
