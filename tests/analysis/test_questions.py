"""The lab questions: each answer checked against the frames it claims to come from."""
from __future__ import annotations

from analysis import vocabulary

import pytest

from analysis import analyze
from analysis.report.questions import (ALPHA, Answer, acked_bytes, answer_all, arp_answers,
                                connection_answers, estimated_rtt, mac_to_ip, rtt_samples, throughput)

RETRANSMISSIONS = {"retransmission", "fast-retransmission", "spurious-retransmission"}


def by_key(answers: list[Answer]) -> dict[str, Answer]:
    return {a.key: a for a in answers}


def frame(result, number):
    return next(f for f in result.frames if f.number == number)


def test_endpoints_syn_and_syn_ack(default):
    c = default.connections[0]
    a = by_key(connection_answers(default, c.id))
    assert a["endpoints"].value == c.orig
    assert f"{c.orig_ip} port {c.orig_port}" in a["endpoints"].answer
    assert f"{c.resp_ip} port {c.resp_port}" in a["endpoints"].answer
    syn = frame(default, a["syn"].frames[0])
    assert syn.label == "syn" and syn.flags == "SYN" and syn.seq == 0
    assert a["syn"].value == syn.seq_raw and str(syn.seq_raw) in a["syn"].answer
    assert "SYN flag is set" in a["syn"].answer
    synack = frame(default, a["syn-ack"].frames[-1])
    assert synack.label == "syn-ack"
    assert a["syn-ack"].value == synack.ack_raw == (syn.seq_raw + 1) % 2**32
    assert f"{syn.seq_raw} + 1 = {synack.ack_raw}" in a["syn-ack"].answer


def test_first_data_segment(default):
    a = by_key(connection_answers(default, 0))["first-data"]
    first = frame(default, a.frames[0])
    assert first.payload_len > 0 and first.seq == 1 and first.direction == "request"
    assert a.value == first.payload_len == len("Hello Server\n")
    assert all(f.payload_len == 0 for f in default.frames if f.number < first.number)


def test_irtt_and_latencies(default):
    c = default.connections[0]
    a = by_key(connection_answers(default, c.id))
    assert a["irtt"].value == c.irtt
    assert [frame(default, n).label for n in a["irtt"].frames] == ["syn", "handshake-ack"]
    latencies = [x for x in connection_answers(default, c.id) if x.key.startswith("latency-")]
    assert [x.value for x in latencies] == [e.latency for e in default.exchanges]
    assert latencies[0].frames == (default.exchanges[0].request_frame, default.exchanges[0].response_frame)


def test_rtt_samples_run_from_a_segment_to_the_first_ack_covering_it(default):
    samples = rtt_samples(default, 0)
    assert len(samples) == sum(1 for f in default.frames if f.direction == "request")
    for s in samples:
        data, ack = frame(default, s.frame), frame(default, s.ack_frame)
        assert ack.ack >= data.seq + data.payload_len and ack.src == data.dst
        earlier = [f for f in default.frames if data.number < f.number < ack.number
                   and f.src == data.dst and "ACK" in f.flags and f.ack >= data.seq + data.payload_len]
        assert not earlier
        assert s.rtt == pytest.approx(ack.time - data.time)


def test_estimated_rtt_is_the_classic_ewma_over_the_first_six_samples(default):
    estimate = estimated_rtt(default, 0)
    samples = [s.rtt for s in rtt_samples(default, 0)][:6]
    expected = samples[0]
    for sample in samples[1:]:
        expected = 0.875 * expected + 0.125 * sample
    assert estimate.alpha == ALPHA == 0.125
    assert len(estimate.samples) == 6
    assert estimate.final == pytest.approx(expected)
    assert by_key(connection_answers(default, 0))["estimated-rtt"].value == pytest.approx(expected)


def test_no_retransmission_in_the_default_session(default):
    a = by_key(connection_answers(default, 0))["retransmissions"]
    assert a.value == 0 and a.answer.startswith("No")


def test_retransmissions_in_the_lossy_session(lossy):
    conn = lossy.connections[0].id
    a = by_key(connection_answers(lossy, conn))["retransmissions"]
    repeated = [f.number for f in lossy.frames if set(f.analysis) & RETRANSMISSIONS]
    assert repeated and a.value == len(repeated)
    assert set(repeated) <= set(a.frames)
    assert "[TCP Retransmission]" in a.answer
    # Karn's rule: no RTT sample from a segment that was sent twice
    resent = {(f.src, f.seq) for f in lossy.frames if set(f.analysis) & RETRANSMISSIONS}
    for s in rtt_samples(lossy, conn) + rtt_samples(lossy, conn, side="server"):
        data = frame(lossy, s.frame)
        assert (data.src, data.seq) not in resent


