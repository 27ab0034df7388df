"""The texts a frame is shown as: its TCP flag names ("SYN,ACK") and Wireshark's Info column.

Made from LabeledFrame's fields at the edge (LabeledFrame.flags / .info, the CSV, the JSON, the
reports), never stored and never read back: a module that needs a flag, an ARP address or an
option reads the field (tests/analysis/test_no_text_parse_back.py checks that).
"""
from __future__ import annotations

from collections import namedtuple
from typing import TYPE_CHECKING

from analysis.model import ACK, AE, CWR, ECE, FIN, PSH, RST, SYN, URG

if TYPE_CHECKING:
    from analysis.model import LabeledFrame

# Wireshark lists SYN/FIN/RST before PSH/ACK: "[SYN, ACK]", "[FIN, ACK]", "[PSH, ACK]".
_FLAG_NAMES = ((SYN, "SYN"), (FIN, "FIN"), (RST, "RST"), (PSH, "PSH"), (ACK, "ACK"), (URG, "URG"),
               (ECE, "ECE"), (CWR, "CWR"), (AE, "AE"))
# every 12-bit value, made once (a capture's frames share a handful of them)
_FLAGS_TEXT = tuple(",".join(name for bit, name in _FLAG_NAMES if bits & bit) for bits in range(1 << 12))


def flags_text(flags: int) -> str:
    """0x012 -> 'SYN,ACK' (Wireshark's Info column order: SYN, FIN, RST, PSH, ACK...)."""
    return _FLAGS_TEXT[flags & 0x0FFF]


_ICMP_TYPES = {0: "Echo (ping) reply", 3: "Destination unreachable", 8: "Echo (ping) request",
               11: "Time-to-live exceeded"}
_ICMPV6_TYPES = {128: "Echo (ping) request", 129: "Echo (ping) reply", 133: "Router Solicitation",
                 134: "Router Advertisement", 135: "Neighbor Solicitation",
                 136: "Neighbor Advertisement", 143: "Multicast Listener Report Message v2"}
_IP_PROTOCOLS = {2: "IGMP", 47: "GRE", 50: "ESP", 89: "OSPF", 132: "SCTP"}
_ANALYSIS_INFO = {"retransmission": "TCP Retransmission", "fast-retransmission": "TCP Fast Retransmission",
                  "spurious-retransmission": "TCP Spurious Retransmission",
                  "out-of-order": "TCP Out-Of-Order", "lost-segment": "TCP Previous segment not captured",
                  "ack-lost-segment": "TCP ACKed unseen segment", "duplicate-ack": "TCP Dup ACK",
                  "zero-window": "TCP ZeroWindow", "zero-window-probe": "TCP ZeroWindowProbe",
                  "zero-window-probe-ack": "TCP ZeroWindowProbeAck", "window-update": "TCP Window Update",
                  "window-full": "TCP Window Full", "keep-alive": "TCP Keep-Alive",
                  "keep-alive-ack": "TCP Keep-Alive ACK", "reused-ports": "TCP Port numbers reused"}


