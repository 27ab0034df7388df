"""The connection stage of the columnar engine: Zeek's conn_state and history per tcp.stream.

    stage = ConnStage()                      # same options as connections.ConnectionTracker
    for cols, tcp in chunks:                 # FrameColumns + TcpColumns, in capture order
        stage.run(cols, tcp)
    table = stage.finish()                   # ConnectionTable, one row per connection, by id
    conns = connections_from_table(table)    # Connection records (frames=())

Mirrors analysis/conn/connections.py (ConnectionTracker.process, _closing, want_flip) frame by frame;
Zeek's per-packet state machine is conn_packet.py / conn_endpoint.py (analysis/conn/zeek.py,
conn_gaps.py), the summary (_summary, conn_state, Endpoint.size) is conn_table.py. The state
per connection lives in compact arrays (layout and pools: conn_pools.py) owned by ConnState.
Before each kernel call the rows are grown (by doubling) past the chunk's highest stream; the
kernel checks the shared pools' room before every frame and, should one be short, returns where
it stopped: the pool is doubled and the kernel resumes there (one call per chunk once the pools
have grown to what the capture needs).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from analysis.conn.zeek import ACK, FIN, RST, SYN
from analysis.conn.connections import LIKELY_SERVER_PORTS
from analysis.columnar.conn import pools as P
from analysis.columnar.columns import (MAL_TCP_INVALID, MAL_TCP_OPTIONS, ConnectionTable, FrameColumns,
                                       TcpColumns)
from analysis.columnar.conn.endpoint import flip
from analysis.columnar.conn.packet import checksum_error, packet
from analysis.columnar.conn.pools import JIT, addr_intern
from analysis.columnar.conn.table import ConnState, summarize, connections_from_table

__all__ = ["ConnStage", "connections_from_table", "ConnState"]


@njit(**JIT)
def want_flip(sport, dport, flags, likely, flip_syn_ack):
    """connections.want_flip (TCP.cc WantConnection); likely[port] != 0 for likely servers."""
    if flags & SYN and not flags & ACK:
        return False
    if flags & SYN and flip_syn_ack and not flags & (FIN | RST):
        return True
    if likely[sport]:
        if likely[dport]:
            return not flags & SYN and sport < dport
        return True
    return False


@njit(**JIT, inline="always")
def closing(s, e, flags, conn_i8):
    """ConnectionTracker._closing: who sent the first FIN / RST (endpoint indices)."""
    if flags & FIN and not (conn_i8[s, P.FIN_EPS] >> e) & 1:
        conn_i8[s, P.FIN_EPS] |= 1 << e
        if conn_i8[s, P.FIRST_FIN] < 0:
            conn_i8[s, P.FIRST_FIN] = e
    if flags & RST and conn_i8[s, P.FIRST_RST] < 0:
        conn_i8[s, P.FIRST_RST] = e
        conn_i8[s, P.FIN_BEFORE_RST] = 1 if conn_i8[s, P.FIRST_FIN] >= 0 else 0


@njit(**JIT, inline="always")
def _no_room(s, conn_i64, blk_lo, chunk_prev, counters, addr_fam, meta):
    return (s >= conn_i64.shape[0]
            or addr_fam.shape[0] - meta[P.M_ADDR_N] < P.ROOM_ADDR
            or (meta[P.M_BLK_FREE] < 0 and blk_lo.shape[0] - meta[P.M_BLK_TOP] < P.ROOM_BLK)
            or chunk_prev.shape[0] - meta[P.M_CHUNK_TOP] < P.ROOM_CHUNK
            or counters.shape[0] - meta[P.M_CNT_TOP] < P.ROOM_CNT)


@njit(**JIT, inline="always")
def set_endpoints(s, fam, src_hi, src_lo, sport, dst_hi, dst_lo, dport, conn_u32, conn_u16,
                  addr_fam, addr_hi, addr_lo, addr_hash, meta):
    """Endpoint 0 is (src, sport), endpoint 1 (dst, dport); addresses interned."""
    conn_u32[s, P.ADDR_0] = addr_intern(fam, src_hi, src_lo, addr_fam, addr_hi, addr_lo,
                                        addr_hash, meta)
    conn_u32[s, P.ADDR_1] = addr_intern(fam, dst_hi, dst_lo, addr_fam, addr_hi, addr_lo,
                                        addr_hash, meta)
    conn_u16[s, P.PORT_0] = sport
    conn_u16[s, P.PORT_1] = dport


@njit(**JIT)
def conn_chunk(first, ts_ns, family, src_hi, src_lo, dst_hi, dst_lo, sport, dport, tcp_flags,
               seq, ack, window, payload_len, payload_cap, checksum, malformed, stream,
               ignore_checksums, strict_checksums, flip_syn_ack, likely,
               conn_i64, conn_u32, conn_u16, conn_i32, conn_i8, conn_hist,
               ep_i64, ep_u32, ep_i32, ep_i8, blk_lo, blk_hi, blk_next, chunk_text, chunk_prev,
               counters, addr_fam, addr_hi, addr_lo, addr_hash, meta):
    """ConnectionTracker.process for frames first.. of a chunk. Returns the index it stopped at
    (len: done; less: a pool needs to grow first - the wrapper grows it and calls again)."""
    n = stream.shape[0]
    for i in range(first, n):
        s = stream[i]
        flags = np.int64(tcp_flags[i])
        if s < 0 or flags < 0:
            continue                   # not a TCP frame with TCP analysis
        if _no_room(s, conn_i64, blk_lo, chunk_prev, counters, addr_fam, meta):
            return i
        ts = ts_ns[i]
        if conn_i64[s, P.FRAMES] == 0:
            conn_i64[s, P.START_NS] = ts
            conn_i64[s, P.LAST_NS] = ts
            set_endpoints(s, family[i], src_hi[i], src_lo[i], sport[i], dst_hi[i], dst_lo[i],
                          dport[i], conn_u32, conn_u16, addr_fam, addr_hi, addr_lo, addr_hash,
                          meta)
        conn_i64[s, P.FRAMES] += 1

        # tshark's initial RTT: most recent SYN to the first ACK without SYN
        if flags & SYN:
            if not flags & ACK and conn_i8[s, P.IRTT_STATE] != 2:
                conn_i64[s, P.SYN_IRTT] = ts
                conn_i8[s, P.IRTT_STATE] = 1
        elif conn_i8[s, P.IRTT_STATE] == 1 and flags & ACK:
            conn_i64[s, P.SYN_IRTT] = ts - conn_i64[s, P.SYN_IRTT]
            conn_i8[s, P.IRTT_STATE] = 2

        if MAL_TCP_OPTIONS <= malformed[i] <= MAL_TCP_INVALID:
            continue                   # Zeek drops a packet whose TCP header is cut or invalid
        if not conn_i8[s, P.HAS_ZEEK]:
            # ZeekTcp(src, sport, dst, dport, flip): endpoint 0 is this frame's sender
            conn_i8[s, P.HAS_ZEEK] = 1
            set_endpoints(s, family[i], src_hi[i], src_lo[i], sport[i], dst_hi[i], dst_lo[i],
                          dport[i], conn_u32, conn_u16, addr_fam, addr_hi, addr_lo, addr_hash,
                          meta)
            if want_flip(sport[i], dport[i], flags, likely, flip_syn_ack):
                flip(s, conn_i8, conn_u32, conn_i32, conn_hist, chunk_text, chunk_prev, meta)
        oe = np.int64(conn_i8[s, P.ORIG_EP])
        oa = conn_u32[s, P.ADDR_0 + oe]
        is_orig = (sport[i] == conn_u16[s, P.PORT_0 + oe] and src_lo[i] == addr_lo[oa]
                   and src_hi[i] == addr_hi[oa] and family[i] == addr_fam[oa])
        e = oe if is_orig else 1 - oe
        # checksum 2 is the offload pattern: bad only when strict (ConnectionTracker's rule)
        if (checksum[i] == 0 or (checksum[i] == 2 and strict_checksums)) and not ignore_checksums:
            checksum_error(s, e, conn_i8, conn_u32, conn_i32, conn_hist, chunk_text, chunk_prev,
                           meta, counters)
            continue
        if not (ep_i8[s, 0, P.DID_CLOSE] and ep_i8[s, 1, P.DID_CLOSE]):
            conn_i64[s, P.LAST_NS] = ts
        if flags & (FIN | RST):
            closing(s, e, flags, conn_i8)
        packet(s, is_orig, flags, seq[i], ack[i], window[i], np.int64(payload_len[i]),
               payload_cap[i] >= payload_len[i], conn_i8, conn_u16, conn_u32, conn_i32, conn_hist,
               ep_i64, ep_u32, ep_i32, ep_i8, blk_lo, blk_hi, blk_next, chunk_text, chunk_prev,
               counters, meta)
    return n


class ConnStage:
    """Zeek conn_state/history per tcp.stream over FrameColumns + TcpColumns (mirrors
    ConnectionTracker; the same options)."""

    def __init__(self, *, ignore_checksums: bool = False, strict_checksums: bool = False,
                 likely_server_ports: frozenset[int] = LIKELY_SERVER_PORTS,
                 flip_syn_ack: bool = True) -> None:
        self._ignore_checksums = bool(ignore_checksums)
        self._strict_checksums = bool(strict_checksums)
        self._flip_syn_ack = bool(flip_syn_ack)
        self._likely = np.zeros(65536, np.uint8)
        ports = [p for p in likely_server_ports if 0 <= p < 65536]
        self._likely[ports] = 1
        self.state = ConnState()

    def run(self, cols: FrameColumns, tcp: TcpColumns) -> None:
        """Process one chunk (successive chunks in capture order)."""
        n = len(tcp.stream)
        if n == 0:
            return
        top = int(tcp.stream.max())
        if top < 0:
            return
        st = self.state
        done, stuck = 0, False
        while done < n:
            st.reserve(top + 1, double=stuck)
            before = done
            done = conn_chunk(
                done, cols.ts_ns, cols.family, cols.src_hi, cols.src_lo, cols.dst_hi,
                cols.dst_lo, cols.sport, cols.dport, cols.tcp_flags, cols.seq, cols.ack,
                cols.window, cols.payload_len, cols.payload_cap, cols.checksum, cols.malformed,
                tcp.stream, self._ignore_checksums, self._strict_checksums, self._flip_syn_ack,
                self._likely,
                *st.arrays())
            stuck = done == before     # reserve() made no room: cannot happen; never loops
        if st.meta[P.M_ERROR]:
            raise RuntimeError("ConnStage: a state pool overflowed (a bug in its room estimate)")

    def finish(self) -> ConnectionTable:
        """One row per connection seen, ordered by id."""
        return summarize(self.state)
