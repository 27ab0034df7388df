"""ConnStage's state arrays (owned and grown here) and its summary: ConnectionTable / Connection.

Mirrors analysis/conn/connections.py's ConnectionTracker._summary and conn_state() and
conn_zeek.Endpoint.size(), as one numba pass over the connections (`summarize`); the layout of
the arrays of ConnState is described in conn_pools.py.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from analysis.conn.zeek import (CLOSED, ESTABLISHED, INACTIVE, PARTIAL, RESET, SYN_ACK_SENT,
                                SYN_SENT)
from analysis.model import Connection
from analysis.columnar.conn import pools as P
from analysis.columnar.columns import CONN_ENDS, CONN_STATES, SIDES, ConnectionTable, ip_text
from analysis.columnar.conn.pools import JIT, addr_rehash, hist_copy

# the summary kernel's codes: indices into CONN_STATES / CONN_ENDS (vocabulary.py's order)
K_S0, K_S1, K_SF, K_REJ = (CONN_STATES.index(n) for n in ("S0", "S1", "SF", "REJ"))
K_S2, K_S3, K_RSTO, K_RSTR = (CONN_STATES.index(n) for n in ("S2", "S3", "RSTO", "RSTR"))
K_RSTOS0, K_RSTRH, K_SH, K_SHR, K_OTH = (CONN_STATES.index(n) for n in ("RSTOS0", "RSTRH", "SH", "SHR", "OTH"))
K_FIN_BOTH, K_FIN_ONE, K_FIN_RST = (CONN_ENDS.index(n) for n in ("fin-both", "fin-one", "fin-rst"))
K_RST, K_OPEN = CONN_ENDS.index("rst"), CONN_ENDS.index("open")
_ORIG_SIDE, _RESP_SIDE = SIDES.index("orig"), SIDES.index("resp")
_NOT_IN_RSTOS0 = tuple(ord(c) for c in "HAFGIQ")   # Zeek's /^?S[^HAFGIQ]*R.*/


def _row(shape, dtype, **fills):
    row = np.zeros(shape, dtype)
    for column, value in fills.items():
        row[..., getattr(P, column)] = value
    return row


# a new connection's row: Endpoint.__init__ / _Conn.__init__ defaults
_ROWS = {
    "conn_i64": _row(P.N_CONN_I64, np.int64),
    "conn_u32": _row(P.N_CONN_U32, np.uint32),
    "conn_u16": _row(P.N_CONN_U16, np.uint16),
    "conn_i32": _row(P.N_CONN_I32, np.int32, HIST_TAIL=-1, COUNTERS=-1),
    "conn_i8": _row(P.N_CONN_I8, np.int8, FIRST_FIN=-1, FIRST_RST=-1),
    "conn_hist": _row(P.HIST_INLINE, np.uint8),
    "ep_i64": _row((2, P.N_EP_I64), np.int64, DELIVERED=1, TRIM=1),
    "ep_u32": _row((2, P.N_EP_U32), np.uint32),
    "ep_i32": _row((2, P.N_EP_I32), np.int32, BLOCKS=-1),
    "ep_i8": _row((2, P.N_EP_I8), np.int8),
}
_POOLS = {   # name: (dtype, row shape)
    "blk_lo": (np.int64, ()), "blk_hi": (np.int64, ()), "blk_next": (np.int32, ()),
    "chunk_text": (np.uint8, (P.CHUNK,)), "chunk_prev": (np.int32, ()),
    "counters": (np.uint32, (8,)),
    "addr_fam": (np.uint8, ()), "addr_hi": (np.uint64, ()), "addr_lo": (np.uint64, ()),
}
_ORDER = tuple(_ROWS) + ("blk_lo", "blk_hi", "blk_next", "chunk_text", "chunk_prev", "counters",
                         "addr_fam", "addr_hi", "addr_lo", "addr_hash", "meta")


def _grown(arr: np.ndarray, cap: int, fill) -> np.ndarray:
    new = np.empty((cap,) + arr.shape[1:], arr.dtype)
    new[:len(arr)] = arr
    new[len(arr):] = fill
    return new


class ConnState:
    """The state arrays of ConnStage: per-connection rows and the shared pools (conn_pools.py)."""

    def __init__(self, conns: int = 64, pool: int = 64) -> None:
        for name, row in _ROWS.items():
            setattr(self, name, np.empty((conns,) + row.shape, row.dtype))
            getattr(self, name)[:] = row
        for name, (dtype, shape) in _POOLS.items():
            setattr(self, name, np.zeros((pool,) + shape, dtype))
        self.addr_hash = np.full(2 * pool, -1, np.int32)
        self.meta = np.zeros(P.M_SIZE, np.int64)
        self.meta[P.M_BLK_FREE] = -1

    def arrays(self) -> tuple[np.ndarray, ...]:
        """The arrays in the order the kernels take them."""
        return tuple(getattr(self, name) for name in _ORDER)

    def reserve(self, conns: int, double: bool = False) -> None:
        """Rows for streams < `conns`, and each pool doubled while it has less free room than
        one frame may need (conn_pools.ROOM_*); `double` doubles every array regardless.

        The kernel checks that room before each frame and stops where a pool is short, so the
        pools grow with what the capture needs rather than with a per-chunk worst case."""
        meta = self.meta
        if conns > len(self.conn_i64) or double:
            cap = max(conns, 2 * len(self.conn_i64))
            for name, row in _ROWS.items():
                setattr(self, name, _grown(getattr(self, name), cap, row))
        blk_short = meta[P.M_BLK_FREE] < 0 and len(self.blk_lo) - meta[P.M_BLK_TOP] < P.ROOM_BLK
        short = {("blk_lo", "blk_hi", "blk_next"): blk_short,
                 ("chunk_text", "chunk_prev"):
                     len(self.chunk_prev) - meta[P.M_CHUNK_TOP] < P.ROOM_CHUNK,
                 ("counters",): len(self.counters) - meta[P.M_CNT_TOP] < P.ROOM_CNT,
                 ("addr_fam", "addr_hi", "addr_lo"):
                     len(self.addr_fam) - meta[P.M_ADDR_N] < P.ROOM_ADDR}
        for names, is_short in short.items():
            if is_short or double:
                cap = 2 * len(getattr(self, names[0]))
                for name in names:
                    setattr(self, name, _grown(getattr(self, name), cap, 0))
        size = 1 << int(2 * len(self.addr_fam) - 1).bit_length()
        if size > len(self.addr_hash):
            self.addr_hash = np.full(size, -1, np.int32)
            addr_rehash(self.addr_fam, self.addr_hi, self.addr_lo, meta[P.M_ADDR_N],
                        self.addr_hash)

    def nbytes_per_connection(self) -> int:
        """Bytes of the fixed per-connection rows (the pools come on top, shared)."""
        return sum(getattr(self, name)[0].nbytes for name in _ROWS)

    def pool_bytes_used(self) -> dict[str, int]:
        """Bytes of the pools' live entries, by pool (the address table at its load of 1/2)."""
        meta = self.meta
        return {"blocks": int(meta[P.M_BLK_LIVE]) * 20,
                "history": int(meta[P.M_CHUNK_TOP]) * (P.CHUNK + 4),
                "counters": int(meta[P.M_CNT_TOP]) * 32,
                "addresses": int(meta[P.M_ADDR_N]) * (17 + 2 * 4)}

    def nbytes(self) -> int:
        """Bytes of every array as allocated (capacity, not use)."""
        return sum(a.nbytes for a in self.arrays())


