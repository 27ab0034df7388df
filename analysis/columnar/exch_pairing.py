"""The exchange stage's per-stream state layout, and its pairing half: messages queued or
paired first-in first-out, exchanges written out with their kind. An exact port of
ExchangeTracker._pair, _Direction.flush and exchange_kind (analysis/exchanges.py); the
reassembly half is exch_reassembly.py, the stage around both exch_kernel.ExchangeStage.

Pairing is first-in first-out, so the k-th request of a stream always pairs with its k-th
response, whenever _pair happens to run. The kernel therefore pairs a message as soon as it is
complete (one queue per stream, holding the messages of one direction), which emits every
exchange in the chunk in which ExchangeTracker would, in the same per-stream order. A message
paired at once is copied straight from the chunk's data to the output, never stored.

Per-stream state: one int32 row of `st` (36 bytes): flags and pending counts, next_seq of each
direction (uint32 bits), and record ids (exch_pool chains) of each direction's partial line and
pending list and of the message queue's ends. A chain record's frame and time are in `rmeta`.

Compiled without numba's reference counting (_nrt=False), as exch_reassembly explains.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from .exch_pool import (C_NEX, C_TEXT, R_NEXT, chain_append, chain_copy_out, rec_free, rec_new)

# columns of the per-stream int32 `st`
T_FLAGS = 0         # F_* bits; bits 8-15 / 16-23: pending segments of direction 0 / 1
T_NSEQ = 1          # + d: next_seq of direction d (d 0 request, 1 response), uint32 bits
T_BUF = 3           # + d: record of direction d's partial line, -1 none
T_PEND = 5          # + d: first record of direction d's pending segments
T_QHEAD = 7         # first / last queued (unpaired) message
T_QTAIL = 8
ST_FIELDS = 9
STATE_BYTES_PER_STREAM = ST_FIELDS * 4

F_SEEN = 1          # ExchangeTracker has a _ConnStreams for the stream
F_CLIENT = 2        # its client is endpoint 1 (else endpoint 0)
F_LAST = 4          # last_sender is set
F_LAST_CLIENT = 8   # ... and is the client
F_QRESP = 16        # the queue holds responses (else requests)
F_NSEQ = 32         # next_seq of direction d is set: bit F_NSEQ << d
NPEND_SHIFT = 8     # pending count of direction d: (flags >> (NPEND_SHIFT + 8 d)) & 0xFF

# ExchangeColumns fields as columns of the kernel's int64 `ox` (times in the float64 `of`)
X_CONN, X_REQ_FRAME, X_RESP_FRAME, X_REQ_OFF, X_REQ_LEN, X_RESP_OFF, X_RESP_LEN, X_KIND = range(8)
X_FIELDS = 8
K_ECHO, K_VOTE, K_RESULTS, K_ERROR, K_OTHER = range(5)     # columns.EXCHANGE_KINDS
K_UNKNOWN = 255     # non-ASCII request: exch_text computes exchange_kind on the decoded text


# --- kind -----------------------------------------------------------------------------------------
@njit(cache=True, nogil=True, _nrt=False, inline='always')
def _is_space(c):
    # str.strip() on ASCII: \t \n \v \f \r, \x1c-\x1f and the space
    return (9 <= c <= 13) or (28 <= c <= 32)


@njit(cache=True, nogil=True, _nrt=False, inline='always')
def _starts(text, off, n, word):
    if n < len(word):
        return False
    for j in range(len(word)):
        if text[off + j] != word[j]:
            return False
    return True


@njit(cache=True, nogil=True, _nrt=False, inline='always')
def _upper_is(text, a, b, word):
    """text[a:b] upper-cased equals word (ASCII)."""
    if b - a != len(word):
        return False
    for j in range(b - a):
        c = text[a + j]
        if 97 <= c <= 122:
            c -= 32
        if c != word[j]:
            return False
    return True


_ERROR = np.frombuffer(b"ERROR", np.uint8)
_ECHO = np.frombuffer(b"Echo: ", np.uint8)
_VOTE = np.frombuffer(b"VOTE", np.uint8)
_VOTE_SP = np.frombuffer(b"VOTE ", np.uint8)
_RESULTS = np.frombuffer(b"RESULTS", np.uint8)


@njit(cache=True, nogil=True, _nrt=False)
def exchange_kind_bytes(text, req_off, req_len, resp_off, resp_len, has_resp):
    """exchanges.exchange_kind on raw bytes; K_UNKNOWN where str.strip/upper could see more
    than ASCII (any byte >= 0x80 in the request)."""
    if has_resp and _starts(text, resp_off, resp_len, _ERROR):
        return K_ERROR
    a, b = req_off, req_off + req_len
    for j in range(a, b):
        if text[j] >= 0x80:
            return K_UNKNOWN
    while a < b and _is_space(text[a]):
        a += 1
    while b > a and _is_space(text[b - 1]):
        b -= 1
    if _upper_is(text, a, b, _VOTE) or (b - a >= 5 and _upper_is(text, a, a + 5, _VOTE_SP)):
        return K_VOTE
    if _upper_is(text, a, b, _RESULTS):
        return K_RESULTS
    if has_resp and _starts(text, resp_off, resp_len, _ECHO):
        return K_ECHO
    return K_OTHER


# --- messages and pairing -------------------------------------------------------------------------
@njit(cache=True, nogil=True, _nrt=False, inline='always')
def _put(r, src, off, n, rec, pool, bnext, otext, pos):
    """A message's bytes (chain r, or src[off:off+n] when r < 0) to otext[pos:]."""
    if r >= 0:
        return chain_copy_out(r, rec, pool, bnext, otext, pos)
    for j in range(n):
        otext[pos + j] = src[off + j]
    return pos + n


