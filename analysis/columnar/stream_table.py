"""tcp.stream lookup by 4-tuple: an open-addressing hash table in numpy arrays, for tcp_kernel.

Mirrors TcpAnalyzer._by_key of analysis/tcp/analysis.py (a dict from the directed 4-tuple
(src, sport, dst, dport) to the current conversation), looked up forward then reversed.

Layout:
  * `keys[stream]` (uint64, shape (streams, 5)) holds each stream's directed key, the 4-tuple of
    its first frame: src_hi, src_lo, dst_hi, dst_lo, and sport | dport << 16 | family << 32.
    One row is contiguous, so comparing a key costs one or two cache lines.
  * `table[slot]` (int32) holds a stream id, or EMPTY.  Slots carry no key of their own, and
    the table doubles when half full (the kernel stops before adding the key that would pass
    that load; the wrapper rehashes into a doubled table and resumes the kernel there), so it
    costs 8 to 16 bytes per live key.

The hash is symmetric (the same for a key and its reverse), so one probe sequence answers both
the forward and the reverse lookup.  That is exact because TcpAnalyzer never holds a key and
its reverse at once: a new key is only added when both are missing, and the reused-ports rule
deletes the conversation it found (under the key or its reverse) and adds the frame's key,
which has the same symmetric hash - so the deletion is done in place by overwriting the slot,
and the table needs no tombstones.
"""
from __future__ import annotations

import numpy as np
from numba import njit

EMPTY = np.int32(-1)
KEY_WORDS = 5

_M1 = np.uint64(0xFF51AFD7ED558CCD)
_M2 = np.uint64(0xC4CEB9FE1A85EC53)
_GOLD = np.uint64(0x9E3779B97F4A7C15)
_S33 = np.uint64(33)
_S16 = np.uint64(16)
_S32 = np.uint64(32)


@njit(cache=True, nogil=True, inline="always")
def _mix(x):
    # murmur3's 64-bit finalizer: every input bit reaches every output bit
    x ^= x >> _S33
    x *= _M1
    x ^= x >> _S33
    x *= _M2
    x ^= x >> _S33
    return x


@njit(cache=True, nogil=True, inline="always")
def endpoint_hash(hi, lo, port):
    """Hash of one endpoint (address words, port); uint64 in, uint64 out."""
    return _mix(_mix(lo ^ (np.uint64(port) * _GOLD)) ^ hi)


@njit(cache=True, nogil=True, inline="always")
def port_word(sport, dport, family):
    return np.uint64(sport) | (np.uint64(dport) << _S16) | (np.uint64(family) << _S32)


@njit(cache=True, nogil=True, inline="always")
def key_hash(family, src_hi, src_lo, sport, dst_hi, dst_lo, dport):
    """Symmetric: the same value for (src, sport, dst, dport) and (dst, dport, src, sport)."""
    h = endpoint_hash(src_hi, src_lo, sport) + endpoint_hash(dst_hi, dst_lo, dport)
    return _mix(h ^ np.uint64(family))


@njit(cache=True, nogil=True, inline="always")
def find(table, keys, family, src_hi, src_lo, sport, dst_hi, dst_lo, dport):
    """(slot, stream, forward): the slot holding the key or its reverse, that stream, and whether
    it was the key itself; (empty slot to insert at, -1, True) when neither is present."""
    mask = len(table) - 1
    fwd_ports = port_word(sport, dport, family)
    rev_ports = port_word(dport, sport, family)
    i = np.int64(key_hash(family, src_hi, src_lo, sport, dst_hi, dst_lo, dport) & np.uint64(mask))
    while True:
        s = table[i]
        if s == EMPTY:
            return i, -1, True
        row = keys[s]
        # forward first, as TcpAnalyzer looks up the key before its reverse
        if row[4] == fwd_ports and row[0] == src_hi and row[1] == src_lo \
                and row[2] == dst_hi and row[3] == dst_lo:
            return i, s, True
        if row[4] == rev_ports and row[0] == dst_hi and row[1] == dst_lo \
                and row[2] == src_hi and row[3] == src_lo:
            return i, s, False
        i = (i + 1) & mask


@njit(cache=True, nogil=True)
def set_key(keys, s, family, src_hi, src_lo, sport, dst_hi, dst_lo, dport):
    keys[s, 0] = src_hi
    keys[s, 1] = src_lo
    keys[s, 2] = dst_hi
    keys[s, 3] = dst_lo
    keys[s, 4] = port_word(sport, dport, family)


@njit(cache=True, nogil=True)
def rehash(old, keys, new):
    """Move every stream of `old` into the empty table `new` (a power-of-two size)."""
    mask = len(new) - 1
    for j in range(len(old)):
        s = old[j]
        if s == EMPTY:
            continue
        word = keys[s, 4]
        sport = word & np.uint64(0xFFFF)
        dport = (word >> _S16) & np.uint64(0xFFFF)
        family = word >> _S32
        i = np.int64(key_hash(family, keys[s, 0], keys[s, 1], sport, keys[s, 2], keys[s, 3],
                              dport) & np.uint64(mask))
        while new[i] != EMPTY:
            i = (i + 1) & mask
        new[i] = s


def new_table(size: int) -> np.ndarray:
    return np.full(size, EMPTY, dtype=np.int32)


def doubled_table(table: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """A table twice the size of `table` holding the same streams."""
    new = new_table(2 * len(table))
    rehash(table, keys, new)
    return new
