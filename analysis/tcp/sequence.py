"""Wireshark 4.0's TCP sequence analysis, ported: `tcp_analyze_sequence_number()` of
epan/dissectors/packet-tcp.c, one segment at a time, on raw (absolute) 32-bit numbers.

Everything here works the way Wireshark's one-pass dissection does (the conformance truth was
made without -2): the flags of a frame only depend on the frames before it.  Sequence arithmetic
is modulo 2**32 with Wireshark's GT_SEQ / LT_SEQ / LE_SEQ, and "0" still means "not seen yet"
for nextseq, lastack and maxseqtobeacked, exactly as in the C code (a raw value of 0 is rare
but must behave the same way).

The per-direction state is one `Flow` (Wireshark's tcp_flow_t + tcp_analyze_seq_info): a few
integers and the list of unacknowledged segments' end sequence numbers, which Wireshark keeps
too (it decides on which frames the SEQ/ACK analysis subtree, and so tcp.analysis.initial_rtt,
appears).  That list only holds segments not yet acknowledged, so it stays short.
"""
from __future__ import annotations

# TCP header flag bits (tcp.flags)
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
SYN_FIN, SYN_FIN_RST = SYN | FIN, SYN | FIN | RST

# Our analysis bits, in vocabulary.ANALYSIS_FLAGS order (bit i <-> i-th name).
A_RETRANSMISSION = 1 << 0
A_FAST_RETRANSMISSION = 1 << 1
A_SPURIOUS_RETRANSMISSION = 1 << 2
A_OUT_OF_ORDER = 1 << 3
A_LOST_SEGMENT = 1 << 4
A_ACK_LOST_SEGMENT = 1 << 5
A_DUPLICATE_ACK = 1 << 6
A_ZERO_WINDOW = 1 << 7
A_ZERO_WINDOW_PROBE = 1 << 8
A_ZERO_WINDOW_PROBE_ACK = 1 << 9
A_WINDOW_UPDATE = 1 << 10
A_WINDOW_FULL = 1 << 11
A_KEEP_ALIVE = 1 << 12
A_KEEP_ALIVE_ACK = 1 << 13
A_REUSED_PORTS = 1 << 14

M32 = 0xFFFFFFFF
HALF = 0x80000000
MAX_UNACKED_SEGMENTS = 10000        # TCP_MAX_UNACKED_SEGMENTS in packet-tcp.h
FAST_RETRANSMISSION_NS = 20_000_000  # a retransmission within 20 ms of the 2nd+ duplicate ACK
OUT_OF_ORDER_DEFAULT_NS = 3_000_000  # out-of-order window when the iRTT is unknown: 3 ms


def gt_seq(x: int, y: int) -> bool:
    """GT_SEQ(x, y): (gint32)(y - x) < 0."""
    return (y - x) & M32 >= HALF


def lt_seq(x: int, y: int) -> bool:
    """LT_SEQ(x, y): (gint32)(x - y) < 0."""
    return (x - y) & M32 >= HALF


def le_seq(x: int, y: int) -> bool:
    """LE_SEQ(x, y): (gint32)(x - y) <= 0."""
    d = (x - y) & M32
    return d == 0 or d >= HALF


class Flow:
    """One direction of a conversation (Wireshark's tcp_flow_t)."""

    __slots__ = ("base_seq", "base_set", "win_scale", "window", "nextseq", "nextseq_ns",
                 "maxseqtobeacked", "lastack", "lastack_ns", "dupacknum", "lastsegmentflags",
                 "valid_bif", "is_first_ack", "unacked")

    def __init__(self) -> None:
        self.base_seq = 0
        self.base_set = False           # TCP_S_BASE_SEQ_SET
        self.win_scale = -1             # -1 unknown, -2 no scaling, else the shift count
        # init_tcp_conversation_data() starts the window at G_MAXUINT32: an unseen direction
        # never looks like a zero window (no zero-window probe before the peer spoke)
        self.window = M32
        self.nextseq = 0
        self.nextseq_ns = 0
        self.maxseqtobeacked = 0
        self.lastack = 0
        self.lastack_ns = 0
        self.dupacknum = 0
        self.lastsegmentflags = 0
        self.valid_bif = True           # bytes in flight are known (reset by a lost segment)
        self.is_first_ack = False       # a SYN was sent and no pure ACK since (window unscaled)
        self.unacked: list[int] = []    # nextseq of each segment not yet acknowledged


