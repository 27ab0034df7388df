"""ConnStage's state layout and its shared pools, with the numba helpers that use them.

The per-connection state of connections._Conn and conn_zeek.ZeekTcp / Endpoint lives in a few
compact matrices indexed by tcp.stream (row) and endpoint (0 = the sender of the packet that
created Zeek's state, 1 = its receiver; which of them is the originator is ORIG_EP, so an
endpoint keeps its identity across flips, as the reference's Endpoint objects do):

    conn_i64[cap, 4]      FRAMES, START_NS, LAST_NS, SYN_IRTT          (see the names below)
    conn_u32[cap, 3]      ADDR_0, ADDR_1 (ids in the address pool), HIST_LEN
    conn_u16[cap, 3]      PORT_0, PORT_1, HIST_SEEN
    conn_i32[cap, 2]      HIST_TAIL (last history overflow chunk), COUNTERS (-1: none)
    conn_i8[cap, 9]       small flags and codes
    conn_hist[cap, 12]    uint8 the first HIST_INLINE history letters
    ep_i64[cap, 2, 8]     the unwrapped (relative) sequence numbers of each endpoint
    ep_u32[cap, 2, 4]     raw 32-bit START / LAST / ACK, and PKTS
    ep_i32[cap, 2, 1]     BLOCKS: head of its above-hole block list (-1: none; SKIPPING: Zeek
                          stopped reassembling this direction, conn_gaps' `skip`)
    ep_i8[cap, 2, 4]      STATE, PREV_STATE, FIN_SEEN, DID_CLOSE

Shared pools (grown by the Python wrapper, never by a kernel), for what only some connections
need or what has no fixed size:
  * addresses: (family, hi, lo) interned in an open-addressing hash table, so a connection keeps
    two uint32 ids instead of two 17-byte IPv6-capable addresses;
  * above-hole blocks (conn_gaps.insert_block's sorted list): a singly linked node pool with a
    free list, so it is exact with no cap on the number of blocks;
  * history letters past the inline ones: fixed-size chunks, each linked to the one before it
    (a connection keeps only its last; the summary walks back);
  * the scaled-history counters (C, G, T, W of Conn.cc ScaledHistoryEntry, per endpoint): one
    uint32 row of 8 per connection that ever needed one (like PKTS, a count of packets).

`meta` (int64[M_SIZE]) holds the pools' fill levels. A kernel checks for room before each frame
and stops early (the wrapper grows the pools and resumes) rather than ever writing past them.
"""
from __future__ import annotations


import numpy as np
from numba import njit

from analysis.columnar.freelist import take

# The kernels' numba options. _nrt=False: no reference counting of the arrays passed from
# function to function (they are never allocated or freed in a kernel); with it on, the
# atomic increments and decrements around every call cost several times the work itself.
# inline="always" (given per function) is kept to the per-frame path: it multiplies compile time.
JIT = dict(cache=True, nogil=True, error_model="numpy", _nrt=False)



# --- conn_i64 -------------------------------------------------------------------------------------
FRAMES, START_NS, LAST_NS, SYN_IRTT = 0, 1, 2, 3   # SYN_IRTT: the SYN time, then the irtt
N_CONN_I64 = 4
# --- conn_u32 -------------------------------------------------------------------------------------
ADDR_0, ADDR_1, HIST_LEN = 0, 1, 2
N_CONN_U32 = 3
# --- conn_u16 -------------------------------------------------------------------------------------
PORT_0, PORT_1, HIST_SEEN = 0, 1, 2
N_CONN_U16 = 3
HIST_SHIFT = 8      # HIST_SEEN: Conn.h's masks, the responder's shifted by 8 (Zeek: 16) to fit
# --- conn_i32 -------------------------------------------------------------------------------------
HIST_TAIL, COUNTERS = 0, 1
N_CONN_I32 = 2
# --- conn_i8 --------------------------------------------------------------------------------------
HAS_ZEEK = 0        # Zeek's state exists (a frame without a cut TCP header was seen)
ORIG_EP = 1         # which endpoint is the originator
PARTIAL = 2         # ZeekTcp.is_partial
FIRST_SEEN = 3      # ZeekTcp.first_seen (bit 1 orig, bit 2 resp)
FIRST_FIN = 4       # endpoint that sent the first FIN, -1: none
FIRST_RST = 5       # endpoint that sent the first RST, -1: none
FIN_BEFORE_RST = 6
FIN_EPS = 7         # bit e: endpoint e sent a FIN
IRTT_STATE = 8      # 0: no SYN yet; 1: SYN_IRTT is the SYN time; 2: SYN_IRTT is the irtt
N_CONN_I8 = 9
HIST_INLINE = 12
# --- ep_i64 (per endpoint) ------------------------------------------------------------------------
LAST_REL, ACK_REL, FIN_SEQ, H_SYN, H_FIN, H_RST, DELIVERED, TRIM = range(8)
N_EP_I64 = 8
# --- ep_u32 ---------------------------------------------------------------------------------------
START, LAST, ACK_RAW, PKTS = 0, 1, 2, 3
N_EP_U32 = 4
# --- ep_i32 ---------------------------------------------------------------------------------------
BLOCKS = 0
N_EP_I32 = 1
SKIPPING = -2       # BLOCKS of an endpoint whose reassembly Zeek gave up (conn_gaps' `skip`)
# --- ep_i8 ----------------------------------------------------------------------------------------
STATE, PREV_STATE, FIN_SEEN, DID_CLOSE = range(4)
N_EP_I8 = 4
# --- scaled-history counters: column e * 4 + CNT_* of a row of the counter pool ---------------
CNT_C, CNT_G, CNT_T, CNT_W = 0, 1, 2, 3
# --- meta -----------------------------------------------------------------------------------------
M_BLK_TOP, M_BLK_FREE, M_BLK_LIVE, M_CHUNK_TOP, M_CNT_TOP, M_ADDR_N, M_ERROR = range(7)
M_SIZE = 7
CHUNK = 28          # history letters per overflow chunk (+ an int32 link: 32 bytes)

