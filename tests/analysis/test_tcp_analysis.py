"""TcpAnalyzer against tshark 4.0: the conformance truth files frame by frame, the real tshark on
every conformance capture (values too), and crafted captures for every analysis flag, each
checked against tshark itself so the expectations are tshark's, not ours."""
from __future__ import annotations

import pytest

from analysis.decode import decode_frame
from analysis.reader import iter_records
from analysis.tcp_analysis import TcpAnalyzer
from analysis.vocabulary import ANALYSIS_FIELDS, ANALYSIS_FLAGS
from tests.analysis.conftest import conformance_names
from tests.analysis.crafted import TcpConversation, write_conversations
from tests.analysis.tshark_oracle import (
    our_tcp_infos as analyze, tcp_disagreements, tshark_available, tshark_tcp_fields_many)

# Deliberate differences from the conformance truth: {(capture, frame, field): (ours, truth)}.
# None so far - every TCP frame of the set agrees with tshark 4.0.17.  A new entry must say why.
DELIBERATE_DIFFERENCES: dict[tuple[str, int, str], tuple[object, object]] = {}

# The expert message (tshark_expert.tsv) of each analysis flag.  Zero window, window full,
# keep-alive ACK and the zero-window probes are only in the expert file, not in the CSV.
EXPERT_MESSAGES = {
    "retransmission": "This frame is a (suspected) retransmission",
    "fast-retransmission": "This frame is a (suspected) fast retransmission",
    "spurious-retransmission": "This frame is a (suspected) spurious retransmission",
    "out-of-order": "This frame is a (suspected) out-of-order segment",
    "lost-segment": "Previous segment(s) not captured",
    "ack-lost-segment": "ACKed segment that wasn't captured",
    "duplicate-ack": "Duplicate ACK (#",
    "zero-window": "TCP Zero Window segment",
    "zero-window-probe": "TCP Zero Window Probe",
    "zero-window-probe-ack": "ACK to a TCP Zero Window Probe",
    "window-update": "TCP window update",
    "window-full": "TCP window specified by the receiver is now completely full",
    "keep-alive": "TCP keep-alive segment",
    "keep-alive-ack": "ACK to a TCP keep-alive segment",
    "reused-ports": "A new tcp session is started with the same ports",
}


def expert_flags(messages: str) -> set[str]:
    found = {name for name, text in EXPERT_MESSAGES.items() if text in messages}
    # "... (suspected) retransmission" is not part of the fast/spurious texts, and the plain
    # zero-window-probe text is a prefix of nothing else but is inside the probe-ACK text
    if "zero-window-probe-ack" in found and messages.count("TCP Zero Window Probe") == 1:
        found.discard("zero-window-probe")
    return found


def test_expert_messages_cover_every_flag():
    assert set(EXPERT_MESSAGES) == set(ANALYSIS_FLAGS)


# -- conformance truth files -------------------------------------------------------------------

@pytest.mark.parametrize("name", conformance_names)
def test_conformance_matches_truth_frame_by_frame(name, conformance_dir, conformance_truth):
    truth = conformance_truth(name)
    ours, _ = analyze(truth.pcap)
    csv_flags = {flag: field for flag, field in ANALYSIS_FIELDS.items()
                 if field in truth.packets[0]}
    assert len(csv_flags) == 10        # the CSV's columns; the other five are in the expert file
    problems = {}
    for row in truth.packets:
        number, stream = row["frame.number"], row["tcp.stream"]
        info = ours.get(number)
        if stream is None:
            if info is not None:
                problems[(name, number, "is-tcp")] = (True, False)
            continue
        if info is None:
            problems[(name, number, "is-tcp")] = (False, True)
            continue
        got = {"stream": info.stream,
               "tcp.analysis.flags": bool(info.analysis),
               "initial_rtt": info.irtt_ns}
        want = {"stream": stream,
                "tcp.analysis.flags": row["tcp.analysis.flags"],
                "initial_rtt": None if row["tcp.analysis.initial_rtt"] is None
                else round(row["tcp.analysis.initial_rtt"] * 1e9)}
        for flag, field in csv_flags.items():
            got[field] = flag in info.analysis
            want[field] = row[field]
        for field in got:
            if got[field] != want[field]:
                problems[(name, number, field)] = (got[field], want[field])
    expected = {k: v for k, v in DELIBERATE_DIFFERENCES.items() if k[0] == name}
    assert problems == expected