# --- the summary ---------------------------------------------------------------------------------
@njit(**JIT)
def _size(s, e, p, ep_i64, ep_i8):
    """Endpoint.size(): the sequence space covered, without SYN and FIN."""
    ack_rel = ep_i64[s, e, P.ACK_REL]
    if (ep_i8[s, e, P.PREV_STATE] == SYN_SENT and ep_i8[s, e, P.STATE] == RESET
            and ep_i8[s, p, P.STATE] == INACTIVE and not (ack_rel == 0 or ack_rel == 1)):
        return 0
    size = max(ep_i64[s, e, P.LAST_REL], ack_rel, 0)
    if size:
        size -= 1
    if ep_i8[s, e, P.FIN_SEEN] and size:
        size -= 1
    return size


@njit(**JIT)
def _rstos0(hist):
    """Zeek's history pattern /^?S[^HAFGIQ]*R.*/ (fullmatch) on the letters `hist`."""
    j = 1 if len(hist) > 0 and hist[0] == 94 else 0        # '^'
    if j >= len(hist) or hist[j] != 83:                      # 'S'
        return False
    for k in range(j + 1, len(hist)):
        c = hist[k]
        if c == 82:                                          # 'R'
            return True
        for bad in _NOT_IN_RSTOS0:
            if c == bad:
                return False
    return False


