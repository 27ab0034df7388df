"""The exchange stage's reassembly kernels: an exact port of analysis/session/exchanges.py's _Direction
(add, _append, skip_gap) and of ExchangeTracker.syn/add/finish as api._Pipeline._feed_exchanges
drives them. Complete messages and turns go to exch_pairing; the stage around both is
exch_kernel.ExchangeStage.

Per TCP frame, as _feed_exchanges: a SYN fixes where the sender's byte stream starts, a frame
with captured payload is added to its direction. The tracker keeps the client the labeller had
when the tracker first saw the stream, stored as an endpoint index (0: the stream's first
sender, TcpColumns.from_client); LabelColumns.client_is_src gives the labeller's client.

Bytes kept across chunks (partial lines, out-of-order segments) are exch_pool chains; a pending
segment's chain is read block by block, which _append's line splitting does not notice.

The kernels are compiled without numba's reference counting (_nrt=False): they never allocate,
and a helper called with a dozen arrays would otherwise pay an atomic increment and decrement
per array per call - more than half the stage's time.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from analysis.columnar.session.pairing import (CR, F_CLIENT, F_DECIDED, F_LAST, F_LAST_CLIENT, F_NSEQ, F_SEEN, F_TURNS,
                           MAX_MESSAGE, NL, NPEND_SHIFT, ST_FIELDS, T_BUF, T_FLAGS, T_NSEQ, T_PEND,
                           T_QHEAD, complete_message, decide, emit_exchange, end_turn,
                           flush_partial, turn_add, turn_mode)
from analysis.columnar.session.pool import (BLOCK, C_PEND_BYTES, C_PEND_COUNT, C_PEND_NL, R_HEAD, R_LEN, R_NEXT,
                        R_SEQ, chain_append, chain_clear, chain_count, chain_trailing,
                        chain_truncate, rec_free, rec_new)

SYN = 0x002
M32 = 0xFFFFFFFF
MAX_PENDING = 64            # exchanges._MAX_PENDING_SEGMENTS


# --- reassembly -----------------------------------------------------------------------------------
@njit(cache=True, nogil=True, _nrt=False)
def _append_piece(s, d, src, off, n, frame, ts, st, rec, rmeta, pool, bnext, ctr, ox, of, otext):
    """_Direction._append over src[off:off+n] (without the length check): the pairing mode
    decided on the server's first bytes, then the bytes to the turn, or split into lines, or
    (mode not known yet: the client's bytes) both."""
    if d == 1 and not st[s, T_FLAGS] & F_DECIDED:
        decide(s, src, off, n, st, rec, bnext, ctr)
    fl = st[s, T_FLAGS]
    if fl & F_TURNS:
        turn_add(s, d, src, off, n, frame, ts, st, rec, rmeta, pool, bnext, ctr, ox, of, otext)
        return
    if not fl & F_DECIDED:
        turn_add(s, 0, src, off, n, frame, ts, st, rec, rmeta, pool, bnext, ctr, ox, of, otext)
    _split_lines(s, d, src, off, n, frame, ts, st, rec, rmeta, pool, bnext, ctr, ox, of, otext)


@njit(cache=True, nogil=True, _nrt=False)
def _split_lines(s, d, src, off, n, frame, ts, st, rec, rmeta, pool, bnext, ctr, ox, of, otext):
    """_Direction._append's line splitting over src[off:off+n]."""
    start = off
    end = off + n
    p = start
    while p < end:
        if src[p] != NL:
            p += 1
            continue
        q = p                               # line.rstrip(b"\r")
        while q > start and src[q - 1] == CR:
            q -= 1
        b = st[s, T_BUF + d]
        if b < 0:                           # buffer empty: buffer_frame is this frame
            complete_message(s, d, -1, src, start, q - start, frame, ts, st, rec, rmeta, pool, bnext,
                     ctr, ox, of, otext)
        else:
            if q == start:                  # the \r run may go on in the buffered bytes
                length = rec[b, R_LEN]
                chain_truncate(b, length - chain_trailing(b, CR, rec, pool, bnext), rec, bnext,
                               ctr)
            else:
                chain_append(b, src, start, q - start, rec, pool, bnext, ctr)
            st[s, T_BUF + d] = -1
            complete_message(s, d, b, src, 0, 0, rmeta[b, 0], rmeta[b, 1], st, rec, rmeta, pool, bnext,
                     ctr, ox, of, otext)
        p += 1
        start = p
    if start < end:
        b = st[s, T_BUF + d]
        if b < 0:
            b = rec_new(rec, ctr)
            rmeta[b, 0] = frame
            rmeta[b, 1] = ts
            st[s, T_BUF + d] = b
        chain_append(b, src, start, end - start, rec, pool, bnext, ctr)


@njit(cache=True, nogil=True, _nrt=False)
def _check_length(s, d, src, st, rec, rmeta, pool, bnext, ctr, ox, of, otext):
    b = st[s, T_BUF + d]
    if b >= 0 and rec[b, R_LEN] > MAX_MESSAGE:
        flush_partial(s, d, src, st, rec, rmeta, pool, bnext, ctr, ox, of, otext)


@njit(cache=True, nogil=True, _nrt=False)
def _append_chain(s, d, r, st, rec, rmeta, pool, bnext, ctr, ox, of, otext):
    """_Direction._append of a pending segment's bytes (chain r, freed by the caller)."""
    left = np.int64(rec[r, R_LEN])
    st[s, T_NSEQ + d] = np.int32((np.int64(st[s, T_NSEQ + d]) + left) & M32)
    blk = rec[r, R_HEAD]
    frame, ts = rmeta[r, 0], rmeta[r, 1]
    while left > 0:
        k = min(BLOCK, left)
        _append_piece(s, d, pool[blk], 0, k, frame, ts, st, rec, rmeta, pool, bnext, ctr, ox, of,
                      otext)
        left -= k
        blk = bnext[blk]
    _check_length(s, d, otext, st, rec, rmeta, pool, bnext, ctr, ox, of, otext)


@njit(cache=True, nogil=True, _nrt=False)
def _pend_unlink(s, d, r, prev, st, rec, pool, bnext, ctr):
    if prev < 0:
        st[s, T_PEND + d] = rec[r, R_NEXT]
    else:
        rec[prev, R_NEXT] = rec[r, R_NEXT]
    st[s, T_FLAGS] -= 1 << (NPEND_SHIFT + 8 * d)
    ctr[C_PEND_COUNT] -= 1
    ctr[C_PEND_BYTES] -= rec[r, R_LEN]
    ctr[C_PEND_NL] -= chain_count(r, NL, rec, pool, bnext)


@njit(cache=True, nogil=True, _nrt=False, inline='always')
def _npend(st, s, d):
    return (st[s, T_FLAGS] >> (NPEND_SHIFT + 8 * d)) & 0xFF


@njit(cache=True, nogil=True, _nrt=False)
def _count(src, off, n, byte):
    count = 0
    for j in range(off, off + n):
        if src[j] == byte:
            count += 1
    return count


@njit(cache=True, nogil=True, _nrt=False)
def _dir_add(s, d, seq, src, off, n, frame, ts, st, rec, rmeta, pool, bnext, ctr, ox, of, otext):
    """_Direction.add."""
    if not st[s, T_FLAGS] & (F_NSEQ << d):
        st[s, T_NSEQ + d] = np.int32(seq)
        st[s, T_FLAGS] |= F_NSEQ << d
    next_seq = np.int64(st[s, T_NSEQ + d]) & M32
    offset = (seq - next_seq) & M32
    if offset >= 0x80000000:                # starts before next_seq: keep only the new tail
        overlap = (next_seq - seq) & M32
        if overlap >= n:
            return
        off += overlap
        n -= overlap
        offset = 0
    if offset > 0:                          # a gap: wait (pending[seq] = ..., if room)
        if _npend(st, s, d) < MAX_PENDING:
            r = st[s, T_PEND + d]
            while r >= 0 and (np.int64(rec[r, R_SEQ]) & M32) != seq:
                r = rec[r, R_NEXT]
            if r >= 0:                      # dict assignment: the later segment replaces it
                ctr[C_PEND_BYTES] -= rec[r, R_LEN]
                ctr[C_PEND_NL] -= chain_count(r, NL, rec, pool, bnext)
                chain_clear(r, rec, bnext, ctr)
            else:
                r = rec_new(rec, ctr)
                rec[r, R_SEQ] = np.int32(seq)
                rec[r, R_NEXT] = st[s, T_PEND + d]
                st[s, T_PEND + d] = r
                st[s, T_FLAGS] += 1 << (NPEND_SHIFT + 8 * d)
                ctr[C_PEND_COUNT] += 1
            chain_append(r, src, off, n, rec, pool, bnext, ctr)
            rmeta[r, 0] = frame
            rmeta[r, 1] = ts
            ctr[C_PEND_BYTES] += n
            ctr[C_PEND_NL] += _count(src, off, n, NL)
        return
    st[s, T_NSEQ + d] = np.int32((next_seq + n) & M32)
    _append_piece(s, d, src, off, n, frame, ts, st, rec, rmeta, pool, bnext, ctr, ox, of, otext)
    _check_length(s, d, src, st, rec, rmeta, pool, bnext, ctr, ox, of, otext)
    while _npend(st, s, d) > 0:             # pending.pop(next_seq) until none
        want = np.int64(st[s, T_NSEQ + d]) & M32
        prev = -1
        r = st[s, T_PEND + d]
        while r >= 0 and (np.int64(rec[r, R_SEQ]) & M32) != want:
            prev = r
            r = rec[r, R_NEXT]
        if r < 0:
            break
        _pend_unlink(s, d, r, prev, st, rec, pool, bnext, ctr)
        _append_chain(s, d, r, st, rec, rmeta, pool, bnext, ctr, ox, of, otext)
        rec_free(r, rec, bnext, ctr)


@njit(cache=True, nogil=True, _nrt=False)
def _skip_gap(s, d, st, rec, rmeta, pool, bnext, ctr, ox, of, otext):
    """_Direction.skip_gap: take the nearest pending segment after the gap, until none."""
    while _npend(st, s, d) > 0:
        next_seq = np.int64(st[s, T_NSEQ + d]) & M32
        best, best_prev, best_dist = -1, -1, np.int64(1) << 40
        prev = -1
        r = st[s, T_PEND + d]
        while r >= 0:
            dist = (np.int64(rec[r, R_SEQ]) - next_seq) & M32
            if dist < best_dist:
                best, best_prev, best_dist = r, prev, dist
            prev = r
            r = rec[r, R_NEXT]
        flush_partial(s, d, otext, st, rec, rmeta, pool, bnext, ctr, ox, of, otext)
        st[s, T_NSEQ + d] = rec[best, R_SEQ]
        _pend_unlink(s, d, best, best_prev, st, rec, pool, bnext, ctr)
        _append_chain(s, d, best, st, rec, rmeta, pool, bnext, ctr, ox, of, otext)
        rec_free(best, rec, bnext, ctr)


# --- the kernels ----------------------------------------------------------------------------------
@njit(cache=True, nogil=True, _nrt=False)
def exch_kernel(stream, tcp_flags, seq, number, ts_ns, payload_off, payload_cap, from_client,
                client_is_src, data, st, rec, rmeta, pool, bnext, ctr, ox, of, otext):
    """_feed_exchanges for every frame of a chunk (ExchangeTracker.syn / add)."""
    for i in range(stream.shape[0]):
        s = stream[i]
        flags = tcp_flags[i]
        if s < 0 or flags < 0:
            continue
        cap = payload_cap[i]
        if not flags & SYN and cap <= 0:
            continue
        sender = 0 if from_client[i] else 1
        if not st[s, T_FLAGS] & F_SEEN:     # _ConnStreams(client): the labeller's client now
            client = sender if client_is_src[i] else 1 - sender
            st[s, T_FLAGS] = F_SEEN | (F_CLIENT if client == 1 else 0)
        fl = st[s, T_FLAGS]
        d = 0 if sender == (1 if fl & F_CLIENT else 0) else 1
        if flags & SYN and not fl & (F_NSEQ << d):
            st[s, T_NSEQ + d] = np.int32((seq[i] + 1) & M32)
            st[s, T_FLAGS] = fl | (F_NSEQ << d)
        if cap <= 0:
            continue
        fl = st[s, T_FLAGS]
        if fl & F_LAST and ((fl & F_LAST_CLIENT) != 0) != (d == 0):
            # the other side answered: the previous speaker's partial line is a message
            flush_partial(s, 1 - d, data, st, rec, rmeta, pool, bnext, ctr, ox, of, otext)
        fl = (st[s, T_FLAGS] & ~F_LAST_CLIENT) | F_LAST | (F_LAST_CLIENT if d == 0 else 0)
        st[s, T_FLAGS] = fl
        off = payload_off[i]
        if (fl & (F_NSEQ << d) and not fl & F_TURNS and st[s, T_BUF + d] < 0
                and _npend(st, s, d) == 0 and (np.int64(st[s, T_NSEQ + d]) & M32) == seq[i]):
            # In order, nothing buffered or pending, not paired by turns: when the segment is one
            # whole line, this is all _dir_add would do (a shortcut worth a third of the stage's
            # time) - with the mode decided, or the client's bytes kept as a turn too, first.
            end = off + cap - 1
            p = off
            while p < end and data[p] != NL:
                p += 1
            if p == end and data[end] == NL:
                if not fl & F_DECIDED:
                    if d == 1:
                        decide(s, data, off, cap, st, rec, bnext, ctr)
                    else:
                        turn_add(s, 0, data, off, cap, number[i], ts_ns[i], st, rec, rmeta, pool,
                                 bnext, ctr, ox, of, otext)
                if not st[s, T_FLAGS] & F_TURNS:
                    st[s, T_NSEQ + d] = np.int32((seq[i] + cap) & M32)
                    while p > off and data[p - 1] == CR:
                        p -= 1
                    complete_message(s, d, -1, data, off, p - off, number[i], ts_ns[i], st, rec,
                                     rmeta, pool, bnext, ctr, ox, of, otext)
                    continue
        _dir_add(s, d, seq[i], data, off, cap, number[i], ts_ns[i], st, rec, rmeta,
                 pool, bnext, ctr, ox, of, otext)


@njit(cache=True, nogil=True, _nrt=False)
def exch_finish_kernel(st, rec, rmeta, pool, bnext, ctr, ox, of, otext):
    """ExchangeTracker.finish: per stream skip_gap + flush of both directions, turns for a
    stream whose server never spoke, the last turn, then the unanswered requests. The state is
    emptied."""
    for s in range(st.shape[0]):
        if not st[s, T_FLAGS] & F_SEEN:
            continue
        for d in range(2):
            _skip_gap(s, d, st, rec, rmeta, pool, bnext, ctr, ox, of, otext)
            flush_partial(s, d, otext, st, rec, rmeta, pool, bnext, ctr, ox, of, otext)
        if not st[s, T_FLAGS] & F_DECIDED:
            turn_mode(s, st, rec, bnext, ctr)
        end_turn(s, otext, st, rec, rmeta, pool, bnext, ctr, ox, of, otext)
        q = st[s, T_QHEAD]
        while q >= 0:
            emit_exchange(s, q, otext, 0, 0, rmeta[q, 0], rmeta[q, 1], -1, otext, 0, 0, -1, 0, False,
                          rec, pool, bnext, ctr, ox, of, otext)
            nq = rec[q, R_NEXT]
            rec_free(q, rec, bnext, ctr)
            q = nq
        for j in range(ST_FIELDS):
            st[s, j] = -1
        st[s, T_FLAGS] = 0


@njit(cache=True, nogil=True, _nrt=False)
def chunk_need(stream, tcp_flags, payload_off, payload_cap, data):
    """(highest stream + 1, frames with payload, their bytes, their newlines) of a chunk."""
    top, frames, total, newlines = 0, 0, 0, 0
    for i in range(stream.shape[0]):
        s = stream[i]
        if s < 0 or tcp_flags[i] < 0:
            continue
        if s + 1 > top:
            top = s + 1
        n = payload_cap[i]
        if n > 0:
            frames += 1
            total += n
            newlines += _count(data, payload_off[i], n, NL)
    return top, frames, total, newlines
