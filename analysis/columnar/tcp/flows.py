"""Wireshark 4.0's TCP sequence analysis as a numba function over compact per-flow arrays.

An exact port of analysis/tcp/sequence.py (`Flow` and `analyze_segment`, itself a port of
tcp_analyze_sequence_number() of packet-tcp.c); tcp_kernel.py calls it once per TCP frame.
The branches, their order and the 32-bit modular arithmetic are the reference's: sequence
values are int64 locals masked with 0xFFFFFFFF, stored as uint32.

A flow (one direction of a stream) is row `2 * stream + side` (side 0: the stream's first
sender, TcpAnalyzer's conv.client) of these arrays:

    fu32[flow, U_*]   uint32  base_seq, window, nextseq, maxseqtobeacked, lastack
    fi64[flow, I_*]   int64   nextseq_ns, lastack_ns
    fi8[flow, B_*]    int8    win_scale, dupacknum, bits (F_* below)
    flist[flow, L_*]  int32   head of its unacked-segment list in the pool, length of the list

The unacked segments of every flow live in one shared pool of singly linked nodes
(pool_next int32, pool_end uint32 - the segment's end sequence number) with a free list, so
memory follows the live unacked segments; meta[M_FREE] is the free list's head and
meta[M_TOP] the first never-used node.  The reference keeps a Python list per flow; only
membership, filtering and the length matter there, so the order of a list is irrelevant.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from analysis.columnar.freelist import take

# The flag bits and Wireshark's limits are the reference's own (numba freezes these ints)
from analysis.tcp.sequence import (  # noqa: E402,F401 - re-exported to tcp_kernel
    A_ACK_LOST_SEGMENT, A_DUPLICATE_ACK, A_FAST_RETRANSMISSION, A_KEEP_ALIVE, A_KEEP_ALIVE_ACK,
    A_LOST_SEGMENT, A_OUT_OF_ORDER, A_RETRANSMISSION, A_REUSED_PORTS, A_SPURIOUS_RETRANSMISSION,
    A_WINDOW_FULL, A_WINDOW_UPDATE, A_ZERO_WINDOW, A_ZERO_WINDOW_PROBE, A_ZERO_WINDOW_PROBE_ACK,
    ACK, FAST_RETRANSMISSION_NS, FIN, HALF, M32, MAX_UNACKED_SEGMENTS, OUT_OF_ORDER_DEFAULT_NS, RST,
    SYN, SYN_FIN, SYN_FIN_RST)

SYN_ACK = SYN | ACK

# columns of the flow arrays
U_BASE, U_WINDOW, U_NEXTSEQ, U_MAXSEQ, U_LASTACK = 0, 1, 2, 3, 4
I_NEXTSEQ_NS, I_LASTACK_NS = 0, 1
B_WIN_SCALE, B_DUPACKS, B_BITS = 0, 1, 2
L_HEAD, L_COUNT = 0, 1
U_COLS, I_COLS, B_COLS, L_COLS = 5, 2, 3, 2

# Flow booleans, in fi8[flow, B_BITS]; lastsegmentflags is only ever read for these two flags
F_BASE_SET = 1          # TCP_S_BASE_SEQ_SET
F_VALID_BIF = 2         # bytes in flight known
F_FIRST_ACK = 4         # is_first_ack
F_LAST_KEEP_ALIVE = 8   # lastsegmentflags & A_KEEP_ALIVE
F_LAST_ZW_PROBE = 16    # lastsegmentflags & A_ZERO_WINDOW_PROBE

# The duplicate-ACK count is only ever compared with -1, 0 and 2, so it saturates here: int8
# holds it exactly as far as anything the analysis shows is concerned.
DUPACKS_MAX = 100

# meta (int64) of the pool; tcp_kernel keeps its own counters after these
M_FREE, M_TOP = 0, 1
NIL = -1


@njit(cache=True, nogil=True, inline="always")
def gt_seq(x, y):
    return ((y - x) & M32) >= HALF


@njit(cache=True, nogil=True, inline="always")
def lt_seq(x, y):
    return ((x - y) & M32) >= HALF


@njit(cache=True, nogil=True, inline="always")
def le_seq(x, y):
    d = (x - y) & M32
    return d == 0 or d >= HALF


@njit(cache=True, nogil=True)
def init_flow(fu32, fi64, fi8, flist, f):
    """Flow() of the reference: window starts at G_MAXUINT32, scaling unknown, bif valid."""
    fu32[f, U_BASE] = 0
    fu32[f, U_WINDOW] = M32
    fu32[f, U_NEXTSEQ] = 0
    fu32[f, U_MAXSEQ] = 0
    fu32[f, U_LASTACK] = 0
    fi64[f, I_NEXTSEQ_NS] = 0
    fi64[f, I_LASTACK_NS] = 0
    fi8[f, B_WIN_SCALE] = -1
    fi8[f, B_DUPACKS] = 0
    fi8[f, B_BITS] = F_VALID_BIF
    flist[f, L_HEAD] = NIL
    flist[f, L_COUNT] = 0


@njit(cache=True, nogil=True, inline="always")
def _set_bit(fi8, f, bit, on):
    if on:
        fi8[f, B_BITS] |= bit
    else:
        fi8[f, B_BITS] &= ~bit


@njit(cache=True, nogil=True)
def _append(flist, pool_next, pool_end, meta, f, end):
    node = take(pool_next, meta, M_FREE, M_TOP)
    pool_end[node] = end
    pool_next[node] = flist[f, L_HEAD]
    flist[f, L_HEAD] = node
    flist[f, L_COUNT] += 1


@njit(cache=True, nogil=True)
def _drop_acked(flist, pool_next, pool_end, meta, f, ack):
    """Drop the flow's segments ending at or before `ack` (kept: GT_SEQ(end, ack)); returns
    whether one of them ended exactly at `ack` (`ack in pending`)."""
    found = False
    prev = NIL
    node = flist[f, L_HEAD]
    while node != NIL:
        nxt = pool_next[node]
        end = np.int64(pool_end[node])
        if end == ack:
            found = True
        if ((ack - end) & M32) >= HALF:
            prev = node
        else:
            if prev == NIL:
                flist[f, L_HEAD] = nxt
            else:
                pool_next[prev] = nxt
            flist[f, L_COUNT] -= 1
            pool_next[node] = meta[M_FREE]
            meta[M_FREE] = node
        node = nxt
    return found


@njit(cache=True, nogil=True, inline="always")
def analyze_segment(fu32, fi64, fi8, flist, pool_next, pool_end, meta, fwd, rev, seq, ack,
                    seglen, flags, window, ts_ns, irtt_ns, ta):
    """tcp_sequence.analyze_segment on flows `fwd` (the sender's) and `rev`: returns
    (analysis bits, has_record) and updates both flows as the reference does."""
    nextseq = np.int64(fu32[fwd, U_NEXTSEQ])

    if not fi8[fwd, B_BITS] & F_BASE_SET:
        fu32[fwd, U_BASE] = seq if flags & SYN else (seq - 1) & M32
        fi8[fwd, B_BITS] |= F_BASE_SET
    if not fi8[rev, B_BITS] & F_BASE_SET and flags & ACK:
        fu32[rev, U_BASE] = (ack - 1) & M32
        fi8[rev, B_BITS] |= F_BASE_SET
    if flags & ACK:
        fi8[rev, B_BITS] |= F_VALID_BIF

    fwd_window = np.int64(fu32[fwd, U_WINDOW])
    fwd_lastack = np.int64(fu32[fwd, U_LASTACK])
    rev_window = np.int64(fu32[rev, U_WINDOW])
    rev_lastack = np.int64(fu32[rev, U_LASTACK])
    rev_bits = fi8[rev, B_BITS]

    finished_fwd = False
    if seglen == 1 and seq == nextseq and rev_window == 0:
        ta |= A_ZERO_WINDOW_PROBE
        finished_fwd = True
    else:
        not_sfr = (flags & SYN_FIN_RST) == 0
        if window == 0 and not_sfr:
            ta |= A_ZERO_WINDOW
        if nextseq != 0 and gt_seq(seq, nextseq) and not flags & RST:
            ta |= A_LOST_SEGMENT
            fi8[fwd, B_BITS] &= ~F_VALID_BIF
        if seglen <= 1 and seq == (nextseq - 1) & M32 and not_sfr:
            ta |= A_KEEP_ALIVE
        same_seq_ack = seglen == 0 and seq == nextseq and ack == fwd_lastack and not_sfr
        if same_seq_ack and window != 0 and window != fwd_window:
            ta |= A_WINDOW_UPDATE
        rev_scale = np.int64(fi8[rev, B_WIN_SCALE])
        if seglen > 0 and rev_scale != -1 and not_sfr:
            shift = 0 if (rev_bits & F_FIRST_ACK) or rev_scale == -2 else rev_scale
            if (seq + seglen) & M32 == (rev_lastack + (rev_window << shift)) & M32:
                ta |= A_WINDOW_FULL
        if same_seq_ack and window != 0 and window == fwd_window:
            if rev_bits & F_LAST_KEEP_ALIVE:
                ta |= A_KEEP_ALIVE_ACK
                finished_fwd = True
        if not finished_fwd and same_seq_ack and window == 0 and fwd_window == 0 \
                and rev_bits & F_LAST_ZW_PROBE:
            ta |= A_ZERO_WINDOW_PROBE_ACK
            finished_fwd = True
        if not finished_fwd and same_seq_ack and window != 0 and window == fwd_window:
            dup = fi8[fwd, B_DUPACKS]
            fi8[fwd, B_DUPACKS] = 1 if dup == -1 else min(dup + 1, DUPACKS_MAX)
            ta |= A_DUPLICATE_ACK

    if ack != fwd_lastack:
        fi8[fwd, B_DUPACKS] = 0

    rev_maxseq = np.int64(fu32[rev, U_MAXSEQ])
    if rev_maxseq != 0 and gt_seq(ack, rev_maxseq) and flags & ACK:
        rev_nextseq = np.int64(fu32[rev, U_NEXTSEQ])
        if rev_maxseq > rev_nextseq:          # a plain unsigned comparison in the C code
            fu32[rev, U_MAXSEQ] = rev_nextseq
            ta |= A_ACK_LOST_SEGMENT
        else:
            if fi8[fwd, B_DUPACKS] == 0:
                ta |= A_ACK_LOST_SEGMENT
            fi8[fwd, B_DUPACKS] = -1

    if (seglen > 0 or flags & SYN_FIN) and not ta & A_KEEP_ALIVE:
        seq_not_advanced = nextseq != 0 and lt_seq(seq, nextseq)
        if seglen > 1 and (nextseq - 1) & M32 == seq:
            seq_not_advanced = False
        syn_fin = 1 if flags & SYN_FIN else 0
        if seglen > 0 and rev_lastack != 0 and le_seq((seq + seglen) & M32, rev_lastack):
            ta |= A_SPURIOUS_RETRANSMISSION
        elif seq_not_advanced and fi8[rev, B_DUPACKS] >= 2 and rev_lastack == seq \
                and 0 <= ts_ns - fi64[rev, I_LASTACK_NS] < FAST_RETRANSMISSION_NS:
            ta |= A_FAST_RETRANSMISSION
        elif seq_not_advanced \
                and 0 <= ts_ns - fi64[fwd, I_NEXTSEQ_NS] < (
                    irtt_ns if irtt_ns != 0 else OUT_OF_ORDER_DEFAULT_NS) \
                and nextseq != (seq + seglen + syn_fin) & M32:
            ta |= A_OUT_OF_ORDER
        elif seq_not_advanced:
            ta |= A_RETRANSMISSION

    # remember the segment (the +1 of SYN/FIN only when it is listed, as in the reference)
    end = (seq + seglen) & M32
    if (seglen != 0 or flags & SYN_FIN) and flist[fwd, L_COUNT] < MAX_UNACKED_SEGMENTS:
        if flags & SYN_FIN:
            end = (end + 1) & M32
        _append(flist, pool_next, pool_end, meta, fwd, end)
    probe = ta & A_ZERO_WINDOW_PROBE
    if nextseq == 0 or gt_seq(end, nextseq):
        if not probe:
            fu32[fwd, U_NEXTSEQ] = end
            fi64[fwd, I_NEXTSEQ_NS] = ts_ns
    fwd_maxseq = np.int64(fu32[fwd, U_MAXSEQ])
    if fwd_maxseq == 0 or seq == fwd_maxseq:
        if not probe:
            fu32[fwd, U_MAXSEQ] = fu32[fwd, U_NEXTSEQ]
    fu32[fwd, U_WINDOW] = window
    fu32[fwd, U_LASTACK] = ack
    fi64[fwd, I_LASTACK_NS] = ts_ns
    _set_bit(fi8, fwd, F_LAST_KEEP_ALIVE, ta & A_KEEP_ALIVE)
    _set_bit(fi8, fwd, F_LAST_ZW_PROBE, ta & A_ZERO_WINDOW_PROBE)

    acks_segment = False
    if flist[rev, L_COUNT] != 0:
        acks_segment = _drop_acked(flist, pool_next, pool_end, meta, rev, ack)
    has_record = acks_segment or (seglen != 0 and (fi8[fwd, B_BITS] & F_VALID_BIF) != 0
                                  and flist[fwd, L_COUNT] != 0)
    return ta, has_record