@njit(**JIT)
def _conn_state(o, r, o_size, r_size, hist):
    """connections.conn_state, TCP branch of main.zeek."""
    o_inactive = o == INACTIVE or o == PARTIAL
    r_inactive = r == INACTIVE or r == PARTIAL
    if r == RESET:
        if o == SYN_SENT or o == SYN_ACK_SENT or (o == RESET and o_size == 0 and r_size == 0):
            return K_REJ
        return K_RSTRH if o_inactive else K_RSTR
    if o == RESET:
        if r_inactive:
            return K_RSTOS0 if _rstos0(hist) else K_OTH
        return K_RSTO
    if r == CLOSED and o == CLOSED:
        return K_SF
    if o == CLOSED:
        return K_SH if r_inactive else K_S2
    if r == CLOSED:
        return K_SHR if o_inactive else K_S3
    if o == SYN_SENT and r == INACTIVE:
        return K_S0
    if o == ESTABLISHED and r == ESTABLISHED:
        return K_S1
    return K_OTH


@njit(**JIT)
def _summary(ids, off, buf, conn_u32, conn_i32, conn_i8, conn_hist, ep_i64, ep_u32, ep_i8,
             chunk_text, chunk_prev, orig_ep, state, o_bytes, r_bytes, o_pkts, r_pkts, closed,
             end):
    """_summary per connection (ids[k] -> row k of the outputs); history letters into buf."""
    for k in range(ids.shape[0]):
        s = ids[k]
        hist_copy(s, buf, off[k], conn_u32, conn_i32, conn_hist, chunk_text, chunk_prev)
        o = np.int64(conn_i8[s, P.ORIG_EP])
        r = 1 - o
        orig_ep[k] = o
        if not conn_i8[s, P.HAS_ZEEK]:
            state[k] = K_OTH             # every frame had a cut TCP header: no Zeek state
        else:
            o_bytes[k] = _size(s, o, r, ep_i64, ep_i8)
            r_bytes[k] = _size(s, r, o, ep_i64, ep_i8)
            o_pkts[k] = ep_u32[s, o, P.PKTS]
            r_pkts[k] = ep_u32[s, r, P.PKTS]
            state[k] = _conn_state(ep_i8[s, o, P.STATE], ep_i8[s, r, P.STATE], o_bytes[k],
                                   r_bytes[k], buf[off[k]:off[k + 1]])
        closer = conn_i8[s, P.FIRST_FIN] if conn_i8[s, P.FIRST_FIN] >= 0 else \
            conn_i8[s, P.FIRST_RST]
        closed[k] = -1 if closer < 0 else (_ORIG_SIDE if closer == o else _RESP_SIDE)
        fin_eps = conn_i8[s, P.FIN_EPS]
        if conn_i8[s, P.FIRST_RST] >= 0:
            end[k] = K_FIN_RST if conn_i8[s, P.FIN_BEFORE_RST] else K_RST
        elif fin_eps == 3:
            end[k] = K_FIN_BOTH
        elif fin_eps:
            end[k] = K_FIN_ONE
        else:
            end[k] = K_OPEN


