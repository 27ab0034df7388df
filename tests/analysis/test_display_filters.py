"""analysis.filter against tshark: a corpus of display filters over the conformance captures, the
lab captures and a crafted one selects, frame for frame, what `tshark -Y` selects (issue 15
item 2); a filter we cannot parse is one clear line."""
from __future__ import annotations

import shutil

import pytest

from analysis import analyze
from analysis.dissect import dissect_capture
from analysis.errors import FilterError
from analysis.filter import compile_filter, frame_values, select
from tests.analysis.dissect_captures import conformance_pcaps, lab_pcaps, write_crafted
from tests.analysis.wireshark_oracle import tshark_select, tshark_select_y

pytestmark = pytest.mark.skipif(not shutil.which("tshark"), reason="tshark not installed")

CORPUS = [
    # bare protocols and fields
    "arp", "tcp", "udp", "ip", "ipv6", "icmp", "icmpv6", "eth", "sll", "vlan", "null",
    "!tcp && !arp", "tcp.options.mss_val", "tcp.options.sack_perm", "tcp.options.timestamp.tsval",
    "tcp.options.wscale.shift", "tcp.payload", "tcp.options.sack_le",
    # comparisons, both spellings
    "tcp.flags.syn == 1", "tcp.flags.syn eq 1", "tcp.flags.syn == True", "tcp.flags.ack == 0",
    "tcp.flags.fin == 1", "tcp.flags.reset == 1", "tcp.flags.push == 1", "tcp.flags.ece == 1",
    "tcp.flags == 0x010", "tcp.flags == 0x012", "tcp.flags != 0x010", "tcp.flags ne 0x018",
    "tcp.len > 0", "tcp.len gt 100", "tcp.len >= 1448", "tcp.len < 10 && tcp.len > 0",
    "tcp.len le 1", "tcp.seq == 1", "tcp.ack == 1", "tcp.seq > 1000", "tcp.ack lt 2",
    "tcp.nxtseq == 1", "tcp.stream == 1", "tcp.stream ge 2",
    "tcp.window_size_value < 1000", "tcp.window_size > 65535", "tcp.hdr_len == 32",
    "tcp.options.mss_val == 1460", "tcp.options.wscale.shift >= 7",
    "tcp.srcport == 80", "tcp.dstport == 80", "tcp.port == 21", "tcp.port != 21",
    "udp.port == 53", "udp.length > 50",
    # sets and ranges
    "tcp.port in {80, 443, 8000..8080}", "tcp.port in {20..21}", "tcp.dstport in {25,53,2222}",
    "frame.number in {1,3..5}", "ip.ttl in {64, 128, 255}", "frame.len in {60..80}",
    # addresses
    "ip.src == 141.142.228.5", "ip.addr == 192.168.0.0/16", "ip.dst == 10.0.0.0/8",
    "ip.addr != 127.0.0.1", "ipv6.src == fd00::2", "ipv6.addr == fe80::/10",
    "eth.dst == ff:ff:ff:ff:ff:ff", "eth.addr == 00:10:db:88:d2:ef", "eth.src == c8-bc-c8-96-d2-a0",
    "arp.src.proto_ipv4 == 10.2.1.1", "arp.dst.hw_mac == 00:00:00:00:00:00",
    # ARP, IP header fields
    "arp.opcode == 1", "arp.opcode == 2", "arp.opcode in {3..4}", "arp.proto.type == 0x0800",
    "ip.flags.df == 1", "ip.flags.mf == 0", "ip.frag_offset == 0", "ip.id == 0x0000",
    "ip.proto == 17", "ip.dsfield != 0x00", "ip.len > 1000", "ipv6.nxt == 58", "vlan.id == 42",
    "eth.type == 0x86dd", "sll.pkttype == 4", "null.family == 2",
    # contains
    'tcp.payload contains "HTTP"', 'tcp.payload contains "Echo"', 'udp.payload contains 77:77:77',
    'tcp.payload contains "USER"',
    # logic
    "tcp.flags.syn == 1 && tcp.flags.ack == 1", "tcp.flags.syn == 1 and not tcp.flags.ack == 1",
    "tcp.flags.fin == 1 || tcp.flags.reset == 1", "arp or udp", "!(tcp.len == 0)", "not tcp.payload",
    "(tcp.srcport == 80 || tcp.dstport == 80) && tcp.len > 0",
    "tcp.len > 0 || (tcp.flags == 0x010 && tcp.ack > 1)",
    "tcp.flags.syn == 1 || (tcp.flags == 0x010 && tcp.seq == 1 && tcp.ack == 1 && tcp.len == 0)",
    "frame.len >= 1000 && !(ip.src == 141.142.228.5)",
]


@pytest.fixture(scope="session")
def captures(tmp_path_factory):
    # without the IPv4 fragments: tshark reassembles them (see the test of that difference)
    crafted = write_crafted(tmp_path_factory.mktemp("filters") / "crafted.pcap", fragments=False)
    return conformance_pcaps() + lab_pcaps() + [crafted]