def info_text(frame: LabeledFrame) -> str:
    """A one-line summary in the style of Wireshark's Info column."""
    arp = frame.arp
    if arp is not None:
        if arp.opcode == 1:
            if arp.spa == arp.tpa:
                return f"ARP Announcement for {arp.spa}"
            return f"Who has {arp.tpa}? Tell {arp.spa}"
        if arp.opcode == 2:
            return f"{arp.spa} is at {arp.sha}"
        return f"RARP opcode {arp.opcode}"
    if frame.seq_raw is not None and frame.conn is not None:
        flags = frame.tcp_flags
        notes = "".join(f"[{_ANALYSIS_INFO[name]}] " for name in frame.analysis)
        ack = f" Ack={frame.ack}" if flags & ACK else ""
        options = ""
        if flags & SYN and frame.tcp_options is not None:
            # Wireshark shows the handshake's negotiated options in the Info column.
            opts = frame.tcp_options
            options = ((f" MSS={opts.mss}" if opts.mss is not None else "")
                       + (" SACK_PERM" if opts.sack_permitted else "")
                       + (f" WS={1 << opts.wscale}" if opts.wscale is not None else ""))
        return (f"{notes}{frame.sport} → {frame.dport} [{flags_text(flags).replace(',', ', ')}] "
                f"Seq={frame.seq}{ack} Win={frame.window} Len={frame.payload_len}{options}")
    if frame.proto == "udp":
        return f"{frame.sport} → {frame.dport} Len={frame.payload_len}"
    if frame.proto == "icmp":
        return _ICMP_TYPES.get(frame.icmp_type, f"ICMP type {frame.icmp_type}")
    if frame.proto == "icmpv6":
        return _ICMPV6_TYPES.get(frame.icmp_type, f"ICMPv6 type {frame.icmp_type}")
    if frame.malformed is not None:
        return f"[Malformed: {frame.malformed.message}]"
    if frame.ip_proto in _IP_PROTOCOLS:
        return _IP_PROTOCOLS[frame.ip_proto]
    return frame.proto


# what info_text reads of a frame: what info_texts needs of the frames it is given
INFO_FIELDS = ("arp", "seq_raw", "conn", "tcp_flags", "analysis", "ack", "tcp_options", "sport",
               "dport", "seq", "window", "payload_len", "proto", "icmp_type", "malformed", "ip_proto")
_InfoFields = namedtuple("_InfoFields", INFO_FIELDS)   # the attributes info_text reads, for the others
# "[SYN, ACK]": the Info column's flag list, per 12-bit value
_INFO_FLAGS = tuple(text.replace(",", ", ") for text in _FLAGS_TEXT)
# info_text's TCP line without and with the Ack (ACK is bit 4; "%.0s" takes the ack and shows nothing)
_INFO_TCP = ("%s%s → %s [%s] Seq=%s%.0s Win=%s Len=%s", "%s%s → %s [%s] Seq=%s Ack=%s Win=%s Len=%s")


def info_texts(fields: dict[str, list]) -> list[str]:
    """info_text of every frame of a chunk given as columns ({field name: list}, the INFO_FIELDS
    at least; analysis.frame_fields.field_chunks' parts): a report writing every frame's Info
    needs no LabeledFrame. The TCP frames (nearly all of a capture's) are made here column by
    column, the same f-string as info_text's in %-form (str() of each value either way); the
    rest go through info_text itself. tests/analysis/test_export_rows.py compares the two."""
    arp, seq_raw, conn = fields["arp"], fields["seq_raw"], fields["conn"]
    flags, analysis, ack, options = fields["tcp_flags"], fields["analysis"], fields["ack"], fields["tcp_options"]
    notes = {names: "".join(f"[{_ANALYSIS_INFO[name]}] " for name in names) for names in set(analysis)}
    out = [_INFO_TCP[bits >> 4 & 1] % (notes[names], sport, dport, _INFO_FLAGS[bits & 0x0FFF], seq,
                                       acked, window, length)
           for names, sport, dport, bits, seq, acked, window, length in zip(
               analysis, fields["sport"], fields["dport"], flags, fields["seq"], ack,
               fields["window"], fields["payload_len"])]
    if arp.count(None) == len(arp) and None not in seq_raw and None not in conn:
        others = set()        # all TCP frames (a chunk of a TCP capture): no row to look at
    else:
        others = {i for i, (a, raw, c) in enumerate(zip(arp, seq_raw, conn))
                  if a is not None or raw is None or c is None}
    for i in others:
        out[i] = info_text(_InfoFields._make(fields[name][i] for name in INFO_FIELDS))
    for i in [i for i, bits in enumerate(flags) if bits & SYN]:
        opts = options[i]
        if opts is not None and i not in others:
            out[i] += ((f" MSS={opts.mss}" if opts.mss is not None else "")
                       + (" SACK_PERM" if opts.sack_permitted else "")
                       + (f" WS={1 << opts.wscale}" if opts.wscale is not None else ""))
    return out