@pytest.mark.parametrize("name", conformance_names)
def test_conformance_matches_expert_notes(name, conformance_dir, conformance_truth):
    truth = conformance_truth(name)
    ours, _ = analyze(truth.pcap)
    problems = []
    for row in truth.expert:
        if row.stream is None:
            continue
        want = expert_flags(row.messages)
        got = set(ours[row.frame].analysis) if row.frame in ours else set()
        if got != want:
            problems.append((row.frame, sorted(got), sorted(want)))
    assert problems == []


def test_conformance_set_exercises_tcp(conformance_dir, conformance_truth):
    # guard against a vacuous pass: the set has 226 TCP frames in 21 captures, with
    # retransmissions, spurious, lost, ack-lost, dup-ack, window-update and reused-ports
    frames = flags = 0
    for name in conformance_names:
        truth = conformance_truth(name)
        frames += sum(1 for row in truth.packets if row["tcp.stream"] is not None)
        flags += sum(1 for row in truth.packets if row["tcp.analysis.flags"])
    assert frames == 226 and flags == 9


# -- the real tshark, one pass, values included ------------------------------------------------

def require_tshark():
    if not tshark_available():
        pytest.fail("tshark is not installed (make tools installs it): the oracle tests need it")


@pytest.fixture(scope="module")
def live_tshark(conformance_dir):
    """tshark's one-pass view of every conformance capture, run concurrently once."""
    require_tshark()
    return tshark_tcp_fields_many(conformance_dir / "pcaps" / name for name in conformance_names)


@pytest.mark.parametrize("name", conformance_names)
def test_conformance_agrees_with_live_tshark(name, conformance_dir, live_tshark):
    # stream, flags, iRTT, relative seq/ack/nxtseq, window and scale factor on every frame
    path = conformance_dir / "pcaps" / name
    assert tcp_disagreements(path, theirs=live_tshark[path]) == []


# -- crafted captures: one case per flag, tshark's verdict asserted, then ours compared ---------

def _retransmission(c):
    c.handshake(); c.client(b"x" * 10); c.client(b"x" * 10, seq=1, after=0.5)
    return {5: {"retransmission"}}


def _spurious(c):
    c.handshake(); c.client(b"x" * 10); c.server(after=0.01); c.client(b"x" * 10, seq=1, after=1)
    return {6: {"retransmission", "spurious-retransmission"}}


def _spurious_before_out_of_order(c):
    # acknowledged bytes resent within the iRTT: 4.0 checks "spurious" before out-of-order
    c.handshake(rtt=0.5); c.client(b"x" * 10); c.client(b"x" * 10); c.server(after=0.01)
    c.client(b"x" * 10, seq=1, after=0.001)
    return {7: {"retransmission", "spurious-retransmission"}}


def _out_of_order(c):
    c.handshake(rtt=0.05); c.client(b"x" * 10, seq=11); c.client(b"x" * 10, seq=1, after=0.001)
    return {4: {"lost-segment"}, 5: {"out-of-order"}}


def _out_of_order_3ms_without_irtt(c):
    # no handshake: no iRTT, so the out-of-order window is 3 ms (2 ms: out-of-order, 5 ms: not)
    c.client(b"x" * 10, seq=1); c.client(b"x" * 10, seq=21, after=0.001)
    c.client(b"x" * 10, seq=11, after=0.002); c.client(b"x" * 5, seq=31, after=0.001)
    c.client(b"x" * 5, seq=36, after=0.0); c.client(b"x" * 5, seq=31, after=0.005)
    return {2: {"lost-segment"}, 3: {"out-of-order"}, 6: {"retransmission"}}


def _fast_retransmission(c):
    c.handshake(rtt=0.05); c.client(b"x" * 10, seq=11)
    c.server(ack=1); c.server(ack=1); c.server(ack=1)
    c.client(b"x" * 10, seq=1, after=0.005)
    return {4: {"lost-segment"}, 5: {"duplicate-ack"}, 6: {"duplicate-ack"},
            7: {"duplicate-ack"}, 8: {"retransmission", "fast-retransmission"}}


def _fast_retransmission_too_late(c):
    # the same, 30 ms after the last duplicate ACK: more than 20 ms, a plain retransmission
    c.handshake(rtt=0.01); c.client(b"x" * 10, seq=11)
    c.server(ack=1); c.server(ack=1); c.server(ack=1)
    c.client(b"x" * 10, seq=1, after=0.030)
    return {4: {"lost-segment"}, 5: {"duplicate-ack"}, 6: {"duplicate-ack"},
            7: {"duplicate-ack"}, 8: {"retransmission"}}