@pytest.fixture(scope="session")
def selections(captures):
    """{capture: ({filter: ours}, {filter: tshark's})}."""
    from concurrent.futures import ThreadPoolExecutor

    compiled = [compile_filter(text) for text in CORPUS]
    with ThreadPoolExecutor(max_workers=2) as pool:
        theirs = list(pool.map(lambda p: tshark_select(p, CORPUS), captures))
    out = {}
    for pcap, tshark in zip(captures, theirs):
        result = analyze(pcap)
        labeled = {f.number: f for f in result.frames}
        values = [(d.number, frame_values(d, labeled.get(d.number)))
                  for d in dissect_capture(pcap, frames=result.frames)]
        ours = {f.text: [n for n, v in values if f.matches(v)] for f in compiled}
        out[pcap] = (ours, tshark)
    return out


def test_the_corpus_is_large_and_each_filter_selects_something_somewhere(selections):
    assert len(CORPUS) >= 50 and len(set(CORPUS)) == len(CORPUS)
    idle = [f for f in CORPUS if not any(tshark[f] for _, tshark in selections.values())]
    assert not idle, f"filters that select nothing on any capture (they test nothing): {idle}"


def test_every_filter_selects_what_tshark_selects_frame_for_frame(selections):
    wrong = [(pcap.name, f, ours[f], tshark[f]) for pcap, (ours, tshark) in selections.items()
             for f in CORPUS if ours[f] != tshark[f]]
    compared = len(CORPUS) * len(selections)
    assert not wrong, f"{len(wrong)} of {compared} selections differ: {wrong[:12]}"


@pytest.mark.parametrize("text", ["tcp.port in {80, 443, 8000..8080}", "!tcp && !arp"])
def test_the_one_run_oracle_selects_what_tshark_y_selects(captures, text):
    for pcap in captures[:: max(len(captures) // 3, 1)]:
        assert tshark_select(pcap, [text])[text] == tshark_select_y(pcap, text)


def test_our_phase_and_label_names_select_what_the_analyzer_says(default):
    by_phase = {p: [f.number for f in default.frames if f.phase == p] for p in ("handshake", "teardown")}
    assert select(default.path, 'phase == "handshake"', result=default) == by_phase["handshake"]
    assert select(default.path, 'phase == "teardown" || label == "syn"', result=default) == sorted(
        by_phase["teardown"] + [f.number for f in default.frames if f.label == "syn"])
    assert select(default.path, 'label in {"syn", "syn-ack"} && tcp.flags.syn == 1',
                  result=default) == [3, 4]


@pytest.mark.parametrize("text, message", [
    ("tcp.port ==", r"at column 12: expected a value, got the end"),
    ("tcp.port == 80 &&", r"at column 18: expected '!' or '\(' or a field name, got the end"),
    ("(tcp", r"at column 5: expected '\)', got the end"),
    ("tcp.port # 3", r"at column 10: unexpected character '#'"),
    ("tcp.bogus == 1", r"at column 1: 'tcp.bogus' is not a field we dissect"),
    ("tcp.port == http", r"at column 13: 'http' is not an integer \(for tcp.port\)"),
    ('ip.src == "10.0.0.1"', r"is not an IPv4 address \(write it without quotes\)"),
    ("eth.src == 01:02", r"'01:02' is not a MAC address"),
    ("tcp.port in {80", r"at column 16: expected ',' or '..' or '}' or a value, got the end"),
    ("", r"the filter is empty"),
])
def test_a_filter_we_cannot_use_is_one_clear_line(text, message, default):
    with pytest.raises(FilterError, match=message) as caught:
        compile_filter(text)
    assert "\n" not in str(caught.value) and str(caught.value).startswith(f"display filter {text!r}")
    if text:                                # tshark refuses them too
        with pytest.raises(RuntimeError, match="rejected"):
            tshark_select_y(default.path, text)


def test_deliberate_difference_ip_fragments_are_not_reassembled(tmp_path):
    # tshark reassembles an IPv4 datagram and dissects its UDP header in the LAST fragment
    # (frame 7); we dissect no transport header in a fragment: `udp` selects only frame 4 here
    pcap = write_crafted(tmp_path / "crafted.pcap")
    assert select(pcap, "udp") == [4]
    assert tshark_select_y(pcap, "udp") == [4, 7]


def test_a_protocol_compared_with_a_value_is_refused(default):
    # tshark compares a protocol's bytes; we say what can be done with it
    with pytest.raises(FilterError, match="'tcp' is a protocol: it can only be tested for presence"):
        compile_filter("tcp == 1")
    # Wireshark's `data` is the bytes no dissector of its own claims, ours what we do not dissect
    with pytest.raises(FilterError, match="'data' is not a field we dissect"):
        compile_filter("data")
