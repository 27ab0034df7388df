"""The exchange stage's per-stream state layout, and its pairing half: requests queued, each
response paired with the oldest waiting request (or dropped when none waits), turns collected,
exchanges written out with their kind. An exact port of _ConnStreams (complete, decide,
turn_add, end_turn), _Direction.flush and exchange_kind (analysis/session/exchanges.py); the
reassembly half is exch_reassembly.py, the stage around both exch_kernel.ExchangeStage.

Like _ConnStreams.complete, the kernel pairs a message as soon as it is complete (one queue per
stream, holding waiting requests), so every exchange comes out in the chunk in which
ExchangeTracker makes it, in the same per-stream order. A message paired at once is copied
straight from the chunk's data to the output, never stored.

Per-stream state: one int32 row of `st` (40 bytes): flags and pending counts, next_seq of each
direction (uint32 bits), and record ids (exch_pool chains) of each direction's partial line and
pending list, of the request queue's ends and of the turn being sent. A chain record's frame and
time are in `rmeta`.

Compiled without numba's reference counting (_nrt=False), as exch_reassembly explains.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from analysis.columnar.session.pool import (BLOCK, C_NEX, C_TEXT, R_LEN, R_NEXT, R_TAIL, chain_append, chain_copy_out,
                        chain_trailing, chain_truncate, rec_free, rec_new)
from analysis.session.exchanges import LAB_REPLY_PREFIXES

# columns of the per-stream int32 `st`
T_FLAGS = 0         # F_* bits; bits 8-15 / 16-23: pending segments of direction 0 / 1
T_NSEQ = 1          # + d: next_seq of direction d (d 0 request, 1 response), uint32 bits
T_BUF = 3           # + d: record of direction d's partial line, -1 none
T_PEND = 5          # + d: first record of direction d's pending segments
T_QHEAD = 7         # first / last waiting (unanswered) request
T_QTAIL = 8
T_TURN = 9          # record of the turn being sent (_ConnStreams.turn), -1 none
ST_FIELDS = 10
STATE_BYTES_PER_STREAM = ST_FIELDS * 4

F_SEEN = 1          # ExchangeTracker has a _ConnStreams for the stream
F_CLIENT = 2        # its client is endpoint 1 (else endpoint 0)
F_LAST = 4          # last_sender is set
F_LAST_CLIENT = 8   # ... and is the client
F_NSEQ = 32         # next_seq of direction d is set: bit F_NSEQ << d
F_DECIDED = 128     # _ConnStreams.mode is known ...
NPEND_SHIFT = 8     # pending count of direction d: (flags >> (NPEND_SHIFT + 8 d)) & 0xFF
F_TURNS = 1 << 24   # ... and is TURNS (else LINES)
F_TURN_RESP = 1 << 25   # the turn being sent is the server's (turn_dir 1)
MAX_MESSAGE = 64 * 1024     # exchanges.MAX_MESSAGE
NL, CR = 10, 13

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
# how the lab server's replies begin, as the per-frame pairing reads them
_LAB_ECHO, _LAB_VOTED, _LAB_RESULTS, _LAB_ERROR = (np.frombuffer(p, np.uint8) for p in LAB_REPLY_PREFIXES)


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
    """_ConnStreams.complete: a whole message of direction d - chain r, or (r < 0)
    src[off:off+n] - from frame/ts. A request waits; a response answers the oldest waiting
    request, or is dropped when none waits."""
    if d == 1:
        q = st[s, T_QHEAD]
        if q >= 0:
            nq = rec[q, R_NEXT]
            st[s, T_QHEAD] = nq
            if nq < 0:
                st[s, T_QTAIL] = -1
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


# --- how a stream is paired: lines or turns --------------------------------------------------------
@njit(cache=True, nogil=True, _nrt=False)
def _free_slot(s, j, st, rec, bnext, ctr):
    r = st[s, j]
    if r >= 0:
        st[s, j] = -1
        rec_free(r, rec, bnext, ctr)


@njit(cache=True, nogil=True, _nrt=False)
def turn_mode(s, st, rec, bnext, ctr):
    """_ConnStreams.turn_mode: pairing by turns; the waiting lines and partial lines go."""
    st[s, T_FLAGS] |= F_DECIDED | F_TURNS
    q = st[s, T_QHEAD]
    while q >= 0:
        nq = rec[q, R_NEXT]
        rec_free(q, rec, bnext, ctr)
        q = nq
    st[s, T_QHEAD] = -1
    st[s, T_QTAIL] = -1
    _free_slot(s, T_BUF, st, rec, bnext, ctr)
    _free_slot(s, T_BUF + 1, st, rec, bnext, ctr)


@njit(cache=True, nogil=True, _nrt=False)
def decide(s, src, off, n, st, rec, bnext, ctr):
    """_ConnStreams.decide on the server's first bytes src[off:off+n] (a segment's first bytes:
    a prefix is at most 8 bytes, and a piece of a stored segment holds min(BLOCK, its length))."""
    if (_starts(src, off, n, _LAB_ECHO) or _starts(src, off, n, _LAB_VOTED)
            or _starts(src, off, n, _LAB_RESULTS) or _starts(src, off, n, _LAB_ERROR)):
        st[s, T_FLAGS] |= F_DECIDED
        _free_slot(s, T_TURN, st, rec, bnext, ctr)
    else:
        turn_mode(s, st, rec, bnext, ctr)


@njit(cache=True, nogil=True, _nrt=False)
def end_turn(s, src, st, rec, rmeta, pool, bnext, ctr, ox, of, otext):
    """_ConnStreams.end_turn: the turn being sent is a whole message, less one final line end."""
    t = st[s, T_TURN]
    if t < 0:
        return
    st[s, T_TURN] = -1
    length = np.int64(rec[t, R_LEN])
    if length > 0 and pool[rec[t, R_TAIL], (length - 1) % BLOCK] == NL:
        chain_truncate(t, length - 1, rec, bnext, ctr)
        length = np.int64(rec[t, R_LEN])
        chain_truncate(t, length - chain_trailing(t, CR, rec, pool, bnext), rec, bnext, ctr)
    d = 1 if st[s, T_FLAGS] & F_TURN_RESP else 0
    complete_message(s, d, t, src, 0, 0, rmeta[t, 0], rmeta[t, 1], st, rec, rmeta, pool, bnext, ctr,
                     ox, of, otext)


@njit(cache=True, nogil=True, _nrt=False)
def turn_add(s, d, src, off, n, frame, ts, st, rec, rmeta, pool, bnext, ctr, ox, of, otext):
    """_ConnStreams.turn_add: bytes of direction d; the other side's turn, if any, ends."""
    t = st[s, T_TURN]
    if t >= 0 and ((st[s, T_FLAGS] & F_TURN_RESP) != 0) != (d == 1):
        end_turn(s, src, st, rec, rmeta, pool, bnext, ctr, ox, of, otext)
        t = -1
    if t < 0:
        t = rec_new(rec, ctr)
        rmeta[t, 0] = frame
        rmeta[t, 1] = ts
        st[s, T_TURN] = t
        if d == 1:
            st[s, T_FLAGS] |= F_TURN_RESP
        else:
            st[s, T_FLAGS] &= ~F_TURN_RESP
    k = min(MAX_MESSAGE - np.int64(rec[t, R_LEN]), n)
    if k > 0:
        chain_append(t, src, off, k, rec, pool, bnext, ctr)


@njit(cache=True, nogil=True, _nrt=False)
def flush_partial(s, d, src, st, rec, rmeta, pool, bnext, ctr, ox, of, otext):
    """_Direction.flush: the partial line becomes a message."""
    b = st[s, T_BUF + d]
    if b >= 0:
        st[s, T_BUF + d] = -1
        complete_message(s, d, b, src, 0, 0, rmeta[b, 0], rmeta[b, 1], st, rec, rmeta, pool, bnext, ctr,
                 ox, of, otext)
