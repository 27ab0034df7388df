"""A second labelling engine built on tshark's own dissection (through pyshark).

It reads tshark's fields (flags, tcp.len, relative seq/ack/nxtseq, tcp.stream, ARP opcode and
addresses, tcp.analysis.*) and applies the label rules to them, through the benchmark's
TsharkLabeler (bench/analyzer/agreement.py), which feeds analysis/session/label_rules.py - the rules both
of our engines apply - with tshark's numbers. Decoding, stream numbering, sequence analysis and
the analysis flags are tshark's own: when both engines agree on a capture, ours agree with
Wireshark's, and one set of label rules means this check cannot drift from the analyzer's.
"""
from __future__ import annotations

from typing import NamedTuple

import pyshark

from analysis.vocabulary import ANALYSIS_FLAGS, LABEL_PHASE
from bench.analyzer.agreement import TsharkLabeler


class EngineFrame(NamedTuple):
    number: int
    phase: str
    label: str
    direction: str | None
    conn: int | None
    analysis: frozenset[str]


def _int(layer, name: str) -> int | None:
    value = layer.get_field(name)
    return None if value is None else int(str(value), 0)


def label_with_tshark(pcap) -> list[EngineFrame]:
    capture = pyshark.FileCapture(str(pcap), keep_packets=False)
    labeler = TsharkLabeler()
    frames: list[EngineFrame] = []
    try:
        for packet in capture:
            number = int(packet.number)
            if hasattr(packet, "arp"):
                arp = packet.arp
                # src_proto_ipv4 is absent when the ARP header does not carry IPv4 addresses
                label = labeler.arp(_int(arp, "opcode"), arp.get_field("src_proto_ipv4") or "",
                                    arp.get_field("dst_proto_ipv4") or "")
                frames.append(EngineFrame(number, "arp", label, None, None, frozenset()))
                continue
            if not hasattr(packet, "tcp"):
                frames.append(EngineFrame(number, "other", packet.transport_layer and
                                          packet.transport_layer.lower() or "other", None, None,
                                          frozenset()))
                continue
            tcp = packet.tcp
            ip = packet.ip if hasattr(packet, "ip") else packet.ipv6
            stream = int(tcp.stream)
            analysis = frozenset(name for name in ANALYSIS_FLAGS
                                 if tcp.get_field("analysis_" + name.replace("-", "_")) is not None)
            label, direction = labeler.tcp_frame(
                stream, int(tcp.flags, 16), int(tcp.len), _int(tcp, "seq"), _int(tcp, "ack"),
                _int(tcp, "nxtseq"), (str(ip.src), str(tcp.srcport)), (str(ip.dst), str(tcp.dstport)))
            frames.append(EngineFrame(number, LABEL_PHASE[label], label, direction, stream, analysis))
    finally:
        capture.close()
    return frames


def disagreements(ours, theirs: list[EngineFrame]) -> list[str]:
    """Lines naming each frame where the analyzer and the tshark-based engine differ."""
    problems = []
    if len(ours) != len(theirs):
        problems.append(f"frame count: ours {len(ours)}, tshark {len(theirs)}")
    for mine, other in zip(ours, theirs):
        if other.phase == "other":
            continue  # non-TCP: tshark names protocols (IGMP, DNS) in its own words
        got = (mine.phase, mine.label, mine.direction, mine.conn, frozenset(mine.analysis))
        want = (other.phase, other.label, other.direction, other.conn, other.analysis)
        if got != want:
            problems.append(f"frame {mine.number}: ours {got}, tshark {want}")
    return problems