def _lost_and_ack_lost(c):
    c.handshake(); c.client(b"x" * 10, seq=11); c.server(ack=21); c.server(ack=21)
    c.client(b"y", seq=21); c.server(ack=40); c.server(ack=40)
    # frame 9: the gap was reported by frame 8 already (reported once, issue 15003)
    return {4: {"lost-segment"}, 5: {"ack-lost-segment"}, 6: {"duplicate-ack"},
            8: {"ack-lost-segment"}, 9: {"duplicate-ack"}}


def _zero_window_probe_and_update(c):
    c.handshake(); c.client(b"x" * 10); c.server(window=0); c.client(b"y", after=0.2)
    c.server(window=0, ack=11); c.server(window=500, ack=11, after=0.3); c.client(b"z" * 20)
    return {5: {"zero-window"}, 6: {"zero-window-probe"},
            7: {"zero-window", "zero-window-probe-ack"}, 8: {"window-update"},
            9: {"lost-segment"}}


def _window_full_unscaled(c):
    c.handshake(); c.c.window = c.s.window = 100
    c.client(b"x" * 99); c.server(b"y" * 10); c.client(b"x" * 100, seq=100, after=0.1)
    c.server(ack=200, after=0.01); c.client(b"x" * 100, after=0.1)
    # frame 6 ends exactly at ack 100 + window 100; frame 8 at 200 + 100
    return {6: {"window-full"}, 8: {"window-full"}}


def _window_full_first_ack_unscaled(c):
    # the SYN/ACK's window is not scaled yet (is_first_ack): 100 raw bytes fill it
    c.s.window = 100
    c.handshake(client_options=[("WScale", 7)], server_options=[("WScale", 2)])
    c.client(b"x" * 100)
    return {4: {"window-full"}}


def _window_full_scaled(c):
    c.handshake(client_options=[("WScale", 7)], server_options=[("WScale", 2)])
    c.s.window = 100; c.server(); c.client(b"x" * 400)
    return {4: {"window-update"}, 5: {"window-full"}}


def _keep_alive(c):
    c.handshake(); c.client(b"x" * 10); c.server(); c.client(seq=10, after=5)
    c.server(after=0.01); c.client(b"k", seq=10, after=5); c.server(after=0.01)
    return {6: {"keep-alive"}, 7: {"keep-alive-ack"}, 8: {"keep-alive"}, 9: {"keep-alive-ack"}}


def _reused_ports(c):
    c.handshake(); c.client(b"x" * 10); c.server(); c.client(flags="FA"); c.server(flags="FA")
    c.client(); c.new_isns(777777, 888888); c.handshake(after=1)
    return {9: {"reused-ports"}}


def _syn_retransmission(c):
    # same ISN again: a retransmission in the same stream, not a reused port
    c.client(flags="S", seq=0); c.client(flags="S", seq=0, after=1)
    c.server(flags="SA", seq=0, ack=1); c.client(flags="A", seq=1, ack=1)
    return {2: {"retransmission"}}


def _synack_new_isn(c):
    # a SYN/ACK whose ISN differs from the server's first segment: reused ports, same stream
    c.client(flags="S", seq=0); c.server(flags="RA", seq=0, ack=1, window=0)
    c.s.isn = 424242; c.server(flags="SA", seq=0, ack=1, after=0.2); c.client(flags="A", seq=1, ack=1)
    # the RST's seq (0) set the server's base; the SYN/ACK re-bases it: its own seq is "beyond"
    # the RST's, and the client's ACK acknowledges it
    return {3: {"reused-ports", "lost-segment"}, 4: {"ack-lost-segment"}}


def _fin_retransmission(c):
    c.handshake(rtt=0.5); c.client(b"x" * 10); c.client(flags="FA")
    c.client(flags="FA", seq=11, after=0.001)
    return {6: {"retransmission"}}


def _mid_stream(c):
    # no SYN seen: relative numbers start at 1, window scale unknown (-1), no iRTT
    c.client(b"x" * 10, seq=0); c.server(ack=10); c.client(b"y", seq=0, after=0.001)
    return {3: {"retransmission", "spurious-retransmission"}}


CRAFTED = {f.__name__.lstrip("_"): f for f in (
    _retransmission, _spurious, _spurious_before_out_of_order, _out_of_order,
    _out_of_order_3ms_without_irtt, _fast_retransmission, _fast_retransmission_too_late,
    _lost_and_ack_lost, _zero_window_probe_and_update, _window_full_unscaled,
    _window_full_first_ack_unscaled, _window_full_scaled, _keep_alive, _reused_ports,
    _syn_retransmission, _synack_new_isn, _fin_retransmission, _mid_stream)}