@njit(cache=True, nogil=True, _nrt=False)
def emit_exchange(s, req, req_src, req_off, req_n, req_frame, req_ts, resp, resp_src, resp_off, resp_n,
          resp_frame, resp_ts, has_resp, rec, pool, bnext, ctr, ox, of, otext):
    """One exchange (ExchangeTracker._pair, or an unpaired request at finish) to the output."""
    e = ctr[C_NEX]
    ctr[C_NEX] = e + 1
    a = ctr[C_TEXT]
    pos = _put(req, req_src, req_off, req_n, rec, pool, bnext, otext, a)
    ox[e, X_CONN] = s
    ox[e, X_REQ_FRAME] = req_frame
    ox[e, X_REQ_OFF] = a
    ox[e, X_REQ_LEN] = pos - a
    req_time = req_ts / 1e9                 # Frame.time
    of[e, 0] = req_time
    b = pos
    if has_resp:
        pos = _put(resp, resp_src, resp_off, resp_n, rec, pool, bnext, otext, pos)
        ox[e, X_RESP_FRAME] = resp_frame
        ox[e, X_RESP_OFF] = b
        ox[e, X_RESP_LEN] = pos - b
        latency = resp_ts / 1e9 - req_time
        of[e, 1] = latency if latency > 0.0 else 0.0      # max(0.0, latency)
    else:
        ox[e, X_RESP_FRAME] = -1
        ox[e, X_RESP_OFF] = -1
        ox[e, X_RESP_LEN] = 0
        of[e, 1] = np.nan
    ox[e, X_KIND] = exchange_kind_bytes(otext, a, b - a, b, pos - b, has_resp)
    ctr[C_TEXT] = pos


@njit(cache=True, nogil=True, _nrt=False)
def complete_message(s, d, r, src, off, n, frame, ts, st, rec, rmeta, pool, bnext, ctr, ox, of, otext):
    """A complete message of direction d - chain r, or (r < 0) src[off:off+n] - from frame/ts:
    paired with the queue's first message of the other direction, else queued."""
    q = st[s, T_QHEAD]
    if q >= 0 and ((st[s, T_FLAGS] & F_QRESP) != 0) != (d == 1):
        nq = rec[q, R_NEXT]
        st[s, T_QHEAD] = nq
        if nq < 0:
            st[s, T_QTAIL] = -1
        if d == 0:
            emit_exchange(s, r, src, off, n, frame, ts, q, src, 0, 0, rmeta[q, 0], rmeta[q, 1], True,
                  rec, pool, bnext, ctr, ox, of, otext)
        else:
            emit_exchange(s, q, src, 0, 0, rmeta[q, 0], rmeta[q, 1], r, src, off, n, frame, ts, True,
                  rec, pool, bnext, ctr, ox, of, otext)
        rec_free(q, rec, bnext, ctr)
        if r >= 0:
            rec_free(r, rec, bnext, ctr)
        return
    if r < 0:
        r = rec_new(rec, ctr)
        chain_append(r, src, off, n, rec, pool, bnext, ctr)
    rmeta[r, 0] = frame
    rmeta[r, 1] = ts
    rec[r, R_NEXT] = -1
    t = st[s, T_QTAIL]
    if t < 0:
        st[s, T_QHEAD] = r
    else:
        rec[t, R_NEXT] = r
    st[s, T_QTAIL] = r
    if d == 1:
        st[s, T_FLAGS] |= F_QRESP
    else:
        st[s, T_FLAGS] &= ~F_QRESP


@njit(cache=True, nogil=True, _nrt=False)
def flush_partial(s, d, src, st, rec, rmeta, pool, bnext, ctr, ox, of, otext):
    """_Direction.flush: the partial line becomes a message."""
    b = st[s, T_BUF + d]
    if b >= 0:
        st[s, T_BUF + d] = -1
        complete_message(s, d, b, src, 0, 0, rmeta[b, 0], rmeta[b, 1], st, rec, rmeta, pool, bnext, ctr,
                 ox, of, otext)
