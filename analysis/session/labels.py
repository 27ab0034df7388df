"""Give every frame its phase and label (vocabulary.PHASES / vocabulary.LABELS).

ARP and non-TCP frames are labelled from their own headers. A TCP frame's label also depends on
what came before it in its connection (the ACK that completes a handshake, the ACK that answers
a FIN), so `FrameLabeler` keeps a few fields per connection - never anything per frame.
The rules themselves are in label_rules.py, shared with the columnar kernel, the benchmark's
agreement check and the pyshark cross-check; this module feeds them Frame records.

Who is the client? The side that sent the SYN. When the capture has no SYN, the receiver of the
SYN-ACK; when it has neither, the side with the higher port (ephemeral ports are high), as Zeek
guesses for midstream traffic. A data frame's direction follows: client -> server is a request.
"""
from __future__ import annotations

from typing import NamedTuple

from analysis.frame_text import flags_text  # noqa: F401  (re-exported)
# the flag bits (re-exported: the stages and the reports import them here)
from analysis.model import ACK, AE, CWR, ECE, FIN, PSH, RST, SYN, URG, Frame, TcpInfo  # noqa: F401
from analysis.session import label_rules as rules


class Label(NamedTuple):
    phase: str
    label: str
    direction: str | None   # "request" | "response" for data frames


# One Label per rule code (label_rules.RULE_LABELS), made once: labelling builds no records.
_BY_CODE = tuple(Label(phase, name, None) for name, phase in zip(rules.RULE_LABELS, rules.RULE_PHASES))
_REQUEST = Label("data", "data", "request")
_RESPONSE = Label("data", "data", "response")
_OTHER = {proto: _BY_CODE[rules.RULE_LABELS.index(label)] for proto, label in rules.OTHER_LABELS.items()}
_OTHER_DEFAULT = _BY_CODE[rules.K_OTHER]
M32 = 0xFFFFFFFF


class _ConnLabelState:
    """What labelling needs to remember about one connection: the rules' state bits, its two
    endpoints ((ip, port), 0 = the first sender) and the sequence number past each one's FIN."""

    __slots__ = ("endpoints", "bits", "fin_next")

    def __init__(self, sender: tuple, receiver: tuple) -> None:
        self.endpoints = (sender, receiver)
        self.bits = 0
        self.fin_next = [0, 0]

    @property
    def client(self) -> tuple[str | None, int | None]:
        return self.endpoints[rules.client_endpoint(self.bits)]


def label_arp(frame: Frame) -> Label:
    arp = frame.arp
    if arp is None:
        code = rules.arp_label(False, frame.proto == "rarp", -1, False, False, False)
    else:
        # spa is "" when the protocol addresses are not IPv4
        code = rules.arp_label(True, frame.proto == "rarp", arp.opcode, bool(arp.spa),
                               arp.spa == "0.0.0.0", arp.spa == arp.tpa)
    return _BY_CODE[code]


def label_other(frame: Frame) -> Label:
    return _OTHER.get(frame.proto, _OTHER_DEFAULT)


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
        return state is not None and bool(state.bits & (rules.S_SYN | rules.S_SYNACK))

    def label(self, frame: Frame, info: TcpInfo | None) -> Label:
        if frame.proto in ("arp", "rarp"):
            return label_arp(frame)
        tcp = frame.tcp
        if tcp is None or info is None:
            return label_other(frame)
        return self._label_tcp(frame, info)

    def _label_tcp(self, frame: Frame, info: TcpInfo) -> Label:
        tcp = frame.tcp
        src, dst = (frame.src, frame.sport), (frame.dst, frame.dport)
        state = self._conns.get(info.stream)
        if state is None:
            state = self._conns[info.stream] = _ConnLabelState(src, dst)
        sender = 0 if src == state.endpoints[0] else 1
        peer = sender if src == dst else 1 - sender      # a host talking to itself on one port
        bits, code = rules.tcp_label(
            state.bits, tcp.flags, sender, peer,
            rules.first_guess(frame.sport or 0, frame.dport or 0, sender, peer),
            frame.payload_len > 0, tcp.ack == state.fin_next[peer],
            info.seq_rel == 1 and info.ack_rel == 1)
        state.bits = bits
        if code == rules.K_FIN:
            state.fin_next[sender] = (tcp.seq + frame.payload_len + 1) & M32
        elif code == rules.K_DATA:
            return _REQUEST if rules.is_request(bits, sender) else _RESPONSE
        return _BY_CODE[code]
