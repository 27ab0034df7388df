"""Exchanges that mean something for any protocol: a response never precedes its request, and a
connection that does not speak the lab's line protocol is paired by turns, as Wireshark's Follow
TCP Stream groups its bytes (checked against `tshark -z follow,tcp,raw,N`)."""
from __future__ import annotations

import subprocess

import pytest

from analysis import analyze
from analysis.session.exchanges import MAX_MESSAGE, ExchangeTracker, turn_text
from tests.analysis.support.conformance import CONFORMANCE_DIR
from tests.analysis.support.encap_captures import turns_pcap
from tests.analysis.support.tshark_oracle import TSHARK, tshark_available

needs_tshark = pytest.mark.skipif(not tshark_available(), reason="tshark is not installed")
NOT_LAB = ("zeek_ftp_ipv4.pcap", "zeek_http_get.pcap")


def follow(pcap, stream: int) -> tuple[str, list[tuple[str, bytes]]]:
    """Follow TCP Stream of one tcp.stream: (node 0's "ip:port", [(node "ip:port", bytes)] in
    the order tshark shows the chunks)."""
    done = subprocess.run([TSHARK, "-n", "-r", str(pcap), "-q", "-z", f"follow,tcp,raw,{stream}"],
                          capture_output=True, text=True, check=True)
    nodes, chunks = {}, []
    for line in done.stdout.splitlines():
        if line.startswith("Node "):
            index, _, addr = line[5:].partition(": ")
            nodes[int(index)] = addr
        elif nodes and line.strip() and not line.startswith("="):
            chunks.append((nodes[1] if line.startswith("\t") else nodes[0], bytes.fromhex(line.strip())))
    return nodes[0], chunks


def turns_of(chunks, client: str) -> list[tuple[str, str | None]]:
    """(request, response) per client turn, from Follow TCP Stream's chunks: a turn is the run of
    chunks one node sends until the other one sends; a server turn that answers no client turn
    (a greeting) is no exchange."""
    turns: list[tuple[bool, bytes]] = []
    for node, data in chunks:
        if turns and turns[-1][0] == (node == client):
            turns[-1] = (turns[-1][0], turns[-1][1] + data)
        else:
            turns.append((node == client, data))
    pairs: list[tuple[str, str | None]] = []
    for k, (from_client, data) in enumerate(turns):
        if from_client:
            answer = turns[k + 1][1] if k + 1 < len(turns) else None
            pairs.append((turn_text(data[:MAX_MESSAGE]),
                          None if answer is None else turn_text(answer[:MAX_MESSAGE])))
    return pairs


def _not_lab_pcaps(tmp_path):
    return [CONFORMANCE_DIR / "pcaps" / name for name in NOT_LAB] + [turns_pcap(tmp_path / "turns.pcap")]


@needs_tshark
def test_turns_are_grouped_as_follow_tcp_stream_groups_them(tmp_path):
    checked = 0
    for pcap in _not_lab_pcaps(tmp_path):
        result = analyze(pcap)
        for conn in result.connections:
            node0, chunks = follow(pcap, conn.id)
            assert conn.orig == node0          # the stream's first sender: the client here
            want = turns_of(chunks, conn.orig)
            ours = [(e.request, e.response) for e in result.exchanges if e.conn == conn.id]
            assert ours == want, f"{pcap.name} stream {conn.id}"
            checked += len(want)
    assert checked == 17 + 1 + 5     # FTP control, HTTP, the crafted sessions


def test_no_response_precedes_its_request(tmp_path):
    for pcap in _not_lab_pcaps(tmp_path):
        result = analyze(pcap)
        frames = {f.number: f for f in result.frames}
        assert result.exchanges, pcap.name
        for e in result.exchanges:
            if e.response_frame is None:
                continue
            assert e.response_frame > e.request_frame, (pcap.name, e)
            assert e.latency == pytest.approx(frames[e.response_frame].time - frames[e.request_frame].time)
            assert e.latency > 0


