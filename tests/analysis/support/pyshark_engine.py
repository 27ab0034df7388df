"""A second labelling engine built on tshark's own dissection (through pyshark).

It reads tshark's fields (flags, tcp.len, relative seq/ack/nxtseq, tcp.stream, ARP opcode and
addresses, tcp.analysis.*) and applies the label rules of analysis/vocabulary.py to them. It
shares no code with the analyzer: when both engines agree on a capture, our decoding, stream
numbering, analysis flags and labels agree with Wireshark's.
"""
from __future__ import annotations

from typing import NamedTuple

import pyshark

from analysis.vocabulary import ANALYSIS_FLAGS, LABEL_PHASE

SYN, ACK, RST, FIN = 0x002, 0x010, 0x004, 0x001


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
    streams: dict[int, dict] = {}
    frames: list[EngineFrame] = []
    try:
        for packet in capture:
            number = int(packet.number)
            if hasattr(packet, "arp"):
                arp = packet.arp
                opcode = _int(arp, "opcode")
                if opcode in (3, 4):
                    label = "rarp"
                elif arp.get_field("src_proto_ipv4") == arp.get_field("dst_proto_ipv4"):
                    label = "arp-announcement"
                else:
                    label = "arp-request" if opcode == 1 else "arp-reply"
                frames.append(EngineFrame(number, "arp", label, None, None, frozenset()))
                continue
            if not hasattr(packet, "tcp"):
                frames.append(EngineFrame(number, "other", packet.transport_layer and
                                          packet.transport_layer.lower() or "other", None, None,
                                          frozenset()))
                continue
            tcp = packet.tcp
            ip = packet.ip if hasattr(packet, "ip") else packet.ipv6
            sender, receiver = (ip.src, int(tcp.srcport)), (ip.dst, int(tcp.dstport))
            stream = int(tcp.stream)
            flags = int(tcp.flags, 16)
            length, seq, ack = int(tcp.len), _int(tcp, "seq"), _int(tcp, "ack")
            analysis = frozenset(name for name in ANALYSIS_FLAGS
                                 if tcp.get_field("analysis_" + name.replace("-", "_")) is not None)
            state = streams.setdefault(stream, {"client": None, "handshake_done": False, "fin": {}})
            if state["client"] is None:
                if flags & SYN and not flags & ACK:
                    state["client"] = sender
                elif flags & SYN:
                    state["client"] = receiver
                else:
                    state["client"] = sender if sender[1] >= receiver[1] else receiver
            direction = None
            if flags & RST:
                label = "rst"
            elif flags & SYN:
                label = "syn-ack" if flags & ACK else "syn"
            elif flags & FIN:
                label = "fin"
                state["fin"][sender] = _int(tcp, "nxtseq")
                state["handshake_done"] = True
            elif length > 0:
                label = "data"
                direction = "request" if sender == state["client"] else "response"
                state["handshake_done"] = True
            elif flags & ACK and state["fin"].get(receiver) is not None and ack == state["fin"][receiver]:
                label = "teardown-ack"
            elif (flags & ACK and not state["handshake_done"] and sender == state["client"]
                  and seq == 1 and ack == 1):
                label = "handshake-ack"
                state["handshake_done"] = True
            else:
                label = "ack" if flags & ACK else "tcp"
                state["handshake_done"] = True
            phase = "reset" if label == "rst" else LABEL_PHASE[label]
            frames.append(EngineFrame(number, phase, label, direction, stream, analysis))
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