def analyze_segment(fwd: Flow, rev: Flow, seq: int, ack: int, seglen: int, flags: int,
                    window: int, ts_ns: int, irtt_ns: int, ta: int) -> tuple[int, bool]:
    """One segment through tcp_analyze_sequence_number().

    `fwd` is the flow of the segment's sender, `rev` the other one; `window` is the raw window
    field; `irtt_ns` the conversation's iRTT so far (0 if unknown); `ta` the analysis bits already
    set for this frame (reused ports).  Returns (analysis bits, acks_segment): `acks_segment` says
    the segment acknowledges exactly the end of a segment seen before (Wireshark then creates
    the frame's tcp_acked record, which is what makes tshark print the SEQ/ACK analysis tree).
    """
    nextseq = fwd.nextseq

    # base sequence numbers: the SYN's ISN, else seq - 1 so relative numbers start at 1
    if not fwd.base_set:
        fwd.base_seq = seq if flags & SYN else (seq - 1) & M32
        fwd.base_set = True
    # the reverse base comes from the first ACK (usually the SYN/ACK): its ack - 1
    if not rev.base_set and flags & ACK:
        rev.base_seq = (ack - 1) & M32
        rev.base_set = True
    if flags & ACK:
        rev.valid_bif = True

    finished_fwd = False
    # ZERO WINDOW PROBE: exactly 1 byte at the next expected seq while the peer's window is 0
    if seglen == 1 and seq == nextseq and rev.window == 0:
        ta |= A_ZERO_WINDOW_PROBE
        finished_fwd = True
    else:
        not_sfr = not flags & SYN_FIN_RST
        # ZERO WINDOW: window 0 and none of SYN/FIN/RST
        if window == 0 and not_sfr:
            ta |= A_ZERO_WINDOW
        # LOST PACKET: beyond the highest nextseq seen (RSTs are not checked)
        if nextseq and gt_seq(seq, nextseq) and not flags & RST:
            ta |= A_LOST_SEGMENT
            fwd.valid_bif = False
        # KEEP ALIVE: 0 or 1 byte starting one byte before the next expected seq
        if seglen <= 1 and seq == (nextseq - 1) & M32 and not_sfr:
            ta |= A_KEEP_ALIVE
        same_seq_ack = seglen == 0 and seq == nextseq and ack == fwd.lastack and not_sfr
        # WINDOW UPDATE: no data, same seq/ack as before, a new nonzero window
        if same_seq_ack and window and window != fwd.window:
            ta |= A_WINDOW_UPDATE
        # WINDOW FULL: data reaching exactly the right edge of the peer's advertised window
        # (only when the peer's scaling is known; -2 means unscaled)
        if seglen > 0 and rev.win_scale != -1 and not_sfr:
            # the peer's last window is unscaled while it has not sent a pure ACK since its
            # SYN (is_first_ack, issue 14690)
            shift = 0 if rev.is_first_ack or rev.win_scale == -2 else rev.win_scale
            if (seq + seglen) & M32 == (rev.lastack + (rev.window << shift)) & M32:
                ta |= A_WINDOW_FULL
        if same_seq_ack and window and window == fwd.window:
            if rev.lastsegmentflags & A_KEEP_ALIVE:
                # KEEP ALIVE ACK: repeats the previous ACK right after a keep-alive
                ta |= A_KEEP_ALIVE_ACK
                finished_fwd = True
        if not finished_fwd and same_seq_ack and window == 0 and fwd.window == 0 \
                and rev.lastsegmentflags & A_ZERO_WINDOW_PROBE:
            # ZERO WINDOW PROBE ACK: repeats the previous zero-window ACK after a probe
            ta |= A_ZERO_WINDOW_PROBE_ACK
            finished_fwd = True
        if not finished_fwd and same_seq_ack and window and window == fwd.window:
            # DUPLICATE ACK: same window, seq and ack as the previous segment, no data
            # (-1 marks "ACKed unseen segment already reported": the count restarts at 1)
            fwd.dupacknum = 1 if fwd.dupacknum == -1 else fwd.dupacknum + 1
            ta |= A_DUPLICATE_ACK

    # finished_fwd: a new ack number resets the duplicate-ACK count
    if ack != fwd.lastack:
        fwd.dupacknum = 0

    # ACKED LOST PACKET: acknowledges beyond the highest contiguous seq seen the other way
    if rev.maxseqtobeacked and gt_seq(ack, rev.maxseqtobeacked) and flags & ACK:
        if rev.maxseqtobeacked > rev.nextseq:      # plain guint32 comparison in the C code
            # move the boundary so the same gap is not reported again
            rev.maxseqtobeacked = rev.nextseq
            ta |= A_ACK_LOST_SEGMENT
        else:
            # the gap stays: report it once per new ack number.  tshark 4.0.17 keeps this mark
            # in the ACKing side's duplicate-ACK counter (a new ack resets it to 0 above; a
            # duplicate ACK turns -1 into 1), which is what the crafted captures show
            if fwd.dupacknum == 0:
                ta |= A_ACK_LOST_SEGMENT
            fwd.dupacknum = -1

    # RETRANSMISSION / FAST RETRANSMISSION / OUT-OF-ORDER / SPURIOUS: a segment carrying data
    # (or SYN/FIN) that does not advance the sequence number; keep-alives are none of these
    if (seglen > 0 or flags & SYN_FIN) and not ta & A_KEEP_ALIVE:
        seq_not_advanced = bool(nextseq) and lt_seq(seq, nextseq)
        # one byte less than nextseq with more than one byte of data: new data after a
        # zero-window probe, not a retransmission
        if seglen > 1 and (nextseq - 1) & M32 == seq:
            seq_not_advanced = False
        if seglen > 0 and rev.lastack and le_seq((seq + seglen) & M32, rev.lastack):
            # SPURIOUS: all of it was already acknowledged (checked first since 3.x)
            ta |= A_SPURIOUS_RETRANSMISSION
        elif seq_not_advanced and rev.dupacknum >= 2 and rev.lastack == seq \
                and 0 <= ts_ns - rev.lastack_ns < FAST_RETRANSMISSION_NS:
            # FAST: 2+ duplicate ACKs asked for this seq, within 20 ms of the last one
            ta |= A_FAST_RETRANSMISSION
        elif seq_not_advanced \
                and 0 <= ts_ns - fwd.nextseq_ns < (irtt_ns or OUT_OF_ORDER_DEFAULT_NS) \
                and nextseq != (seq + seglen + (1 if flags & SYN_FIN else 0)) & M32:
            # OUT-OF-ORDER: soon after the highest segment (within the iRTT, 3 ms if unknown)
            ta |= A_OUT_OF_ORDER
        elif seq_not_advanced:
            ta |= A_RETRANSMISSION

    # finished_checking_retransmission_type: remember the segment
    end = (seq + seglen) & M32
    unacked = fwd.unacked
    if (seglen or flags & SYN_FIN) and len(unacked) < MAX_UNACKED_SEGMENTS:
        if flags & SYN_FIN:
            end = (end + 1) & M32          # SYN and FIN take one sequence number
        unacked.append(end)
    probe = ta & A_ZERO_WINDOW_PROBE       # zero-window probes do not advance nextseq
    if not nextseq or gt_seq(end, nextseq):
        if not probe:
            fwd.nextseq = end
            fwd.nextseq_ns = ts_ns
    if not fwd.maxseqtobeacked or seq == fwd.maxseqtobeacked:
        if not probe:
            fwd.maxseqtobeacked = fwd.nextseq
    fwd.window = window
    fwd.lastack = ack
    fwd.lastack_ns = ts_ns
    fwd.lastsegmentflags = ta

    # drop the peer's segments this acknowledges (the raw ack field, ACK flag or not)
    acks_segment = False
    pending = rev.unacked
    if pending:
        acks_segment = ack in pending
        kept = [end for end in pending if (ack - end) & M32 >= HALF]   # GT_SEQ(end, ack)
        if len(kept) != len(pending):
            rev.unacked = kept
    # bytes in flight: a segment with data, sent while the peer's ACKs are tracked, gets
    # a tcp_acked record (bytes_in_flight / push_bytes_sent)
    has_record = acks_segment or (seglen != 0 and fwd.valid_bif and bool(fwd.unacked))
    return ta, has_record