def test_ftp_user_is_answered_by_331_not_by_the_greeting():
    result = analyze(CONFORMANCE_DIR / "pcaps" / "zeek_ftp_ipv4.pcap")
    first = result.exchanges[0]
    assert (first.request, first.request_frame, first.response_frame) == ("USER anonymous", 6, 7)
    assert first.response.startswith("331 Guest login ok")
    assert not any(e.response and e.response.startswith("220 ") for e in result.exchanges)
    http = analyze(CONFORMANCE_DIR / "pcaps" / "zeek_http_get.pcap").exchanges
    assert len(http) == 1 and http[0].request.startswith("GET /download/CHANGES.bro-aux.txt HTTP/1.1\r\n")
    assert http[0].response.startswith("HTTP/1.1 200 OK\r\n") and len(http[0].response) > 4000


def _feed(tracker, talk):
    """talk: [(from_client, bytes)] as consecutive in-order segments of connection 0."""
    seq = {True: 100, False: 900}
    for i, (from_client, data) in enumerate(talk):
        sender = ("c", 1) if from_client else ("s", 2)
        tracker.add(0, ("c", 1), sender, seq[from_client], data, i + 1, float(i))
        seq[from_client] += len(data)
    return tracker.finish()


def test_lab_lines_are_kept_and_a_reply_before_any_request_is_no_exchange():
    exchanges = _feed(ExchangeTracker(), [
        (False, b"ERROR server busy\n"), (True, b"Hello\nVOTE A\n"), (False, b"Echo: Hello\n"),
        (False, b"VOTED A A=1\n"), (True, b"RESULTS")])
    assert [(e.request, e.response, e.request_frame, e.response_frame, e.kind) for e in exchanges] == [
        ("Hello", "Echo: Hello", 2, 3, "echo"), ("VOTE A", "VOTED A A=1", 2, 4, "vote"),
        ("RESULTS", None, 5, None, "results")]


def test_turns_keep_their_bytes_and_a_silent_server_gives_one_unanswered_turn():
    exchanges = _feed(ExchangeTracker(), [
        (True, b"GET / HTTP/1.1\r\n"), (True, b"Host: x\r\n\r\n"), (False, b"HTTP/1.1 200 OK\r\n"),
        (False, b"\r\nbody"), (True, b"GET /2 HTTP/1.1\r\n\r\n")])
    assert [(e.request, e.response, e.request_frame, e.response_frame) for e in exchanges] == [
        ("GET / HTTP/1.1\r\nHost: x\r\n", "HTTP/1.1 200 OK\r\n\r\nbody", 1, 3),
        ("GET /2 HTTP/1.1\r\n", None, 5, None)]
    silent = _feed(ExchangeTracker(), [(True, b"EHLO a\r\n"), (True, b"MAIL x\r\n"), (True, b"y" * 70000)])
    assert [(len(e.request), e.request[:16], e.response) for e in silent] == [
        (MAX_MESSAGE, "EHLO a\r\nMAIL x\r\n", None)]


def test_the_kernels_use_the_same_rules():
    from analysis.session import exchanges
    from analysis.columnar.session import pairing as exch_pairing
    from analysis.columnar.session import reassembly as exch_reassembly

    assert exch_pairing.MAX_MESSAGE == exch_reassembly.MAX_MESSAGE == exchanges.MAX_MESSAGE
    kernel = tuple(bytes(p) for p in (exch_pairing._LAB_ECHO, exch_pairing._LAB_VOTED,
                                       exch_pairing._LAB_RESULTS, exch_pairing._LAB_ERROR))
    assert kernel == exchanges.LAB_REPLY_PREFIXES


def test_the_text_report_shows_a_turn_on_one_line():
    from analysis.report.text import render_plain

    text = render_plain(analyze(CONFORMANCE_DIR / "pcaps" / "zeek_http_get.pcap"))
    section = text.split("Exchanges (1)", 1)[1]
    (row,) = [line for line in section.splitlines() if "GET /download" in line]
    assert "HTTP/1.1 User-Agent: Wget" in row and "HTTP/1.1 200 OK Date:" in row and "…" in row
