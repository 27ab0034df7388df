"""The Info column: a one-line summary of a frame in the style of Wireshark's (both engines).

`frame_info(frame, info)` says it from a decoded Frame and its TcpInfo (the per-frame pipeline,
and the columnar engine for the few frames whose Info needs fields it keeps no column for: ARP,
malformed, other protocols); `tcp_info_texts` and `udp_info_text` are the same words from plain
values, which the columnar engine's materialisation (analysis/columnar/labeled.py) calls on a
chunk's columns, so the two engines cannot spell them differently.
"""
from __future__ import annotations

from analysis.model import Frame, TcpInfo
from analysis.session.labels import SYN, flags_text

ACK = 0x010

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


def analysis_notes(analysis: tuple[str, ...]) -> str:
    """The bracketed tcp.analysis notes that start a TCP frame's Info."""
    return "".join(f"[{_ANALYSIS_INFO[name]}] " for name in analysis)


_FLAG_WORDS = tuple(flags_text(bits).replace(",", ", ") for bits in range(1 << 12))


def tcp_info_texts(notes, sports, dports, flags, seqs, acks, windows, payload_lens, msss,
                   sacks, wscales) -> list[str]:
    """TCP frames' Info, one per position of the equal-length sequences given (the columnar
    engine passes a chunk's columns as lists; frame_info one frame's values). `windows`: the
    scaled window (the raw field where the scale is unknown); mss / wscale None or -1: absent."""
    out = []
    words = _FLAG_WORDS
    for note, sport, dport, bits, seq, ack, window, length, mss, sack, wscale in zip(
            notes, sports, dports, flags, seqs, acks, windows, payload_lens, msss, sacks, wscales):
        if bits & ACK:
            text = f"{note}{sport} → {dport} [{words[bits]}] Seq={seq} Ack={ack} Win={window} Len={length}"
        else:
            text = f"{note}{sport} → {dport} [{words[bits]}] Seq={seq} Win={window} Len={length}"
        if bits & SYN:
            # Wireshark shows the handshake's negotiated options in the Info column.
            text += ((f" MSS={mss}" if mss is not None and mss >= 0 else "")
                     + (" SACK_PERM" if sack else "")
                     + (f" WS={1 << wscale}" if wscale is not None and wscale >= 0 else ""))
        out.append(text)
    return out


def udp_info_text(sport: int, dport: int, payload_len: int) -> str:
    return f"{sport} → {dport} Len={payload_len}"


def icmp_info_text(proto: str, icmp_type: int) -> str:
    if proto == "icmp":
        return _ICMP_TYPES.get(icmp_type, f"ICMP type {icmp_type}")
    return _ICMPV6_TYPES.get(icmp_type, f"ICMPv6 type {icmp_type}")


def frame_info(frame: Frame, info: TcpInfo | None) -> str:
    """A one-line summary in the style of Wireshark's Info column."""
    if frame.arp is not None:
        arp = frame.arp
        if arp.opcode == 1:
            if arp.spa == arp.tpa:
                return f"ARP Announcement for {arp.spa}"
            return f"Who has {arp.tpa}? Tell {arp.spa}"
        if arp.opcode == 2:
            return f"{arp.spa} is at {arp.sha}"
        return f"RARP opcode {arp.opcode}"
    tcp = frame.tcp
    if tcp is not None and info is not None:
        window = info.window if info.window >= 0 else tcp.window
        return tcp_info_texts((analysis_notes(info.analysis),), (frame.sport,), (frame.dport,),
                              (tcp.flags,), (info.seq_rel,), (info.ack_rel,), (window,),
                              (frame.payload_len,), (tcp.mss,), (tcp.sack_permitted,),
                              (tcp.wscale,))[0]
    if frame.proto == "udp":
        return udp_info_text(frame.sport, frame.dport, frame.payload_len)
    if frame.proto in ("icmp", "icmpv6"):
        return icmp_info_text(frame.proto, frame.icmp_type)
    if frame.malformed:
        return f"[Malformed: {frame.malformed}]"
    if frame.ip_proto in _IP_PROTOCOLS:
        return _IP_PROTOCOLS[frame.ip_proto]
    return frame.proto


