"""Wireshark's TCP analysis in one streaming pass: tcp.stream, relative seq/ack, the scaled
window, tcp.analysis.initial_rtt and every tcp.analysis.* flag, as tshark 4.0 computes them
without -2 (each frame only sees the frames before it).

    analyzer = TcpAnalyzer()
    for frame in frames:
        info = analyzer.process(frame)     # TcpInfo, or None for a frame without a TCP header
    analyzer.streams                       # {stream: StreamInfo} first SYN time, iRTT, endpoints

Stream numbering follows dissect_tcp(): a new 4-tuple opens a new stream; on a known 4-tuple a
SYN (without ACK) whose ISN differs from the one that direction started with opens a new stream
flagged reused-ports; a SYN/ACK with a new ISN is flagged reused-ports and re-bases that
direction (issue 16944) but stays in the stream.  The sequence analysis itself is
tcp_sequence.analyze_segment().

Where tshark prints what (so the flags and iRTT appear on exactly tshark's frames):
  * tcp.analysis.* and tcp.analysis.initial_rtt live in the "SEQ/ACK analysis" subtree, which
    exists only when the frame has a tcp_acked record: a flag was set, it acknowledges the end of
    an earlier segment exactly, or it carries data whose bytes in flight are tracked.
  * that subtree is added after the TCP options: when the snaplen cuts the options, tshark stops
    there and prints no analysis for the frame (its state is still updated).
  * the iRTT is SYN -> first pure ACK (ACK without SYN) of the conversation, the SYN being the
    most recent one (a retransmitted SYN restarts the clock).
"""
from __future__ import annotations

from typing import NamedTuple

from analysis.model import Frame, TcpInfo
from analysis.tcp.sequence import (
    A_FAST_RETRANSMISSION, A_REUSED_PORTS, A_SPURIOUS_RETRANSMISSION, ACK, FIN, M32, SYN, Flow,
    analyze_segment)
from analysis.vocabulary import ANALYSIS_FLAGS

_NAMES = tuple(ANALYSIS_FLAGS)
_SYN_ACK = SYN | ACK
_SYN_FIN = SYN | FIN


def _flag_names(bits: int) -> tuple[str, ...]:
    # tshark also sets tcp.analysis.retransmission on fast and spurious retransmissions
    # (print_retransmission adds ei_tcp_analysis_retransmission for both)
    if bits & (A_FAST_RETRANSMISSION | A_SPURIOUS_RETRANSMISSION):
        bits |= 1
    return tuple(name for i, name in enumerate(_NAMES) if bits >> i & 1)


class StreamInfo(NamedTuple):
    """One tcp.stream: who spoke first, when, and its initial RTT."""

    stream: int
    client: str                  # address of the stream's first sender (TcpInfo.from_client)
    client_port: int
    server: str
    server_port: int
    first_frame: int
    first_ns: int                # capture time of the first frame (ns since the epoch)
    syn_ns: int | None           # time of the stream's first SYN without ACK
    irtt_ns: int | None          # tcp.analysis.initial_rtt (None until the handshake ACK)

    @property
    def irtt(self) -> float | None:
        return None if self.irtt_ns is None else self.irtt_ns / 1e9


class _Conversation:
    """Wireshark's tcp_analysis for one stream: both flows plus the iRTT clock."""

    __slots__ = ("stream", "key", "client", "server", "first_frame", "first_ns", "syn_ns",
                 "mru_syn_ns", "irtt_ns")

    def __init__(self, stream: int, key: tuple, frame: Frame) -> None:
        self.stream = stream
        self.key = key                          # (src, sport, dst, dport) of the first frame
        self.client = Flow()                    # flow of the first sender
        self.server = Flow()
        self.first_frame = frame.number
        self.first_ns = frame.ts_ns
        self.syn_ns = 0
        self.mru_syn_ns = 0                     # ts_mru_syn: the most recent SYN
        self.irtt_ns = 0                        # ts_first_rtt (0: not known yet)

    def info(self) -> StreamInfo:
        src, sport, dst, dport = self.key
        return StreamInfo(self.stream, src, sport, dst, dport, self.first_frame, self.first_ns,
                          self.syn_ns or None, self.irtt_ns or None)