def test_crafted_cases_cover_every_flag():
    covered = set()
    for build in CRAFTED.values():
        for flags in build(TcpConversation()).values():
            covered |= flags
    assert covered == set(ANALYSIS_FLAGS)


@pytest.fixture(scope="module")
def crafted_runs(tmp_path_factory):
    """Every crafted case in one pcap (own ports, 1000 s apart: tshark starts once), with each
    case's frame offset and expectation, tshark's view and our disagreements with it."""
    require_tshark()
    cases = sorted(CRAFTED)
    convs, expectations = [], []
    for index, case in enumerate(cases):
        conv = TcpConversation(client=("10.0.0.1", 40000 + index))
        expectations.append(CRAFTED[case](conv))
        convs.append(conv)
    path, offsets = write_conversations(tmp_path_factory.mktemp("crafted_tcp") / "cases.pcap",
                                        convs)
    theirs = tshark_tcp_fields_many([path])[path]
    problems = tcp_disagreements(path, theirs=theirs)
    ends = offsets[1:] + [len(theirs)]
    return {case: (offsets[i], ends[i], expectations[i], theirs, problems)
            for i, case in enumerate(cases)}


@pytest.mark.parametrize("case", sorted(CRAFTED))
def test_crafted_case_agrees_with_tshark(case, crafted_runs):
    start, end, expected, theirs, problems = crafted_runs[case]
    # 1. the case really shows what it is about, according to tshark (frames of this case)
    flagged = {number - start: set(t.analysis) for number, t in theirs.items()
               if start < number <= end and t.analysis}
    assert flagged == expected
    # 2. and we agree with tshark on every frame of it, values included
    assert [p for p in problems if start < p.frame <= end] == []


def test_crafted_cases_are_separate_streams(crafted_runs):
    # each case is its own stream (reused-ports cases open a second one)
    start, end, _, theirs, _ = crafted_runs["reused_ports"]
    assert len({t.stream for n, t in theirs.items() if start < n <= end}) == 2


# -- interface details ---------------------------------------------------------------------------

def test_streams_report_syn_time_irtt_and_direction(tmp_path):
    conv = TcpConversation()
    syn, _, _ = conv.handshake(rtt=0.040, after=0.5)
    conv.client(b"hello\n"); conv.server(b"Echo: hello\n")
    conv.new_isns(9999, 8888); conv.handshake(rtt=0.010, after=2)
    infos, analyzer = analyze(conv.write(tmp_path / "two.pcap"))
    streams = analyzer.streams
    assert sorted(streams) == [0, 1]
    first, second = streams[0], streams[1]
    assert (first.client, first.client_port, first.server, first.server_port) == \
        ("10.0.0.1", 40000, "10.0.0.2", 8080)
    assert first.first_frame == 1 and second.first_frame == 6
    assert first.syn_ns == first.first_ns
    assert abs(first.irtt - 0.040) < 1e-6 and abs(second.irtt - 0.010) < 1e-6
    assert [infos[n].from_client for n in (1, 2, 3, 4, 5)] == [True, False, True, True, False]
    assert infos[6].analysis == ("reused-ports",) and infos[6].stream == 1


def test_window_scaling_states(tmp_path):
    conv = TcpConversation()
    conv.handshake(client_options=[("WScale", 7)], server_options=[("WScale", 2)])
    conv.server(b"x")
    infos, _ = analyze(conv.write(tmp_path / "ws.pcap"))
    assert infos[1].scalefactor is None and infos[1].window == 64240      # SYNs are not scaled
    assert infos[3].scalefactor == 128 and infos[3].window == 64240 * 128
    assert infos[4].scalefactor == 4 and infos[4].window == 64240 * 4
    conv = TcpConversation()
    conv.handshake(client_options=[("WScale", 7)])                       # server declines
    conv.client(b"x")
    infos, _ = analyze(conv.write(tmp_path / "ws2.pcap"))
    assert infos[4].scalefactor == -2 and infos[4].window == 64240
    conv = TcpConversation()
    conv.client(b"x", seq=1)                                             # no SYN seen
    infos, _ = analyze(conv.write(tmp_path / "ws3.pcap"))
    assert infos[1].scalefactor == -1 and infos[1].seq_rel == 1


def test_non_tcp_frames_give_none(conformance_dir):
    analyzer = TcpAnalyzer()
    results = [analyzer.process(decode_frame(rec))
               for rec in iter_records(conformance_dir / "pcaps" / "zeek_arp_who_has.pcap")]
    assert results == [None, None] and analyzer.streams == {}
