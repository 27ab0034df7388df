"""Zeek's TCP endpoint, history and state machine, as numba functions over ConnStage's arrays.

An exact port of the pieces of analysis/conn/zeek.py that ZeekTcp.packet (conn_packet.py) calls -
Endpoint.set_state / init_seqs / update_last, _init_endpoint, _is_clean, ZeekTcp._check /
_scaled / flip, _state_machine, _inactive - and of analysis/conn/gaps.py (data_sent,
undelivered, absorb, insert_block), with the same branches in the same order. Connection s's
endpoints are e (the packet's sender) and p (its peer), indices 0/1 into the ep_* arrays;
whether an endpoint is the originator is read from conn_i8[s, ORIG_EP] each time, as the
reference reads Endpoint.is_orig (a flip changes it mid-packet). Sequence arithmetic is on
int64 with 32-bit masks, as the reference's Python ints. The state layout and the pools are
described in conn_pools.py.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from analysis.conn.gaps import MAX_ABOVE_HOLE_WITHOUT_ACKS
from analysis.conn.zeek import (ACK, CLOSED, ESTABLISHED, FIN, INACTIVE, PARTIAL, RESET, RST, SYN,
                                SYN_ACK_SENT, SYN_SENT)
from analysis.columnar.conn import pools as P
from analysis.columnar.conn.pools import JIT, blk_alloc, blk_release, count_event, hist_append

M32 = 0xFFFFFFFF
L_S, L_H, L_A, L_D, L_F, L_R, L_I, L_Q = (ord(c) for c in "SHADFRIQ")
L_C, L_G, L_T, L_W, L_FLIP = (ord(c) for c in "CGTW^")
LOWER = 32          # ASCII upper -> lower case


@njit(**JIT, inline="always")
def seq_delta(d):
    """conn_zeek.seq_delta: a 32-bit difference as a signed number."""
    d &= M32
    return d - 0x100000000 if d & 0x80000000 else d


# --- history (ZeekTcp._check / _scaled / flip) --------------------------------------------------
@njit(**JIT, inline="always")
def letter(s, e, code, conn_i8):
    return code if conn_i8[s, P.ORIG_EP] == e else code + LOWER


@njit(**JIT, inline="always")
def check(s, e, mask, code, conn_i8, conn_u16, conn_u32, conn_i32, conn_hist, chunk_text,
          chunk_prev, meta):
    """CheckHistory: record the letter the first time; True if it was already seen."""
    if conn_i8[s, P.ORIG_EP] != e:
        mask <<= P.HIST_SHIFT
        code += LOWER
    seen = np.int64(conn_u16[s, P.HIST_SEEN])
    if seen & mask:
        return True
    conn_u16[s, P.HIST_SEEN] = seen | mask
    hist_append(s, code, conn_u32, conn_i32, conn_hist, chunk_text, chunk_prev, meta)
    return False


@njit(**JIT)
def scaled(s, e, which, code, conn_i8, conn_u32, conn_i32, conn_hist, chunk_text, chunk_prev,
           meta, counters):
    """ScaledHistoryEntry: the letter again at the 1st, 10th, 100th ... occurrence."""
    if count_event(s, e, which, conn_i32, counters, meta):
        hist_append(s, letter(s, e, code, conn_i8), conn_u32, conn_i32, conn_hist, chunk_text,
                    chunk_prev, meta)


@njit(**JIT)
def flip(s, conn_i8, conn_u32, conn_i32, conn_hist, chunk_text, chunk_prev, meta):
    """Connection::FlipRoles + TCPSessionAdapter::FlipRoles (hist_seen is not swapped)."""
    conn_i8[s, P.ORIG_EP] = 1 - conn_i8[s, P.ORIG_EP]
    fs = conn_i8[s, P.FIRST_SEEN]
    conn_i8[s, P.FIRST_SEEN] = (2 if fs & 1 else 0) | (1 if fs & 2 else 0)
    conn_i8[s, P.PARTIAL] = 0
    hist_append(s, L_FLIP, conn_u32, conn_i32, conn_hist, chunk_text, chunk_prev, meta)


# --- Endpoint -----------------------------------------------------------------------------------
@njit(**JIT, inline="always")
def set_state(s, e, new, ep_i8):
    if new != ep_i8[s, e, P.STATE]:
        ep_i8[s, e, P.PREV_STATE] = ep_i8[s, e, P.STATE]
        ep_i8[s, e, P.STATE] = new


@njit(**JIT, inline="always")
def init_seqs(s, e, start, last, ep_i64, ep_u32):
    """InitStartSeq + InitAckSeq(start) + InitLastSeq(last)."""
    ep_u32[s, e, P.START] = start
    ep_u32[s, e, P.ACK_RAW] = start
    ep_i64[s, e, P.ACK_REL] = 0
    ep_u32[s, e, P.LAST] = last
    ep_i64[s, e, P.LAST_REL] = seq_delta(last - start)


@njit(**JIT, inline="always")
def update_last(s, e, seq, ep_i64, ep_u32):
    ep_i64[s, e, P.LAST_REL] += seq_delta(seq - np.int64(ep_u32[s, e, P.LAST]))
    ep_u32[s, e, P.LAST] = seq


@njit(**JIT, inline="always")
def init_endpoint(s, e, syn, seq, past, ep_i64, ep_u32, ep_i8):
    """conn_zeek._init_endpoint."""
    state = ep_i8[s, e, P.STATE]
    if state == INACTIVE:
        if syn:
            init_seqs(s, e, seq, past, ep_i64, ep_u32)
        else:
            init_seqs(s, e, (seq - 1) & M32, seq, ep_i64, ep_u32)
    elif state == SYN_SENT or state == SYN_ACK_SENT:
        if syn and seq != ep_u32[s, e, P.START]:
            init_seqs(s, e, seq, past, ep_i64, ep_u32)
    elif state == ESTABLISHED or state == PARTIAL:
        if syn:
            init_seqs(s, e, seq, past, ep_i64, ep_u32)
    elif state == RESET:
        if syn and ep_i8[s, e, P.PREV_STATE] == INACTIVE:
            init_seqs(s, e, seq, past, ep_i64, ep_u32)


@njit(**JIT, inline="always")
def is_clean(s, e, ep_i8):
    state = ep_i8[s, e, P.STATE]
    return state == ESTABLISHED or (state == CLOSED and ep_i8[s, e, P.PREV_STATE] == ESTABLISHED)


# --- the reassembler's view (conn_gaps.py) ------------------------------------------------------
@njit(**JIT, inline="always")
def absorb(s, e, ep_i64, ep_i32, blk_lo, blk_hi, blk_next, meta):
    b = ep_i32[s, e, P.BLOCKS]
    while b >= 0 and blk_lo[b] <= ep_i64[s, e, P.DELIVERED]:
        if blk_hi[b] > ep_i64[s, e, P.DELIVERED]:
            ep_i64[s, e, P.DELIVERED] = blk_hi[b]
        b = blk_release(b, blk_next, meta)
    ep_i32[s, e, P.BLOCKS] = b


@njit(**JIT)
def undelivered(s, e, up_to, ep_i64, ep_i32, blk_lo, blk_hi, blk_next, meta):
    """conn_gaps.undelivered: the number of holes below up_to; delivers up to it."""
    gaps = 0
    b = ep_i32[s, e, P.BLOCKS]
    while b >= 0 and blk_lo[b] < up_to:
        if blk_lo[b] > ep_i64[s, e, P.DELIVERED]:
            gaps += 1
        if blk_hi[b] > ep_i64[s, e, P.DELIVERED]:
            ep_i64[s, e, P.DELIVERED] = blk_hi[b]
        b = blk_release(b, blk_next, meta)
    ep_i32[s, e, P.BLOCKS] = b
    if up_to > ep_i64[s, e, P.DELIVERED]:
        gaps += 1
        ep_i64[s, e, P.DELIVERED] = up_to
    absorb(s, e, ep_i64, ep_i32, blk_lo, blk_hi, blk_next, meta)
    return gaps


@njit(**JIT)
def insert_block(s, e, lo, hi, ep_i32, blk_lo, blk_hi, blk_next, meta):
    """conn_gaps.insert_block: [lo, hi) into the sorted list, merging neighbours."""
    prev = -1
    b = ep_i32[s, e, P.BLOCKS]
    while b >= 0 and blk_hi[b] < lo:
        prev = b
        b = blk_next[b]
    while b >= 0 and blk_lo[b] <= hi:
        lo = min(lo, blk_lo[b])
        hi = max(hi, blk_hi[b])
        b = blk_release(b, blk_next, meta)
    new = blk_alloc(lo, hi, b, blk_lo, blk_hi, blk_next, meta)
    if prev < 0:
        ep_i32[s, e, P.BLOCKS] = new
    else:
        blk_next[prev] = new


@njit(**JIT, inline="always")
def data_sent(s, e, seq, length, ep_i64, ep_i32, blk_lo, blk_hi, blk_next, meta):
    """conn_gaps.data_sent."""
    upper = seq + length
    acked = ep_i64[s, e, P.ACK_REL]
    if seq < acked:
        if upper <= acked:
            return
        seq = acked
    if upper <= ep_i64[s, e, P.DELIVERED]:
        return
    if seq <= ep_i64[s, e, P.DELIVERED]:
        ep_i64[s, e, P.DELIVERED] = upper
        absorb(s, e, ep_i64, ep_i32, blk_lo, blk_hi, blk_next, meta)
    else:
        insert_block(s, e, seq, upper, ep_i32, blk_lo, blk_hi, blk_next, meta)
        if acked == 0 or acked == 1:               # Endpoint.no_data_acked()
            b = ep_i32[s, e, P.BLOCKS]
            while blk_next[b] >= 0:
                b = blk_next[b]
            if blk_hi[b] - ep_i64[s, e, P.DELIVERED] > MAX_ABOVE_HOLE_WITHOUT_ACKS:
                b = ep_i32[s, e, P.BLOCKS]
                while b >= 0:
                    b = blk_release(b, blk_next, meta)
                ep_i32[s, e, P.BLOCKS] = P.SKIPPING


# --- the state machine (TCPSessionAdapter::Update*State) ----------------------------------------
@njit(**JIT)
def inactive(s, e, p, seq, length, is_orig, syn, fin, rst, has_ack, conn_i8, conn_u32, conn_i32,
             conn_hist, chunk_text, chunk_prev, meta, ep_u32, ep_i8):
    """ZeekTcp._inactive."""
    close = False
    if syn:
        if is_orig:
            set_state(s, e, SYN_ACK_SENT if has_ack else SYN_SENT, ep_i8)
        else:
            if (not has_ack and ep_i8[s, p, P.STATE] == SYN_ACK_SENT
                    and seq == ep_u32[s, e, P.START]):
                flip(s, conn_i8, conn_u32, conn_i32, conn_hist, chunk_text, chunk_prev, meta)
                set_state(s, p, ESTABLISHED, ep_i8)
                conn_i8[s, P.FIRST_SEEN] |= 1
            if ep_i8[s, p, P.STATE] == SYN_SENT:
                set_state(s, p, ESTABLISHED, ep_i8)
            set_state(s, e, ESTABLISHED, ep_i8)
    if fin:
        set_state(s, e, CLOSED, ep_i8)
        close = True
    if rst:
        set_state(s, e, RESET, ep_i8)
        close = True
    if ep_i8[s, e, P.STATE] == INACTIVE:
        if not is_orig and length == 0 and ep_i8[s, conn_i8[s, P.ORIG_EP], P.STATE] == SYN_SENT:
            pass
        elif has_ack and ep_i8[s, p, P.STATE] == ESTABLISHED:
            set_state(s, e, ESTABLISHED, ep_i8)
            conn_i8[s, P.PARTIAL] = 0
            conn_i8[s, P.FIRST_SEEN] |= 1 if is_orig else 2
        else:
            set_state(s, e, PARTIAL, ep_i8)
    return close


@njit(**JIT, inline="always")
def state_machine(s, e, p, seq, length, is_orig, flags, conn_i8, conn_u32, conn_i32, conn_hist,
                  chunk_text, chunk_prev, meta, ep_u32, ep_i8):
    """ZeekTcp._state_machine: the endpoint's new state; True if this packet closes it."""
    syn, fin, rst, has_ack = flags & SYN, flags & FIN, flags & RST, flags & ACK
    state = ep_i8[s, e, P.STATE]
    if state == INACTIVE:
        return inactive(s, e, p, seq, length, is_orig, syn, fin, rst, has_ack, conn_i8, conn_u32,
                        conn_i32, conn_hist, chunk_text, chunk_prev, meta, ep_u32, ep_i8)
    if state == SYN_SENT or state == SYN_ACK_SENT:
        if fin:
            set_state(s, e, CLOSED, ep_i8)
        if rst:
            set_state(s, e, RESET, ep_i8)
        return fin != 0 or rst != 0
    if state == ESTABLISHED or state == PARTIAL:
        close = False
        if syn and state == PARTIAL and ep_i8[s, p, P.STATE] == INACTIVE and not has_ack:
            set_state(s, e, SYN_SENT, ep_i8)
        if fin and not rst:
            set_state(s, e, CLOSED, ep_i8)
            if ep_i8[s, p, P.STATE] == RESET and ep_i8[s, p, P.PREV_STATE] == CLOSED:
                set_state(s, p, CLOSED, ep_i8)
            close = True
        if rst:
            set_state(s, e, RESET, ep_i8)
            close = True
        return close
    if state == CLOSED:
        if rst and ep_i8[s, p, P.STATE] != CLOSED:
            set_state(s, e, RESET, ep_i8)
            return ep_i8[s, e, P.DID_CLOSE] == 0
        return False
    return False