class TcpAnalyzer:
    """Streaming tshark-compatible TCP analysis; one instance per capture, frames in order."""

    def __init__(self) -> None:
        self._by_key: dict[tuple, _Conversation] = {}   # current conversation per 4-tuple
        self._streams: list[_Conversation] = []
        self._names: dict[int, tuple[str, ...]] = {}

    @property
    def streams(self) -> dict[int, StreamInfo]:
        """Every stream so far, by tcp.stream."""
        return {conv.stream: conv.info() for conv in self._streams}

    def stream(self, index: int) -> StreamInfo:
        return self._streams[index].info()

    def __len__(self) -> int:
        return len(self._streams)

    def _open(self, key: tuple, frame: Frame) -> _Conversation:
        conv = _Conversation(len(self._streams), key, frame)
        self._streams.append(conv)
        self._by_key[key] = conv
        return conv

    def process(self, frame: Frame) -> TcpInfo | None:
        tcp = frame.tcp
        if tcp is None:
            return None
        key = (frame.src, frame.sport, frame.dst, frame.dport)
        by_key = self._by_key
        conv = by_key.get(key)
        from_client = True
        if conv is None:
            conv = by_key.get((frame.dst, frame.dport, frame.src, frame.sport))
            if conv is None:
                conv = self._open(key, frame)
            else:
                from_client = False
        flags = tcp.flags
        seq = tcp.seq
        ts_ns = frame.ts_ns
        fwd, rev = (conv.client, conv.server) if from_client else (conv.server, conv.client)

        ta = 0
        syn_ack = flags & _SYN_ACK
        if syn_ack == SYN and fwd.base_set and seq != fwd.base_seq:
            # a SYN with a new ISN on a known 4-tuple: a new conversation, reused ports
            del by_key[conv.key]
            conv = self._open(key, frame)
            from_client = True
            fwd, rev = conv.client, conv.server
            ta = A_REUSED_PORTS
        elif syn_ack == _SYN_ACK and fwd.base_set and seq != fwd.base_seq:
            # a SYN/ACK with a new ISN: same conversation, re-based (issue 16944), reused ports
            fwd.base_seq = seq
            ta = A_REUSED_PORTS

        seglen = frame.payload_len
        ta, has_record = analyze_segment(fwd, rev, seq, tcp.ack, seglen, flags, tcp.window, ts_ns,
                                         conv.irtt_ns, ta)

        # relative numbers (tcp.seq, tcp.ack, tcp.nxtseq); tshark shows the raw ack field when
        # the ACK flag is off
        seq_rel = (seq - fwd.base_seq) & M32
        ack_rel = (tcp.ack - rev.base_seq) & M32 if flags & ACK else tcp.ack
        next_rel = (seq_rel + seglen + (1 if flags & _SYN_FIN else 0)) & M32

        # tcp.window_size: SYNs are never scaled; -1 (unknown) and -2 (none) leave it raw
        window = tcp.window
        if flags & SYN:
            scalefactor = None
        else:
            shift = fwd.win_scale
            if shift >= 0:
                window <<= shift
                scalefactor = 1 << shift
            else:
                scalefactor = shift

        # iRTT: the most recent SYN to the first pure ACK of the conversation
        if syn_ack == SYN:
            conv.mru_syn_ns = ts_ns
            if not conv.syn_ns:
                conv.syn_ns = ts_ns
        elif syn_ack == ACK and conv.mru_syn_ns and not conv.irtt_ns:
            conv.irtt_ns = ts_ns - conv.mru_syn_ns
        # is_first_ack: set by a SYN, cleared by the sender's first pure ACK (window full)
        if flags & SYN:
            fwd.is_first_ack = True
        elif syn_ack == ACK:
            fwd.is_first_ack = False

        # window scale option (read while dissecting the options, after the window above);
        # then verify_tcp_window_scaling() on SYN and SYN/ACK
        shift = tcp.wscale
        if shift is not None:
            fwd.win_scale = 14 if shift > 14 else shift
        if flags & SYN:
            if fwd.win_scale == -1:
                # this SYN (or SYN/ACK) offers no scaling: neither side scales
                fwd.win_scale = rev.win_scale = -2
            elif syn_ack == _SYN_ACK and rev.win_scale == -2:
                fwd.win_scale = -2

        malformed = frame.malformed
        if malformed is not None and malformed.code == "tcp-options-cut":
            # tshark stops at the cut options, before printing the SEQ/ACK analysis
            names: tuple[str, ...] = ()
            irtt = None
        else:
            names = self._names.get(ta)
            if names is None:
                names = self._names[ta] = _flag_names(ta)
            irtt = conv.irtt_ns if (ta or has_record) and conv.irtt_ns else None
        return TcpInfo(conv.stream, seq_rel, ack_rel, next_rel, names, window, from_client,
                       irtt, scalefactor)