def summarize(st: ConnState) -> ConnectionTable:
    """ConnectionTracker.finish() as a ConnectionTable (connections seen, by id)."""
    ids = np.flatnonzero(st.conn_i64[:, P.FRAMES] > 0)
    m = len(ids)
    off = np.zeros(m + 1, np.int64)
    np.cumsum(st.conn_u32[ids, P.HIST_LEN], out=off[1:])
    buf = np.empty(int(off[-1]), np.uint8)
    orig_ep = np.zeros(m, np.int64)
    state = np.zeros(m, np.uint8)
    o_bytes, r_bytes, o_pkts, r_pkts = (np.zeros(m, np.int64) for _ in range(4))
    closed = np.zeros(m, np.int8)
    end = np.zeros(m, np.uint8)
    _summary(ids, off, buf, st.conn_u32, st.conn_i32, st.conn_i8, st.conn_hist, st.ep_i64,
             st.ep_u32, st.ep_i8, st.chunk_text, st.chunk_prev, orig_ep, state, o_bytes, r_bytes,
             o_pkts, r_pkts, closed, end)
    orig_addr = st.conn_u32[ids, P.ADDR_0 + orig_ep].astype(np.int64)
    resp_addr = st.conn_u32[ids, P.ADDR_1 - orig_ep].astype(np.int64)
    text = buf.tobytes().decode("ascii")
    # most connections share a history ("ShADadFf"): one str object per distinct history
    seen: dict[str, str] = {}
    history = np.fromiter((seen.setdefault(h, h) for h in
                           (text[a:b] for a, b in zip(off[:-1].tolist(), off[1:].tolist()))),
                          dtype=object, count=m)
    c64 = st.conn_i64[ids]
    syn_irtt = c64[:, P.SYN_IRTT]
    return ConnectionTable(
        id=ids.astype(np.int64), family=st.addr_fam[orig_addr],
        orig_hi=st.addr_hi[orig_addr], orig_lo=st.addr_lo[orig_addr],
        orig_port=st.conn_u16[ids, P.PORT_0 + orig_ep].astype(np.int32),
        resp_hi=st.addr_hi[resp_addr], resp_lo=st.addr_lo[resp_addr],
        resp_port=st.conn_u16[ids, P.PORT_1 - orig_ep].astype(np.int32),
        conn_state=state.astype(np.uint8), history=history,
        start_ns=c64[:, P.START_NS].copy(), duration_ns=c64[:, P.LAST_NS] - c64[:, P.START_NS],
        orig_pkts=o_pkts, orig_bytes=o_bytes, resp_pkts=r_pkts, resp_bytes=r_bytes,
        irtt_ns=np.where(st.conn_i8[ids, P.IRTT_STATE] == 2, syn_irtt, -1),
        closed_by=closed, end=end.astype(np.uint8), frames=c64[:, P.FRAMES].copy())


def _fmt(ip: str, port: int) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def connections_from_table(table: ConnectionTable) -> list[Connection]:
    """Connection records of a ConnectionTable (frames=(): the table only counts them)."""
    texts: dict[tuple[int, int, int], str] = {}

    def ip(fam: int, hi: int, lo: int) -> str:
        key = (fam, hi, lo)
        if key not in texts:
            texts[key] = ip_text(fam, hi, lo)
        return texts[key]

    cols = {name: getattr(table, name).tolist() for name in ConnectionTable._fields}
    out = []
    for k in range(len(table.id)):
        fam = cols["family"][k]
        src = ip(fam, cols["orig_hi"][k], cols["orig_lo"][k])
        dst = ip(fam, cols["resp_hi"][k], cols["resp_lo"][k])
        sport, dport = cols["orig_port"][k], cols["resp_port"][k]
        irtt, closed = cols["irtt_ns"][k], cols["closed_by"][k]
        out.append(Connection(
            id=cols["id"][k], orig=_fmt(src, sport), resp=_fmt(dst, dport), orig_ip=src,
            orig_port=sport, resp_ip=dst, resp_port=dport,
            conn_state=CONN_STATES[cols["conn_state"][k]], history=cols["history"][k],
            start=cols["start_ns"][k] / 1e9, duration=cols["duration_ns"][k] / 1e9,
            orig_pkts=cols["orig_pkts"][k], orig_bytes=cols["orig_bytes"][k],
            resp_pkts=cols["resp_pkts"][k], resp_bytes=cols["resp_bytes"][k],
            irtt=None if irtt == -1 else irtt / 1e9,
            closed_by=None if closed < 0 else SIDES[closed], end=CONN_ENDS[cols["end"][k]],
            frames=()))
    return out
