"""TcpAnalyzer against tshark 4.0: the conformance truth files frame by frame, the real tshark on
every conformance capture (values too), and crafted captures for every analysis flag, each
checked against tshark itself so the expectations are tshark's, not ours."""
from __future__ import annotations

import pytest

from analysis.decode.frame import decode_frame
from analysis.read.reader import iter_records
from analysis.tcp.analysis import TcpAnalyzer
from analysis.vocabulary import ANALYSIS_FIELDS, ANALYSIS_FLAGS
from tests.analysis.support.conformance import conformance_names
from tests.analysis.support.crafted import TcpConversation, write_conversations
from tests.analysis.support.tcp_cases import CRAFTED
from tests.analysis.support.tshark_oracle import (
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
