"""Narrate a capture frame by frame as it arrives: `tcpdump -U -w - | python -m analysis - --live`.

    from analysis.live import LiveSession
    from analysis.read.sources import open_source
    session = LiveSession(open_source("-", stop=event), names={"172.28.0.2": "server"})
    for record in session.frames():     # LiveFrame, as soon as its last byte has arrived
        ...
    session.result()                    # the Analysis of everything read (frames not kept)

The records come from the same streaming stages as `analyze()` (reference._Pipeline), so a frame's
phase, label and flags are the ones the final report gives it; what the live reading cannot
know yet is marked: `provisional` with the reason in `doubt` (vocabulary.LIVE_DOUBTS) - a
connection whose client was guessed because its handshake was not seen, a loss or resend
judged from the frames seen so far. The words are made at the edge (report/live_text.py) from
`event` (vocabulary.LIVE_EVENTS) and the fields. Memory: a few ints per connection.
"""
from __future__ import annotations

from typing import Iterator, Mapping, NamedTuple

from analysis import vocabulary
from analysis.reference import _Pipeline
from analysis.result import Analysis
from analysis.session.labels import ACK, FIN
from analysis.frame_text import flags_text
from analysis.model import Frame, LabeledFrame

# flags set from the frames seen so far, which later frames can contradict (vocabulary.LIVE_DOUBTS)
_ONE_PASS = frozenset({"retransmission", "fast-retransmission", "spurious-retransmission",
                       "out-of-order", "lost-segment", "ack-lost-segment"})
_RESENDS = frozenset(vocabulary.RETRANSMISSION_FLAGS)
_EVENTS = {"arp-request": "asks-address", "arp-reply": "answers-address",
           "arp-announcement": "announces-address", "syn": "opens", "syn-ack": "accepts",
           "handshake-ack": "completes-handshake", "ack": "acknowledges", "fin": "closes",
           "teardown-ack": "acknowledges-fin", "rst": "resets"}


class LiveFrame(NamedTuple):
    """One narrated frame (a line of `--live`)."""

    number: int
    time: float                 # epoch seconds
    rel_time: float             # seconds since the first frame
    phase: str                  # vocabulary.PHASES
    label: str                  # vocabulary.LABELS
    direction: str | None       # "request" | "response" for data
    tcp_flags: int              # the TCP flag bits (LabeledFrame.tcp_flags); 0 without TCP
    analysis: tuple[str, ...]   # vocabulary.ANALYSIS_FLAGS
    seq: int | None             # relative sequence number
    ack: int | None             # relative acknowledgement number
    length: int                 # payload bytes (tcp.len, or the UDP payload)
    frame_len: int              # bytes on the wire
    conn: int | None            # tcp.stream
    sender: str                 # "client" / "server" for TCP, else a given name or the address
    receiver: str
    event: str                  # vocabulary.LIVE_EVENTS
    acked: int                  # bytes this frame newly acknowledges (its ACK field)
    acks_fin: bool              # its ACK field covers the other side's FIN
    first_fin: bool             # the connection's first FIN: this side closes first
    target: str | None          # ARP: the IP address asked about, answered or announced
    hardware: str | None        # ARP: the sender's MAC address
    provisional: bool           # the reading may change once later frames are seen
    doubt: str | None           # why (vocabulary.LIVE_DOUBTS)
    info: str                   # the Wireshark-style Info column

    @property
    def flags(self) -> str:
        """The flag names as "SYN,ACK" (a view of tcp_flags)."""
        return flags_text(self.tcp_flags)


class _Sides:
    """Per TCP connection: each side's highest relative ACK, and where each side's FIN ends."""

    __slots__ = ("acked", "fin_next", "fins")

    def __init__(self) -> None:
        self.acked: dict[tuple, int] = {}      # sender -> highest ack_rel sent
        self.fin_next: dict[tuple, int] = {}   # FIN sender -> raw seq just past its FIN
        self.fins = 0