def test_bytes_acknowledged_add_up_to_what_the_peer_sent(default):
    c = default.connections[0]
    acks = acked_bytes(default, c.id)
    # after the handshake (Ack=1), the client acknowledges the server's bytes and its FIN
    assert sum(a.acked for a in acks if a.side == "client") == c.resp_bytes + 1
    assert sum(a.acked for a in acks if a.side == "server") == c.orig_bytes + 1
    first = acks[0]
    assert first.acked == frame(default, default.exchanges[0].request_frame).payload_len


def test_throughput(default):
    c = default.connections[0]
    t = throughput(default, c.id, "client")
    assert t.bytes == c.orig_bytes
    assert t.seconds == pytest.approx(frame(default, t.last_frame).time - frame(default, t.first_frame).time)
    assert t.bytes_per_second == pytest.approx(t.bytes / t.seconds)
    assert by_key(connection_answers(default, c.id))["throughput"].value == pytest.approx(t.bytes_per_second)


def test_who_closed_first(default, refused):
    a = by_key(connection_answers(default, 0))["closed-first"]
    first_fin = next(f for f in default.frames if f.label == "fin")
    assert a.value == "orig" and (first_fin.src, first_fin.sport) == (default.connections[0].orig_ip,
                                                                      default.connections[0].orig_port)
    assert f"frame {first_fin.number}" in a.answer
    r = by_key(connection_answers(refused, 0))
    assert r["closed-first"].value == "resp" and "RST" in r["closed-first"].answer
    rst = next(f for f in refused.frames if f.label == "rst")
    assert r["syn-ack"].frames == (rst.number,) and "refused" in r["syn-ack"].answer
    assert r["first-data"].frames == () and r["estimated-rtt"].value is None


def test_arp_who_asked_who_answered_broadcast_and_opcodes(default):
    a = by_key(arp_answers(default))
    request = next(f for f in default.frames if f.label == "arp-request")
    reply = next(f for f in default.frames if f.label == "arp-reply")
    client, server = default.connections[0].orig_ip, default.connections[0].resp_ip
    assert a["arp-who-asked"].value == client and a["arp-who-asked"].frames == (request.number,)
    assert f"asked who has {server}" in a["arp-who-asked"].answer
    assert a["arp-broadcast"].value == "ff:ff:ff:ff:ff:ff" and request.dst == "ff:ff:ff:ff:ff:ff"
    assert a["arp-who-answered"].value == server and a["arp-who-answered"].frames == (reply.number,)
    assert a["arp-opcodes"].value == "1,2"
    assert a["arp-opcodes"].frames == (request.number, reply.number)
    assert (request.arp.opcode, request.arp.spa, request.arp.tpa) == (1, client, server)
    assert (reply.arp.opcode, reply.arp.spa, reply.arp.sha, reply.arp.tpa) == (2, server, reply.src, client)
    assert mac_to_ip(default.frames) == {request.src: client, reply.src: server}


def test_every_answer_names_real_frames_and_a_filter_for_them(default, lossy, refused):
    for result in (default, lossy, refused):
        numbers = {f.number for f in result.frames}
        for answer in answer_all(result):
            assert set(answer.frames) <= numbers, answer
            if answer.frames:
                # commas: tshark 4.0 rejects space-separated members (test_printed_filters runs it)
                assert answer.wireshark_filter == vocabulary.frame_filter(answer.frames)


def test_a_capture_without_arp_or_syn(conformance_dir):
    midstream = analyze(conformance_dir / "pcaps" / "zeek_retransmit_timeout.pcapng")
    answers = by_key(connection_answers(midstream, midstream.connections[0].id))
    assert answers["syn"].frames == () and answers["syn"].answer.startswith("No SYN")
    assert answers["irtt"].value is None
    http = analyze(conformance_dir / "pcaps" / "zeek_http_get.pcap")
    assert arp_answers(http) == []
    answers = by_key(connection_answers(http, 0))
    assert answers["syn"].value == next(f.seq_raw for f in http.frames if f.label == "syn")
    assert answers["closed-first"].value == "orig"
