"""Find the enhanced packet blocks of a pcapng section in a buffer of its bytes (numba kernel).

Mirrors the fast loop of analysis/read/reader.py (`CaptureReader._pcapng_blocks`): from `pos`,
one row per Enhanced Packet Block that is wholly inside buf[:fill], has a length that is a
multiple of 4 and holds its captured bytes, names a known interface of the section, ends with
the same total length and has a timestamp that needs no clamping. It stops at the first block
that is anything else (a section or interface block, a simple or obsolete packet block, an odd
or cut block, a timestamp to clamp, a block to skip), which the caller hands to
CaptureReader.pcapng_block, the reader's own code, before it runs the kernel again.

    index_blocks(buf, pos, fill, big_endian, mul, div, off, link, fast, qmax, ts_min, ts_max,
                 first_number, max_n, number, ts_ns, rec_off, rec_len, rec_wire,
                 rec_link, row, state)

Per section-local interface: ticks -> ns as ticks * mul // div + off (the reader's exact
integers), the link type (the columns keep no interface id), `fast` (0: the interface's clock cannot be
computed in int64 without overflow, every packet on it goes to the reader) and `qmax`, the
largest ticks // div whose product with mul stays clear of int64 overflow. Rows are written from
`row`; `state` (int64[2]) receives the rows found and the position after the last one.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from analysis.columnar.read.pcap_index import _u32

BT_EPB = 6
TICKS_HI_MAX = 1 << 31       # ticks from 2**63 on do not fit int64: the reader computes those
QMAX_BOUND = (1 << 62) - (1 << 31)


def interface_arrays(local_clocks) -> tuple[np.ndarray, ...]:
    """(mul, div, off, link, fast, qmax) of a section's interfaces for index_blocks, from the
    reader's (mul, div, offset ns, linktype, global id) rows."""
    k = max(len(local_clocks), 1)
    arrays = [np.zeros(k, np.int64) for _ in range(6)]
    mul, div, off, link, fast, qmax = arrays
    for i, (m, d, o, lt, _gid) in enumerate(local_clocks):
        # the kernel's exact sum: (ticks // d) * m + (ticks % d) * m // d + o, each term in int64
        if m * d < (1 << 63) and abs(o) <= 1 << 62:
            mul[i], div[i], off[i], fast[i], qmax[i] = m, d, o, 1, QMAX_BOUND // m
        link[i] = lt
    return tuple(arrays)


@njit(cache=True, nogil=True)
def index_blocks(buf, pos, fill, big_endian, mul, div, off, link, fast, qmax, ts_min, ts_max,
                 first_number, max_n, number, ts_ns, rec_off, rec_len, rec_wire, rec_link, row,
                 state):
    n_local = len(fast)
    n = 0
    while row + n < max_n and fill - pos >= 28:
        if _u32(buf, pos, big_endian) != BT_EPB:
            break
        blen = _u32(buf, pos + 4, big_endian)
        end = pos + blen
        caplen = _u32(buf, pos + 20, big_endian)
        if end > fill or blen & 3 or 32 + caplen > blen:
            break
        lid = _u32(buf, pos + 8, big_endian)
        if lid >= n_local or fast[lid] == 0 or _u32(buf, end - 4, big_endian) != blen:
            break
        ts_hi = _u32(buf, pos + 12, big_endian)
        if ts_hi >= TICKS_HI_MAX:
            break
        ticks = (ts_hi << 32) | _u32(buf, pos + 16, big_endian)
        d = div[lid]
        q = ticks // d
        if q > qmax[lid]:
            break
        m = mul[lid]
        ts = q * m + (ticks - q * d) * m // d + off[lid]
        if ts > ts_max or ts < ts_min:
            break
        r = row + n
        number[r] = first_number + n
        ts_ns[r] = ts
        rec_off[r] = pos + 28
        rec_len[r] = caplen
        rec_wire[r] = _u32(buf, pos + 24, big_endian)
        rec_link[r] = link[lid]
        pos = end
        n += 1
    state[0] = n
    state[1] = pos