class LiveSession:
    """Narrate one capture source (analysis.read.sources) frame by frame; see the module doc."""

    def __init__(self, source, *, names: Mapping[str, str] | None = None,
                 verify_checksums: bool = True, strict_checksums: bool = False) -> None:
        self._pipeline = _Pipeline(source.name, verify_checksums, strict_checksums, source)
        self.path = self._pipeline.path
        self._names = dict(names or {})
        self._sides: dict[int, _Sides] = {}

    def frames(self) -> Iterator[LiveFrame]:
        pipeline = self._pipeline
        for labeled in pipeline.run():
            yield self._narrate(pipeline.last_frame, labeled)

    def result(self) -> Analysis:
        """Connections, exchanges and warnings of what was read (also after an interruption)."""
        return self._pipeline.result([])

    def _name(self, address: str | None) -> str:
        return self._names.get(address or "", address or "?")

    def _narrate(self, frame: Frame, lf: LabeledFrame) -> LiveFrame:
        acked, acks_fin, first_fin, target, hardware = 0, False, False, None, None
        doubt = None
        if frame.arp is not None:
            arp = frame.arp
            sender, receiver = self._name(arp.spa), self._name(arp.tpa)
            target = arp.tpa if lf.label == "arp-request" else arp.spa
            hardware = arp.sha
            event = _EVENTS.get(lf.label, "other")
        elif lf.conn is not None:
            labeler = self._pipeline.labeler
            client = labeler.client_of(lf.conn)
            me, peer = (frame.src, frame.sport), (frame.dst, frame.dport)
            sender = "client" if me == client else "server"
            receiver = "server" if sender == "client" else "client"
            acked, acks_fin, first_fin = self._track(lf, frame, me, peer)
            if lf.label == "data":
                event = "sends-again" if _RESENDS.intersection(lf.analysis) else "sends"
            else:
                event = _EVENTS.get(lf.label, "other")
            if not labeler.roles_known(lf.conn):
                doubt = "roles-guessed"
            elif _ONE_PASS.intersection(lf.analysis):
                doubt = "one-pass"
        else:
            sender, receiver = self._name(lf.src), self._name(lf.dst)
            event = "other"
        return LiveFrame(
            number=lf.number, time=lf.time, rel_time=lf.rel_time, phase=lf.phase, label=lf.label,
            direction=lf.direction, tcp_flags=lf.tcp_flags, analysis=lf.analysis, seq=lf.seq, ack=lf.ack,
            length=lf.payload_len, frame_len=lf.len, conn=lf.conn, sender=sender,
            receiver=receiver, event=event, acked=acked, acks_fin=acks_fin, first_fin=first_fin,
            target=target, hardware=hardware, provisional=doubt is not None, doubt=doubt, info=lf.info)

    def _track(self, lf: LabeledFrame, frame: Frame, me: tuple, peer: tuple) -> tuple[int, bool, bool]:
        """(bytes newly acknowledged, acknowledges the peer's FIN, is the first FIN)."""
        sides = self._sides.get(lf.conn)
        if sides is None:
            sides = self._sides[lf.conn] = _Sides()
        tcp = frame.tcp
        acked, acks_fin, first_fin = 0, False, False
        if tcp.flags & ACK and lf.ack is not None:
            # the SYN takes sequence number 0, so data starts at relative 1
            before = sides.acked.get(me, 1)
            if lf.ack > before:
                acked = lf.ack - before
                sides.acked[me] = lf.ack
            peer_fin = sides.fin_next.get(peer)
            if peer_fin is not None and tcp.ack == peer_fin and acked:
                acks_fin = True
                acked -= 1               # the FIN's sequence number is no data byte
        if tcp.flags & FIN and me not in sides.fin_next:
            sides.fin_next[me] = (tcp.seq + frame.payload_len + 1) & 0xFFFFFFFF
            sides.fins += 1
            first_fin = sides.fins == 1
        return acked, acks_fin, first_fin
