"""Give every frame its phase and label (vocabulary.PHASES / vocabulary.LABELS).

ARP and non-TCP frames are labelled from their own headers. A TCP frame's label also depends on
what came before it in its connection (the ACK that completes a handshake, the ACK that answers
a FIN), so `FrameLabeler` keeps a few fields per connection - never anything per frame.

Who is the client? The side that sent the SYN. When the capture has no SYN, the receiver of the
SYN-ACK; when it has neither, the side with the higher port (ephemeral ports are high), as Zeek
guesses for midstream traffic. A data frame's direction follows: client -> server is a request.
"""
from __future__ import annotations

from typing import NamedTuple

from analysis.model import Frame, TcpInfo

FIN, SYN, RST, PSH, ACK, URG, ECE, CWR, AE = 0x001, 0x002, 0x004, 0x008, 0x010, 0x020, 0x040, 0x080, 0x100

# Wireshark's order for the flag names in a summary ("SYN, ACK" -> we write "SYN,ACK").
_FLAG_NAMES = ((AE, "AE"), (CWR, "CWR"), (ECE, "ECE"), (URG, "URG"), (ACK, "ACK"), (PSH, "PSH"),
               (RST, "RST"), (SYN, "SYN"), (FIN, "FIN"))
_FLAG_TEXT_CACHE: dict[int, str] = {}


def flags_text(flags: int) -> str:
    """0x012 -> 'SYN,ACK' (Wireshark's Info column order: SYN, FIN, RST, PSH, ACK...)."""
    text = _FLAG_TEXT_CACHE.get(flags)
    if text is None:
        names = [name for bit, name in _FLAG_NAMES if flags & bit]
        # Wireshark lists SYN/FIN/RST before PSH/ACK: "[SYN, ACK]", "[FIN, ACK]", "[PSH, ACK]".
        order = ("SYN", "FIN", "RST", "PSH", "ACK", "URG", "ECE", "CWR", "AE")
        names.sort(key=order.index)
        text = _FLAG_TEXT_CACHE[flags] = ",".join(names)
    return text


class Label(NamedTuple):
    phase: str
    label: str
    direction: str | None   # "request" | "response" for data frames


class _ConnLabelState:
    """What labelling needs to remember about one connection (a handful of ints)."""

    __slots__ = ("client", "syn_seen", "synack_seen", "handshake_done", "fin_next", "data_seen")

    def __init__(self, client: tuple[str | None, int | None]) -> None:
        self.client = client              # (ip, port) of the client
        self.syn_seen = False
        self.synack_seen = False
        self.handshake_done = False
        self.data_seen = False
        # raw sequence number just past each side's FIN, keyed by the FIN sender (ip, port)
        self.fin_next: dict[tuple, int] = {}


_ARP_BROADCAST = "ff:ff:ff:ff:ff:ff"
_OTHER_LABEL = {"udp": "udp", "icmp": "icmp", "icmpv6": "icmpv6", "ipv4": "ipv4", "ipv6": "ipv6"}


def label_arp(frame: Frame) -> Label:
    arp = frame.arp
    if arp is None:
        return Label("arp", "arp-request", None) if frame.proto == "arp" else Label("arp", "rarp", None)
    if arp.opcode in (3, 4) or frame.proto == "rarp":
        return Label("arp", "rarp", None)
    # A gratuitous ARP (sender and target protocol address equal) or a probe (sender 0.0.0.0)
    # announces the sender's own address rather than asking for another host's.
    if arp.spa and (arp.spa == arp.tpa or arp.spa == "0.0.0.0"):
        return Label("arp", "arp-announcement", None)
    if arp.opcode == 2:
        return Label("arp", "arp-reply", None)
    return Label("arp", "arp-request", None)


def label_other(frame: Frame) -> Label:
    return Label("other", _OTHER_LABEL.get(frame.proto, "tcp" if frame.proto == "tcp" else "other"), None)


class FrameLabeler:
    """Streaming labeller: call `label(frame, info)` for every frame, in capture order."""

    def __init__(self) -> None:
        self._conns: dict[int, _ConnLabelState] = {}

    def client_of(self, stream: int) -> tuple[str | None, int | None] | None:
        state = self._conns.get(stream)
        return state.client if state else None

    def roles_known(self, stream: int) -> bool:
        """Whether the client of `stream` is known from a SYN or SYN-ACK (else guessed by port)."""
        state = self._conns.get(stream)
        return state is not None and (state.syn_seen or state.synack_seen)

    def label(self, frame: Frame, info: TcpInfo | None) -> Label:
        if frame.proto in ("arp", "rarp"):
            return label_arp(frame)
        tcp = frame.tcp
        if tcp is None or info is None:
            return label_other(frame)
        return self._label_tcp(frame, info)

    def _label_tcp(self, frame: Frame, info: TcpInfo) -> Label:
        tcp = frame.tcp
        flags = tcp.flags
        sender = (frame.src, frame.sport)
        state = self._conns.get(info.stream)
        if state is None:
            state = self._conns[info.stream] = _ConnLabelState(self._guess_client(frame))
        if flags & SYN and not flags & ACK:
            if not state.syn_seen and not state.synack_seen:
                state.client = sender
            state.syn_seen = True
            if flags & RST:
                return Label("reset", "rst", None)
            return Label("handshake", "syn", None)
        if flags & SYN:  # SYN-ACK
            if not state.syn_seen and not state.synack_seen:
                state.client = (frame.dst, frame.dport)
            state.synack_seen = True
            if flags & RST:
                return Label("reset", "rst", None)
            return Label("handshake", "syn-ack", None)
        if flags & RST:
            return Label("reset", "rst", None)
        from_client = sender == state.client
        if flags & FIN:
            state.fin_next[sender] = (tcp.seq + frame.payload_len + 1) & 0xFFFFFFFF
            state.handshake_done = True
            return Label("teardown", "fin", None)
        if frame.payload_len > 0:
            state.handshake_done = True
            state.data_seen = True
            return Label("data", "data", "request" if from_client else "response")
        # A pure ACK from here on.
        peer = (frame.dst, frame.dport)
        peer_fin_next = state.fin_next.get(peer)
        if peer_fin_next is not None and flags & ACK and tcp.ack == peer_fin_next:
            return Label("teardown", "teardown-ack", None)
        if (not state.handshake_done and state.synack_seen and from_client and flags & ACK
                and info.seq_rel == 1 and info.ack_rel == 1):
            state.handshake_done = True
            return Label("handshake", "handshake-ack", None)
        state.handshake_done = True
        if flags & ACK:
            return Label("data", "ack", None)
        return Label("other", "tcp", None)

    @staticmethod
    def _guess_client(frame: Frame) -> tuple[str | None, int | None]:
        # No handshake seen yet: the higher port is the ephemeral (client) one.
        if (frame.sport or 0) >= (frame.dport or 0):
            return (frame.src, frame.sport)
        return (frame.dst, frame.dport)
