"""Byte chains in a fixed-size block pool: the exchange stage's storage for live bytes.

The exchange stage (exch_kernel.py, mirroring analysis/session/exchanges.py) has to keep bytes across
chunks - partial lines (_Direction.buffer), out-of-order segments (_Direction.pending) and
complete messages waiting for their pair (_Direction.messages) - while the chunk's `data` is
reused. Each of those is a *chain*: a record (row of `rec`) naming the first and last of its
blocks, its length, and a link to the next record of whatever list it is in (a pending list, a
message queue, the free list). Blocks are BLOCK bytes (rows of `pool`), linked by `bnext`.

Freed records and blocks go on free lists and are reused first, so the pool holds about the live
bytes (rounded up to blocks) and nothing ever moves: a chain being read stays valid while others
are written. A chain of n bytes always has exactly ceil(n / BLOCK) blocks, so freeing one is O(1)
(its blocks are spliced onto the free list whole).

The arrays are owned and grown by the Python wrapper; these kernels never allocate. `ctr` holds
the pool's counters (indices C_*), which the wrapper reads to size the pool before a chunk.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from analysis.columnar.freelist import take

BLOCK = 64

# columns of `rec` (int32); R_SEQ: a pending segment's raw sequence number (uint32 bits)
R_HEAD, R_TAIL, R_LEN, R_NEXT, R_SEQ = 0, 1, 2, 3, 4
REC_FIELDS = 5

# counters (int64 `ctr`)
C_RHW = 0           # records ever used (rows above are untouched)
C_RFREE = 1         # head of the record free list, -1: empty
C_RLIVE = 2         # records in use
C_BHW = 3           # blocks ever used
C_BFREE = 4         # head of the block free list
C_BLIVE = 5         # blocks in use
C_BYTES = 6         # bytes in all chains
C_PEND_BYTES = 7    # bytes in pending (out-of-order) chains
C_PEND_NL = 8       # newlines in pending chains
C_PEND_COUNT = 9    # pending chains
C_NEX = 10          # exchanges written by the current kernel call
C_TEXT = 11         # text bytes written by the current kernel call
N_COUNTERS = 12


def new_counters() -> np.ndarray:
    ctr = np.zeros(N_COUNTERS, np.int64)
    ctr[C_RFREE] = ctr[C_BFREE] = -1
    return ctr


@njit(cache=True, nogil=True, _nrt=False, inline='always')
def rec_new(rec, ctr):
    """An empty chain record (from the free list first)."""
    r = ctr[C_RFREE]
    if r >= 0:
        ctr[C_RFREE] = rec[r, R_NEXT]
    else:
        r = ctr[C_RHW]
        ctr[C_RHW] = r + 1
    rec[r, R_HEAD] = -1
    rec[r, R_TAIL] = -1
    rec[r, R_LEN] = 0
    rec[r, R_NEXT] = -1
    ctr[C_RLIVE] += 1
    return r


@njit(cache=True, nogil=True, _nrt=False, inline='always')
def _block_new(bnext, ctr):
    b = take(bnext, ctr, C_BFREE, C_BHW)
    ctr[C_BLIVE] += 1
    return b


@njit(cache=True, nogil=True, _nrt=False, inline='always')
def chain_clear(r, rec, bnext, ctr):
    """Drop r's bytes (its blocks go back to the pool); r stays allocated, empty."""
    head = rec[r, R_HEAD]
    if head >= 0:
        n = rec[r, R_LEN]
        bnext[rec[r, R_TAIL]] = ctr[C_BFREE]
        ctr[C_BFREE] = head
        ctr[C_BLIVE] -= (n + BLOCK - 1) // BLOCK
        ctr[C_BYTES] -= n
    rec[r, R_HEAD] = -1
    rec[r, R_TAIL] = -1
    rec[r, R_LEN] = 0


@njit(cache=True, nogil=True, _nrt=False, inline='always')
def rec_free(r, rec, bnext, ctr):
    chain_clear(r, rec, bnext, ctr)
    rec[r, R_NEXT] = ctr[C_RFREE]
    ctr[C_RFREE] = r
    ctr[C_RLIVE] -= 1


