"""One TCP packet through Zeek's session adapter: the numba port of conn_zeek.ZeekTcp.packet.

Mirrors analysis/conn/zeek.py (ZeekTcp.packet, _control_history, _update_last_seq, _undelivered,
_gap, checksum_error) line by line; the endpoint, reassembler and state-machine pieces it calls
are in conn_endpoint.py, the state layout in conn_pools.py. The history arguments come in one
order everywhere: conn_i8, conn_u16, conn_u32, conn_i32, conn_hist, chunk_text, chunk_prev,
meta (and counters for the scaled letters).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from analysis.conn.zeek import (ACK, CLOSED, FIN, HIST_ACK, HIST_DATA, HIST_FIN, HIST_FIN_RST,
                                HIST_MULTI, HIST_RST, HIST_SYN, INACTIVE, RESET, RST, SYN,
                                TOO_LARGE_SEQ_DELTA)
from analysis.columnar.conn import pools as P
from analysis.columnar.conn.endpoint import (
    L_A, L_C, L_D, L_F, L_G, L_H, L_I, L_Q, L_R, L_S, L_T, L_W, M32, check, data_sent,
    init_endpoint, init_seqs, is_clean, letter, scaled, seq_delta, state_machine, undelivered,
    update_last)
from analysis.columnar.conn.pools import JIT, hist_append


@njit(**JIT)
def checksum_error(s, e, conn_i8, conn_u32, conn_i32, conn_hist, chunk_text, chunk_prev, meta,
                   counters):
    """ZeekTcp.checksum_error for endpoint e: only the scaled c/C."""
    scaled(s, e, P.CNT_C, L_C, conn_i8, conn_u32, conn_i32, conn_hist, chunk_text, chunk_prev,
           meta, counters)


@njit(**JIT, inline="always")
def control_history(s, e, flags, rel_seq, length, conn_i8, conn_u16, conn_u32, conn_i32,
                    conn_hist, chunk_text, chunk_prev, meta, ep_i64):
    """ZeekTcp._control_history: update_history for a packet with SYN, FIN or RST."""
    syn, fin, rst = flags & SYN, flags & FIN, flags & RST
    if (1 if syn else 0) + (1 if fin else 0) + (1 if rst else 0) > 1:
        if fin and rst:
            check(s, e, HIST_FIN_RST, L_I, conn_i8, conn_u16, conn_u32, conn_i32, conn_hist,
                  chunk_text, chunk_prev, meta)
        else:
            check(s, e, HIST_MULTI, L_Q, conn_i8, conn_u16, conn_u32, conn_i32, conn_hist,
                  chunk_text, chunk_prev, meta)
    elif syn:
        code = L_H if flags & ACK else L_S
        if check(s, e, HIST_SYN, code, conn_i8, conn_u16, conn_u32, conn_i32, conn_hist,
                 chunk_text, chunk_prev, meta) and rel_seq != ep_i64[s, e, P.H_SYN]:
            hist_append(s, letter(s, e, code, conn_i8), conn_u32, conn_i32, conn_hist,
                        chunk_text, chunk_prev, meta)
        ep_i64[s, e, P.H_SYN] = rel_seq
    elif fin:
        if check(s, e, HIST_FIN, L_F, conn_i8, conn_u16, conn_u32, conn_i32, conn_hist,
                 chunk_text, chunk_prev, meta) and rel_seq + length != ep_i64[s, e, P.H_FIN]:
            hist_append(s, letter(s, e, L_F, conn_i8), conn_u32, conn_i32, conn_hist,
                        chunk_text, chunk_prev, meta)
        ep_i64[s, e, P.H_FIN] = rel_seq + length
    else:
        if check(s, e, HIST_RST, L_R, conn_i8, conn_u16, conn_u32, conn_i32, conn_hist,
                 chunk_text, chunk_prev, meta) and rel_seq != ep_i64[s, e, P.H_RST]:
            hist_append(s, letter(s, e, L_R, conn_i8), conn_u32, conn_i32, conn_hist,
                        chunk_text, chunk_prev, meta)
        ep_i64[s, e, P.H_RST] = rel_seq


@njit(**JIT, inline="always")
def packet(s, is_orig, flags, seq, ack, window, length, captured_all, conn_i8, conn_u16,
           conn_u32, conn_i32, conn_hist, ep_i64, ep_u32, ep_i32, ep_i8, blk_lo, blk_hi,
           blk_next, chunk_text, chunk_prev, counters, meta):
    """ZeekTcp.packet (TCPSessionAdapter::Process) for a packet of connection s."""
    if is_orig:
        e = np.int64(conn_i8[s, P.ORIG_EP])
        if not conn_i8[s, P.FIRST_SEEN] & 1:
            conn_i8[s, P.PARTIAL] = 1 if (not flags & SYN or flags & ACK) else 0
    else:
        e = 1 - np.int64(conn_i8[s, P.ORIG_EP])
        if not conn_i8[s, P.FIRST_SEEN] & 2 and not conn_i8[s, P.PARTIAL]:
            conn_i8[s, P.PARTIAL] = 0 if flags & SYN else 1
    p = 1 - e
    control = flags & 0x07
    syn = flags & SYN
    has_ack = flags & ACK

    if control:
        seg_len = length + (1 if syn else 0) + (1 if flags & FIN else 0)
        if flags & RST:
            seg_len -= length
    else:
        seg_len = length
    past = (seq + seg_len) & M32
    if syn or ep_i8[s, e, P.STATE] == INACTIVE:
        init_endpoint(s, e, syn, seq, past, ep_i64, ep_u32, ep_i8)
    rel_seq = ep_i64[s, e, P.LAST_REL] + seq_delta(seq - np.int64(ep_u32[s, e, P.LAST]))

    if control:
        control_history(s, e, flags, rel_seq, length, conn_i8, conn_u16, conn_u32, conn_i32,
                        conn_hist, chunk_text, chunk_prev, meta, ep_i64)
    elif length:
        check(s, e, HIST_DATA, L_D, conn_i8, conn_u16, conn_u32, conn_i32, conn_hist, chunk_text,
              chunk_prev, meta)
    elif has_ack:
        check(s, e, HIST_ACK, L_A, conn_i8, conn_u16, conn_u32, conn_i32, conn_hist, chunk_text,
              chunk_prev, meta)
    # update_window: a zero window is boring with or after a RST, or after the peer's FIN
    if (window == 0 and not flags & RST and ep_i8[s, p, P.STATE] != CLOSED
            and ep_i8[s, e, P.STATE] != RESET):
        scaled(s, e, P.CNT_W, L_W, conn_i8, conn_u32, conn_i32, conn_hist, chunk_text,
               chunk_prev, meta, counters)
    if control:
        if flags & FIN:
            ep_i8[s, e, P.FIN_SEEN] = 1
            ep_i64[s, e, P.FIN_SEQ] = rel_seq + seg_len

    rel_ack = np.int64(0)
    if has_ack:
        if ep_i8[s, p, P.STATE] == INACTIVE:
            rel_ack = 1
            init_seqs(s, p, (ack - 1) & M32, (ack - 1) & M32, ep_i64, ep_u32)
        else:
            delta = seq_delta(ack - np.int64(ep_u32[s, p, P.ACK_RAW]))
            rel_ack = ep_i64[s, p, P.ACK_REL] + delta
            if rel_ack < 0:
                rel_ack = 0                                 # TCP_ack_underflow_or_misorder
            elif (delta > 0 and not flags & RST
                  and not (ack == 0 and delta > TOO_LARGE_SEQ_DELTA)):
                ep_i64[s, p, P.ACK_REL] = rel_ack
                ep_u32[s, p, P.ACK_RAW] = ack

    # update_last_seq
    delta_last = seq_delta(past - np.int64(ep_u32[s, e, P.LAST]))
    if control or ep_i8[s, e, P.STATE] == RESET or delta_last <= 0:
        update_last_seq(s, e, past, flags, length, delta_last, conn_i8, conn_u32, conn_i32,
                        conn_hist, chunk_text, chunk_prev, meta, counters, ep_i64, ep_u32, ep_i8)
    else:
        ep_i64[s, e, P.LAST_REL] += delta_last
        ep_u32[s, e, P.LAST] = past

    do_close = False
    if control or ep_i8[s, e, P.STATE] == INACTIVE:
        do_close = state_machine(s, e, p, seq, length, is_orig, flags, conn_i8, conn_u32,
                                 conn_i32, conn_hist, chunk_text, chunk_prev, meta, ep_u32, ep_i8)
    if has_ack:
        # the peer's reassembler, after the state machine (AckReceived)
        seq_acked = rel_ack
        if ep_i8[s, p, P.FIN_SEEN] and seq_acked >= ep_i64[s, p, P.FIN_SEQ]:
            seq_acked = ep_i64[s, p, P.FIN_SEQ] - 1
        if seq_acked > ep_i64[s, p, P.TRIM]:
            if (seq_acked > ep_i64[s, p, P.DELIVERED]
                    and ep_i32[s, p, P.BLOCKS] != P.SKIPPING):
                undelivered_gaps(s, p, seq_acked, conn_i8, conn_u32, conn_i32, conn_hist,
                                 chunk_text, chunk_prev, meta, counters, ep_i64, ep_i32, ep_i8,
                                 blk_lo, blk_hi, blk_next)
            ep_i64[s, p, P.TRIM] = seq_acked
    if (length > 0 and not flags & RST and rel_seq >= 0 and captured_all
            and ep_i32[s, e, P.BLOCKS] != P.SKIPPING):
        data_sent(s, e, rel_seq + 1 if syn else rel_seq, length, ep_i64, ep_i32, blk_lo, blk_hi,
                  blk_next, meta)
    if do_close:
        ep_i8[s, e, P.DID_CLOSE] = 1
    ep_u32[s, e, P.PKTS] += 1
    conn_i8[s, P.FIRST_SEEN] |= 1 if is_orig else 2


@njit(**JIT, inline="always")
def update_last_seq(s, e, past, flags, length, delta, conn_i8, conn_u32, conn_i32, conn_hist,
                    chunk_text, chunk_prev, meta, counters, ep_i64, ep_u32, ep_i8):
    """ZeekTcp._update_last_seq."""
    if flags & (SYN | RST) and (delta > TOO_LARGE_SEQ_DELTA or delta < -TOO_LARGE_SEQ_DELTA):
        pass                                   # an outlandish SYN/RST seq is not trusted
    elif flags & FIN and ep_i64[s, e, P.LAST_REL] == 1:
        update_last(s, e, past, ep_i64, ep_u32)
    elif ep_i8[s, e, P.STATE] == RESET:
        pass
    elif delta > 0:
        update_last(s, e, past, ep_i64, ep_u32)
    elif length > 0:
        scaled(s, e, P.CNT_T, L_T, conn_i8, conn_u32, conn_i32, conn_hist, chunk_text,
               chunk_prev, meta, counters)


@njit(**JIT)
def undelivered_gaps(s, e, up_to, conn_i8, conn_u32, conn_i32, conn_hist, chunk_text, chunk_prev,
                     meta, counters, ep_i64, ep_i32, ep_i8, blk_lo, blk_hi, blk_next):
    """ZeekTcp._undelivered + _gap: acked bytes never seen are content gaps."""
    if up_to <= 2 and conn_i8[s, P.PARTIAL]:
        return
    gaps = undelivered(s, e, up_to, ep_i64, ep_i32, blk_lo, blk_hi, blk_next, meta)
    for _ in range(gaps):
        if is_clean(s, e, ep_i8) and is_clean(s, 1 - e, ep_i8):
            scaled(s, e, P.CNT_G, L_G, conn_i8, conn_u32, conn_i32, conn_hist, chunk_text,
                   chunk_prev, meta, counters)
