"""The columnar engine's TCP stage: tcp.stream and tcp.analysis.* for a chunk of FrameColumns.

An exact port of analysis/tcp/analysis.py (TcpAnalyzer.process) over columns, frames in
capture order, chunk after chunk; the sequence analysis is tcp_flows.analyze_segment (the port
of analysis/tcp/sequence.py) and the 4-tuple lookup is stream_table.

    stage = TcpStage()
    for cols in chunks:
        tcp = stage.run(cols)              # TcpColumns, one row per frame of the chunk

Per-stream state (row `stream`; the flows are rows 2*stream and 2*stream+1 of tcp_flows'
arrays):
    keys[stream]            uint64 x5  the directed 4-tuple of its first frame (conv.key)
    conv_ns[stream, C_*]    int64      mru_syn_ns (ts_mru_syn) and irtt_ns (ts_first_rtt)
TcpAnalyzer's StreamInfo extras (first frame, first SYN time, endpoints as text) are not kept:
no stage reads them from here.

Numba's on-disk cache does not notice edits to the functions this kernel calls in other
modules; analysis/columnar/__init__.py drops the caches when any module is newer.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from analysis.columnar import stream_table
from analysis.columnar.columns import MAL_TCP_OPTIONS, FrameColumns, TcpColumns
from analysis.columnar.stream_table import find, set_key
from analysis.columnar.tcp.flows import (
    A_FAST_RETRANSMISSION, A_RETRANSMISSION, A_REUSED_PORTS, A_SPURIOUS_RETRANSMISSION, ACK,
    B_BITS, B_COLS, B_WIN_SCALE, F_BASE_SET, F_FIRST_ACK, I_COLS, L_COLS, L_COUNT, M32, M_FREE,
    M_TOP,
    NIL, SYN, SYN_ACK, SYN_FIN, U_BASE, U_COLS, analyze_segment, init_flow)

C_MRU_SYN_NS, C_IRTT_NS = 0, 1
M_STREAMS, M_LIVE_KEYS = 2, 3          # meta[] after tcp_flows' pool counters
_RETRANSMISSION_TOO = A_FAST_RETRANSMISSION | A_SPURIOUS_RETRANSMISSION


@njit(cache=True, nogil=True)
def _open(keys, conv_ns, fu32, fi64, fi8, flist, meta, family, src_hi, src_lo, sport, dst_hi,
          dst_lo, dport):
    s = meta[M_STREAMS]
    meta[M_STREAMS] = s + 1
    set_key(keys, s, family, src_hi, src_lo, sport, dst_hi, dst_lo, dport)
    conv_ns[s, C_MRU_SYN_NS] = 0
    conv_ns[s, C_IRTT_NS] = 0
    init_flow(fu32, fi64, fi8, flist, 2 * s)
    init_flow(fu32, fi64, fi8, flist, 2 * s + 1)
    return s


@njit(cache=True, nogil=True)
def tcp_chunk(tcp_flags, family, src_hi, src_lo, sport, dst_hi, dst_lo, dport, seq_col,
              ack_col, window_col, wscale_col, payload_len, ts_col, malformed,
              table, keys, conv_ns, fu32, fi64, fi8, flist, pool_next, pool_end, meta,
              o_stream, o_seq_rel, o_ack_rel, o_next_rel, o_analysis, o_window, o_from_client,
              o_irtt, o_scalefactor, start, max_keys):
    """TcpAnalyzer.process for frames start.. of a chunk; returns the index of the first frame
    not processed: len(tcp_flags), or the frame that would add a key to a table already
    holding max_keys (nothing of that frame is done yet).  The caller guarantees room for one
    new stream and one pool node per frame."""
    for i in range(start, len(tcp_flags)):
        flags = np.int64(tcp_flags[i])
        if flags == -1:
            o_stream[i] = -1
            o_seq_rel[i] = -1
            o_ack_rel[i] = -1
            o_next_rel[i] = -1
            o_analysis[i] = 0
            o_window[i] = -1
            o_from_client[i] = False
            o_irtt[i] = -1
            o_scalefactor[i] = 0
            continue
        fam, shi, slo, sp = family[i], src_hi[i], src_lo[i], sport[i]
        dhi, dlo, dp = dst_hi[i], dst_lo[i], dport[i]
        slot, s, from_client = find(table, keys, fam, shi, slo, sp, dhi, dlo, dp)
        if s < 0:
            if meta[M_LIVE_KEYS] >= max_keys:
                return i
            s = _open(keys, conv_ns, fu32, fi64, fi8, flist, meta, fam, shi, slo, sp, dhi, dlo,
                      dp)
            table[slot] = s
            meta[M_LIVE_KEYS] += 1
        seq = np.int64(seq_col[i])
        ack = np.int64(ack_col[i])
        ts_ns = np.int64(ts_col[i])
        fwd = 2 * s if from_client else 2 * s + 1
        rev = fwd ^ 1

        ta = 0
        syn_ack = flags & SYN_ACK
        if syn_ack == SYN and fi8[fwd, B_BITS] & F_BASE_SET and seq != fu32[fwd, U_BASE]:
            # a SYN with a new ISN: a new stream; its key replaces the one found (same slot)
            s = _open(keys, conv_ns, fu32, fi64, fi8, flist, meta, fam, shi, slo, sp, dhi, dlo,
                      dp)
            table[slot] = s
            from_client = True
            fwd, rev = 2 * s, 2 * s + 1
            ta = A_REUSED_PORTS
        elif syn_ack == SYN_ACK and fi8[fwd, B_BITS] & F_BASE_SET and seq != fu32[fwd, U_BASE]:
            fu32[fwd, U_BASE] = seq
            ta = A_REUSED_PORTS

        seglen = np.int64(payload_len[i])
        window = np.int64(window_col[i])
        irtt_ns = conv_ns[s, C_IRTT_NS]
        ta, has_record = analyze_segment(fu32, fi64, fi8, flist, pool_next, pool_end, meta,
                                         fwd, rev, seq, ack, seglen, flags, window, ts_ns,
                                         irtt_ns, ta)

        seq_rel = (seq - np.int64(fu32[fwd, U_BASE])) & M32
        ack_rel = (ack - np.int64(fu32[rev, U_BASE])) & M32 if flags & ACK else ack
        next_rel = (seq_rel + seglen + (1 if flags & SYN_FIN else 0)) & M32

        # SYNs are never scaled; -1 (unknown) and -2 (none) leave the window raw
        if flags & SYN:
            scalefactor = 0
        else:
            shift = np.int64(fi8[fwd, B_WIN_SCALE])
            if shift >= 0:
                window <<= shift
                scalefactor = 1 << shift
            else:
                scalefactor = shift

        if syn_ack == SYN:
            conv_ns[s, C_MRU_SYN_NS] = ts_ns
        elif syn_ack == ACK and conv_ns[s, C_MRU_SYN_NS] != 0 and conv_ns[s, C_IRTT_NS] == 0:
            conv_ns[s, C_IRTT_NS] = ts_ns - conv_ns[s, C_MRU_SYN_NS]
        if flags & SYN:
            fi8[fwd, B_BITS] |= F_FIRST_ACK
        elif syn_ack == ACK:
            fi8[fwd, B_BITS] &= ~F_FIRST_ACK

        # the window-scale option (-1: none; a negative other value is a shift > 127 wrapped
        # by the int8 column, which the reference clamps to 14 like any shift > 14)
        opt = np.int64(wscale_col[i])
        if opt != -1:
            fi8[fwd, B_WIN_SCALE] = 14 if opt > 14 or opt < 0 else opt
        if flags & SYN:
            if fi8[fwd, B_WIN_SCALE] == -1:
                fi8[fwd, B_WIN_SCALE] = -2
                fi8[rev, B_WIN_SCALE] = -2
            elif syn_ack == SYN_ACK and fi8[rev, B_WIN_SCALE] == -2:
                fi8[fwd, B_WIN_SCALE] = -2

        o_stream[i] = s
        o_seq_rel[i] = seq_rel
        o_ack_rel[i] = ack_rel
        o_next_rel[i] = next_rel
        o_window[i] = window
        o_from_client[i] = from_client
        o_scalefactor[i] = scalefactor
        if malformed[i] == MAL_TCP_OPTIONS:
            # tshark stops at the cut options, before the SEQ/ACK analysis
            o_analysis[i] = 0
            o_irtt[i] = -1
        else:
            o_analysis[i] = ta | A_RETRANSMISSION if ta & _RETRANSMISSION_TOO else ta
            irtt = conv_ns[s, C_IRTT_NS]
            o_irtt[i] = irtt if (ta != 0 or has_record) and irtt != 0 else -1
    return len(tcp_flags)


def _grown(array: np.ndarray, rows: int) -> np.ndarray:
    """`array` with at least `rows` rows (capacity doubled), the old rows copied.  The new rows
    are zero pages the OS only backs once the kernel writes them, so the reserve for a whole
    chunk of new streams costs address space, not memory."""
    if len(array) >= rows:
        return array
    size = max(len(array), 1)
    while size < rows:
        size *= 2
    new = np.zeros((size,) + array.shape[1:], dtype=array.dtype)
    new[:len(array)] = array
    return new


class TcpStage:
    """tshark 4.0's one-pass TCP analysis over FrameColumns, chunk by chunk (mirrors
    TcpAnalyzer)."""

    def __init__(self, streams: int = 1024, pool: int = 1024) -> None:
        self._keys = np.zeros((streams, stream_table.KEY_WORDS), np.uint64)
        self._conv_ns = np.zeros((streams, 2), np.int64)
        self._fu32 = np.zeros((2 * streams, U_COLS), np.uint32)
        self._fi64 = np.zeros((2 * streams, I_COLS), np.int64)
        self._fi8 = np.zeros((2 * streams, B_COLS), np.int8)
        self._flist = np.zeros((2 * streams, L_COLS), np.int32)
        self._pool_next = np.zeros(pool, np.int32)
        self._pool_end = np.zeros(pool, np.uint32)
        self._table = stream_table.new_table(2 * streams)   # a power of two
        self._meta = np.zeros(4, np.int64)
        self._meta[M_FREE] = NIL

    @property
    def n_streams(self) -> int:
        return int(self._meta[M_STREAMS])

    @property
    def unacked_segments(self) -> int:
        """Unacknowledged segments held over all flows (the pool's live nodes)."""
        return int(self._flist[:2 * self.n_streams, L_COUNT].sum())

    def state_bytes_per_stream(self) -> dict[str, float]:
        """Bytes of state per stream so far: a row of the per-stream arrays (both flows), the
        hash table's slots, and the unacked pool's nodes at their peak use."""
        row = sum(a.itemsize * int(np.prod(a.shape[1:])) for a in (self._keys, self._conv_ns))
        row += 2 * sum(a.itemsize * int(np.prod(a.shape[1:]))
                       for a in (self._fu32, self._fi64, self._fi8, self._flist))
        n = max(self.n_streams, 1)
        node = self._pool_next.itemsize + self._pool_end.itemsize
        return {"stream arrays": float(row), "hash table": self._table.nbytes / n,
                "unacked pool": int(self._meta[M_TOP]) * node / n}

    def _reserve(self, frames: int) -> None:
        # at most one new stream and one new unacked node per frame
        streams = self.n_streams + frames
        self._keys = _grown(self._keys, streams)
        self._conv_ns = _grown(self._conv_ns, streams)
        self._fu32 = _grown(self._fu32, 2 * streams)
        self._fi64 = _grown(self._fi64, 2 * streams)
        self._fi8 = _grown(self._fi8, 2 * streams)
        self._flist = _grown(self._flist, 2 * streams)
        nodes = int(self._meta[M_TOP]) + frames
        self._pool_next = _grown(self._pool_next, nodes)
        self._pool_end = _grown(self._pool_end, nodes)

    def run(self, cols: FrameColumns) -> TcpColumns:
        """TcpColumns for the chunk's frames; call with the chunks in capture order."""
        n = len(cols)
        out = TcpColumns(stream=np.empty(n, np.int64), seq_rel=np.empty(n, np.int64),
                         ack_rel=np.empty(n, np.int64), next_rel=np.empty(n, np.int64),
                         analysis=np.empty(n, np.uint16), window=np.empty(n, np.int64),
                         from_client=np.empty(n, np.bool_), irtt_ns=np.empty(n, np.int64),
                         scalefactor=np.empty(n, np.int32))
        if n == 0:
            return out
        self._reserve(int(np.count_nonzero(cols.tcp_flags != -1)))
        done = 0
        while True:
            # the hash table stays at most half full: when the kernel stops for room, double it
            done = tcp_chunk(cols.tcp_flags, cols.family, cols.src_hi, cols.src_lo, cols.sport,
                             cols.dst_hi, cols.dst_lo, cols.dport, cols.seq, cols.ack,
                             cols.window, cols.wscale, cols.payload_len, cols.ts_ns,
                             cols.malformed, self._table, self._keys, self._conv_ns,
                             self._fu32, self._fi64, self._fi8, self._flist, self._pool_next,
                             self._pool_end, self._meta, *out, done, len(self._table) // 2)
            if done == n:
                return out
            self._table = stream_table.doubled_table(self._table, self._keys)
