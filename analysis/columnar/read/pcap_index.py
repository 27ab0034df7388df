"""Find the records of a classic pcap file in a buffer of its bytes (numba kernel).

Mirrors the record loop of analysis/read/reader.py (`CaptureReader._pcap_records`): a record is a
16-byte header (24 bytes in Kuznetzov's modified pcap; its extra 8 bytes are skipped) holding
seconds, fraction (us or ns), captured length and wire length in the file's byte order, then
the captured bytes. The kernel walks the buffer from `pos`, writes one row per whole record and
stops at the first record that is not wholly inside the buffer, so the caller can carry that
partial record over to the next read.

    index_records(buf, pos, fill, hdr_len, big_endian, frac_mul, max_caplen, first_number,
                  max_n, number, ts_ns, rec_off, rec_len, rec_wire, state)

`state` (int64[4]) receives: records found, position after the last one, why it stopped
(STOP_* below) and, when it stopped at a partial record, how many bytes that record needs.
"""
from __future__ import annotations

import numpy as np
from numba import njit

STOP_FULL = 0        # max_n records found
STOP_PARTIAL = 1     # the next record (or its header) runs past `fill`: read on, or the file is cut
STOP_ABSURD = 2      # the next record's caplen exceeds max_caplen: the file is corrupt


@njit(cache=True, nogil=True)
def _u32(buf, p, big_endian):
    if big_endian:
        return ((np.int64(buf[p]) << 24) | (np.int64(buf[p + 1]) << 16)
                | (np.int64(buf[p + 2]) << 8) | np.int64(buf[p + 3]))
    return ((np.int64(buf[p + 3]) << 24) | (np.int64(buf[p + 2]) << 16)
            | (np.int64(buf[p + 1]) << 8) | np.int64(buf[p]))


@njit(cache=True, nogil=True)
def index_records(buf, pos, fill, hdr_len, big_endian, frac_mul, max_caplen, first_number, max_n,
                  number, ts_ns, rec_off, rec_len, rec_wire, state):
    n = 0
    status = STOP_FULL
    need = 0
    while n < max_n:
        if fill - pos < hdr_len:
            status = STOP_PARTIAL
            need = hdr_len
            break
        caplen = _u32(buf, pos + 8, big_endian)
        # the reader checks the length only for a record that does not fit its read buffer; a
        # record longer than max_caplen never fits one, so checking every record is the same
        if caplen > max_caplen:
            status = STOP_ABSURD
            need = hdr_len + caplen
            break
        if fill - pos - hdr_len < caplen:
            status = STOP_PARTIAL
            need = hdr_len + caplen
            break
        sec = _u32(buf, pos, big_endian)
        frac = _u32(buf, pos + 4, big_endian)
        number[n] = first_number + n
        ts_ns[n] = sec * 1_000_000_000 + frac * frac_mul
        rec_off[n] = pos + hdr_len
        rec_len[n] = caplen
        rec_wire[n] = _u32(buf, pos + 12, big_endian)
        pos += hdr_len + caplen
        n += 1
    state[0] = n
    state[1] = pos
    state[2] = status
    state[3] = need