@njit(cache=True, nogil=True, _nrt=False)
def chain_append(r, src, off, n, rec, pool, bnext, ctr):
    """Append src[off:off+n] to chain r."""
    if n <= 0:
        return
    length = np.int64(rec[r, R_LEN])
    tail = np.int64(rec[r, R_TAIL])
    used = length % BLOCK
    i = 0
    if length > 0 and used != 0:            # room left in the last block
        k = min(BLOCK - used, n)
        for j in range(k):
            pool[tail, used + j] = src[off + j]
        i = k
    while i < n:
        blk = _block_new(bnext, ctr)
        if tail < 0:
            rec[r, R_HEAD] = blk
        else:
            bnext[tail] = blk
        tail = blk
        k = min(BLOCK, n - i)
        for j in range(k):
            pool[blk, j] = src[off + i + j]
        i += k
    bnext[tail] = -1
    rec[r, R_TAIL] = tail
    rec[r, R_LEN] = length + n
    ctr[C_BYTES] += n


@njit(cache=True, nogil=True, _nrt=False)
def chain_copy_out(r, rec, pool, bnext, out, pos):
    """Copy chain r's bytes to out[pos:]; returns the position after them."""
    left = np.int64(rec[r, R_LEN])
    blk = rec[r, R_HEAD]
    while left > 0:
        k = min(BLOCK, left)
        for j in range(k):
            out[pos + j] = pool[blk, j]
        pos += k
        left -= k
        blk = bnext[blk]
    return pos


@njit(cache=True, nogil=True, _nrt=False)
def chain_trailing(r, byte, rec, pool, bnext):
    """How many of chain r's last bytes equal `byte` (a walk over the chain: rare use)."""
    left = np.int64(rec[r, R_LEN])
    blk = rec[r, R_HEAD]
    run = 0
    while left > 0:
        k = min(BLOCK, left)
        for j in range(k):
            run = run + 1 if pool[blk, j] == byte else 0
        left -= k
        blk = bnext[blk]
    return run


@njit(cache=True, nogil=True, _nrt=False)
def chain_count(r, byte, rec, pool, bnext):
    """How many bytes of chain r equal `byte`."""
    left = np.int64(rec[r, R_LEN])
    blk = rec[r, R_HEAD]
    count = 0
    while left > 0:
        k = min(BLOCK, left)
        for j in range(k):
            if pool[blk, j] == byte:
                count += 1
        left -= k
        blk = bnext[blk]
    return count


@njit(cache=True, nogil=True, _nrt=False)
def chain_truncate(r, length, rec, bnext, ctr):
    """Keep the first `length` bytes of chain r (its surplus blocks go back to the pool)."""
    n = np.int64(rec[r, R_LEN])
    if length >= n:
        return
    if length <= 0:
        chain_clear(r, rec, bnext, ctr)
        return
    keep = (length + BLOCK - 1) // BLOCK
    have = (n + BLOCK - 1) // BLOCK
    blk = rec[r, R_HEAD]
    for _ in range(keep - 1):
        blk = bnext[blk]
    if have > keep:
        bnext[rec[r, R_TAIL]] = ctr[C_BFREE]
        ctr[C_BFREE] = bnext[blk]
        ctr[C_BLIVE] -= have - keep
    bnext[blk] = -1
    rec[r, R_TAIL] = blk
    rec[r, R_LEN] = length
    ctr[C_BYTES] -= n - length


def grown(array: np.ndarray, rows: int, fill=None) -> np.ndarray:
    """`array` with at least `rows` rows (doubling), old rows copied; new rows `fill` or unset."""
    size = max(len(array), 1)
    if rows <= len(array):
        return array
    while size < rows:
        size *= 2
    out = np.empty((size,) + array.shape[1:], array.dtype)
    out[:len(array)] = array
    if fill is not None:
        out[len(array):] = fill
    return out