# Worst case a single frame needs from each pool (checked before every frame): 2 new
# addresses (src and dst), 1 block (an insert merges into one node), 1 counter row (for its
# connection), and at most 14 letters (control/D/A, W, T, ^ and up to
# 10 G for powers of ten crossed), which fit in one new chunk; 2 for margin.
ROOM_ADDR, ROOM_BLK, ROOM_CNT, ROOM_CHUNK = 2, 1, 1, 2


# --- history ------------------------------------------------------------------------------------
@njit(**JIT)
def hist_append(s, letter, conn_u32, conn_i32, conn_hist, chunk_text, chunk_prev, meta):
    """Append one history letter (an ASCII code) to connection s."""
    n = np.int64(conn_u32[s, HIST_LEN])
    if n < HIST_INLINE:
        conn_hist[s, n] = letter
    else:
        k = (n - HIST_INLINE) % CHUNK
        if k == 0:
            c = meta[M_CHUNK_TOP]
            if c >= chunk_prev.shape[0]:
                meta[M_ERROR] = 1          # cannot happen given the room check; never silent
                return
            meta[M_CHUNK_TOP] = c + 1
            chunk_prev[c] = conn_i32[s, HIST_TAIL]
            conn_i32[s, HIST_TAIL] = c
        chunk_text[conn_i32[s, HIST_TAIL], k] = letter
    conn_u32[s, HIST_LEN] = n + 1


@njit(**JIT)
def hist_copy(s, out, off, conn_u32, conn_i32, conn_hist, chunk_text, chunk_prev):
    """Write connection s's history letters to out[off:]."""
    n = np.int64(conn_u32[s, HIST_LEN])
    for j in range(min(n, HIST_INLINE)):
        out[off + j] = conn_hist[s, j]
    c = conn_i32[s, HIST_TAIL]
    first = HIST_INLINE + (n - HIST_INLINE - 1) // CHUNK * CHUNK    # the last chunk's first letter
    while first >= HIST_INLINE:
        for k in range(min(CHUNK, n - first)):
            out[off + first + k] = chunk_text[c, k]
        c = chunk_prev[c]
        first -= CHUNK


# --- above-hole blocks --------------------------------------------------------------------------
@njit(**JIT)
def blk_alloc(lo, hi, nxt, blk_lo, blk_hi, blk_next, meta):
    b = take(blk_next, meta, M_BLK_FREE, M_BLK_TOP)
    meta[M_BLK_LIVE] += 1
    blk_lo[b] = lo
    blk_hi[b] = hi
    blk_next[b] = nxt
    return b


@njit(**JIT)
def blk_release(b, blk_next, meta):
    """Free node b; returns the node after it."""
    nxt = blk_next[b]
    blk_next[b] = meta[M_BLK_FREE]
    meta[M_BLK_FREE] = b
    meta[M_BLK_LIVE] -= 1
    return nxt


# --- scaled-history counters --------------------------------------------------------------------
@njit(**JIT)
def count_event(s, e, which, conn_i32, counters, meta):
    """One more event of kind `which` for endpoint e; True at the 1st, 10th, 100th, ...

    Conn.cc ScaledHistoryEntry keeps a threshold that is multiplied by 10 each time the count
    reaches it; counting one at a time, that is the count being a power of ten."""
    k = conn_i32[s, COUNTERS]
    if k < 0:
        k = meta[M_CNT_TOP]
        meta[M_CNT_TOP] = k + 1
        counters[k, :] = 0
        conn_i32[s, COUNTERS] = k
    c = counters[k, e * 4 + which] + 1
    counters[k, e * 4 + which] = c
    t = np.int64(1)
    while t < c:
        t *= 10
    return t == c


# --- addresses ----------------------------------------------------------------------------------
@njit(**JIT)
def _addr_slot(fam, hi, lo, mask):
    x = lo ^ (hi * np.uint64(0x9E3779B97F4A7C15)) ^ np.uint64(fam)
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(31))
    return np.int64(x & np.uint64(mask))


@njit(**JIT)
def addr_intern(fam, hi, lo, addr_fam, addr_hi, addr_lo, addr_hash, meta):
    """The id of address (family, hi, lo), adding it if new."""
    mask = addr_hash.shape[0] - 1
    h = _addr_slot(fam, hi, lo, mask)
    while True:
        k = addr_hash[h]
        if k < 0:
            k = meta[M_ADDR_N]
            meta[M_ADDR_N] = k + 1
            addr_fam[k] = fam
            addr_hi[k] = hi
            addr_lo[k] = lo
            addr_hash[h] = k
            return k
        if addr_lo[k] == lo and addr_hi[k] == hi and addr_fam[k] == fam:
            return k
        h = (h + 1) & mask


@njit(**JIT)
def addr_rehash(addr_fam, addr_hi, addr_lo, n, addr_hash):
    """Fill a new (all -1) hash table with the n addresses of the pool."""
    mask = addr_hash.shape[0] - 1
    for k in range(n):
        h = _addr_slot(addr_fam[k], addr_hi[k], addr_lo[k], mask)
        while addr_hash[h] >= 0:
            h = (h + 1) & mask
        addr_hash[h] = k
