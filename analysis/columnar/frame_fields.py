"""The one place columns become LabeledFrame field values: per chunk, one list per field.

`field_values(c, rows, ...)` turns a chunk's stored columns (labeled.FrameStore) into the values
of LabeledFrame's fields, in LabeledFrame's order, or of only the fields asked for: a pass that
reads three fields of every frame (the IO graph, the conversations) pays for those three, not
for 28 fields and a record per frame.

A few rows need fields the columns do not hold (non-IP frames' MAC addresses and ARP header,
malformed frames' code and message, IP protocols without a decoded transport, SACK edges): the
FrameStore keeps those aside while their chunk is in memory (aside.py: a plain ARP frame's first
42 bytes, or what the per-frame decoder said), and they replace the column values here.
"""
from __future__ import annotations

from itertools import repeat
from typing import Callable, Iterable

import numpy as np

from analysis.frame_text import flags_text
from analysis.model import LabeledFrame, TcpOptions

from analysis.columnar.aside import Aside
from analysis.columnar.columns import (DIRECTIONS, LABELS, MAL_NONE, P_ICMP, P_ICMPV6, P_TCP, P_UDP,
                                       PHASES, PROTOS, analysis_names, ip_text)

FIELDS = LabeledFrame._fields
FLAGS_TEXT = np.array([flags_text(bits) for bits in range(1 << 12)], dtype=object)
# LabeledFrame.ip_proto of the rows the columns give it for: their transport's IP protocol
_IP_PROTO = np.full(len(PROTOS), -1, np.int64)
_IP_PROTO[[P_TCP, P_UDP, P_ICMP, P_ICMPV6]] = (6, 17, 1, 58)
_PHASES = np.array(PHASES, dtype=object)
_LABELS = np.array(LABELS, dtype=object)
_PROTOS = np.array(PROTOS, dtype=object)
_DIRECTIONS = np.array(DIRECTIONS + (None,), dtype=object)


def needs_decoder(c: dict[str, np.ndarray], malformed: np.ndarray,
                   sack_blocks: np.ndarray) -> np.ndarray:
    """Rows whose src/dst, malformed reason, ARP header, IP protocol or SACK edges the columns
    cannot give."""
    proto = c["proto"]
    transport = (proto == P_TCP) | (proto == P_UDP) | (proto == P_ICMP) | (proto == P_ICMPV6)
    has_tcp = c["tcp_flags"] >= 0
    is_tcp = c["tcp_stream"] >= 0
    return ((c["family"] == 0) | (malformed != MAL_NONE) | ~transport | (sack_blocks > 0)
            | (has_tcp != is_tcp) | ((proto == P_TCP) & ~has_tcp))


class Addresses:
    """Address text per distinct (family, hi, lo), made once for the whole capture."""

    def __init__(self) -> None:
        self._texts: dict[tuple[int, int, int], str] = {}

    def texts(self, family: np.ndarray, hi: np.ndarray, lo: np.ndarray) -> list[str]:
        if not len(family):
            return []
        if int(family.max()) <= 4 and not hi.any():
            # no IPv6 here: (family, address) fits one 64-bit key, and a 1-D unique is fast
            key = (family.astype(np.uint64) << np.uint64(32)) | lo.astype(np.uint64)
            uniq1, inverse = np.unique(key, return_inverse=True)
            uniq = [(int(k) >> 32, 0, int(k) & 0xFFFFFFFF) for k in uniq1.tolist()]
        else:
            keys = np.stack([family.astype(np.uint64), hi.astype(np.uint64),
                             lo.astype(np.uint64)], axis=1)
            uniq3, inverse = np.unique(keys, axis=0, return_inverse=True)
            uniq = uniq3.tolist()
        names = np.empty(len(uniq), dtype=object)
        for k, (fam, h, l) in enumerate(uniq):
            key = (fam, h, l)
            text = self._texts.get(key)
            if text is None:
                text = self._texts[key] = "" if fam == 0 else ip_text(fam, h, l)
            names[k] = text
        return names[np.asarray(inverse).ravel()].tolist()


def _nullable(values: np.ndarray, present: np.ndarray) -> list:
    if present.all():
        return values.tolist()
    out = values.astype(object)
    out[~present] = None
    return out.tolist()


class _Chunk:
    """One chunk's columns and what its field makers share (each made on first use)."""

    def __init__(self, c: dict[str, np.ndarray], first_ts: int, addresses: Addresses) -> None:
        self.c = c
        self.first_ts = first_ts
        self.addresses = addresses
        self._ts: np.ndarray | None = None

    @property
    def ts(self) -> np.ndarray:
        if self._ts is None:
            self._ts = self.c["ts_ns"].astype(np.int64)
        return self._ts

    @property
    def is_tcp(self) -> np.ndarray:      # a row of a TCP connection (tshark's tcp.stream)
        return self.c["tcp_stream"] >= 0

    @property
    def has_tcp(self) -> np.ndarray:     # a row with a TCP header
        return self.c["tcp_flags"] >= 0


def _analysis(k: _Chunk) -> list:
    bits, which = np.unique(k.c["tcp_analysis"], return_inverse=True)
    names = np.empty(len(bits), dtype=object)
    names[:] = [analysis_names(b) for b in bits.tolist()]
    return names[np.asarray(which).ravel()].tolist()


def _port(name: str) -> Callable[[_Chunk], list]:
    return lambda k: _nullable(k.c[name], k.c[name] >= 0)


def _tcp_options(k: _Chunk) -> list:
    """TcpOptions per row with a TCP header (None elsewhere); SACK edges are the decoder's."""
    c, has_tcp = k.c, k.has_tcp
    out: list = [None] * len(has_tcp)
    rows = np.flatnonzero(has_tcp)
    if not len(rows):
        return out
    mss, wscale = c["mss"][rows], c["wscale"][rows]
    ts_val, ts_ecr = c["ts_val"][rows], c["ts_ecr"][rows]
    # tuple.__new__ mapped over the rows: TcpOptions._make is a Python call per record
    made = list(map(tuple.__new__, repeat(TcpOptions), zip(
        _nullable(mss, mss >= 0), _nullable(wscale, wscale >= 0), c["sack_perm"][rows].tolist(),
        repeat((), len(rows)), _nullable(ts_val, ts_val >= 0), _nullable(ts_ecr, ts_ecr >= 0))))
    if len(rows) == len(out):
        return made
    for i, options in zip(rows.tolist(), made):
        out[i] = options
    return out


def _icmp_type(k: _Chunk) -> list:
    icmp = k.c["icmp_type"]
    return _nullable(icmp, icmp >= 0)


def _ip_proto(k: _Chunk) -> list:
    ip_proto = _IP_PROTO[k.c["proto"]]
    return _nullable(ip_proto, ip_proto >= 0)


def _nones(k: _Chunk) -> list:
    return [None] * len(k.c["number"])


_MAKERS: dict[str, Callable[[_Chunk], list]] = {
    "number": lambda k: k.c["number"].tolist(),
    "time": lambda k: (k.ts / 1e9).tolist(),
    "rel_time": lambda k: ((k.ts - k.first_ts) / 1e9).tolist(),
    "src": lambda k: k.addresses.texts(k.c["family"], k.c["src_hi"], k.c["src_lo"]),
    "dst": lambda k: k.addresses.texts(k.c["family"], k.c["dst_hi"], k.c["dst_lo"]),
    "sport": _port("sport"), "dport": _port("dport"),
    "proto": lambda k: _PROTOS[k.c["proto"]].tolist(),
    "tcp_flags": lambda k: np.where(k.has_tcp, k.c["tcp_flags"].astype(np.int64), 0).tolist(),
    "len": lambda k: k.c["wirelen"].tolist(),
    "payload_len": lambda k: k.c["payload_len"].tolist(),
    "phase": lambda k: _PHASES[k.c["phase"]].tolist(),
    "label": lambda k: _LABELS[k.c["label"]].tolist(),
    "direction": lambda k: _DIRECTIONS[np.where(k.c["direction"] >= 0, k.c["direction"],
                                                len(_DIRECTIONS) - 1)].tolist(),
    "analysis": _analysis,
    "conn": lambda k: _nullable(k.c["tcp_stream"], k.is_tcp),
    "seq": lambda k: _nullable(k.c["tcp_seq_rel"], k.is_tcp),
    "ack": lambda k: _nullable(k.c["tcp_ack_rel"], k.is_tcp),
    "seq_raw": lambda k: _nullable(k.c["seq"], k.has_tcp),
    "ack_raw": lambda k: _nullable(k.c["ack"], k.has_tcp),
    "window": lambda k: _nullable(k.c["tcp_window"], k.is_tcp),
    "truncated": lambda k: k.c["truncated"].tolist(),
    "malformed": _nones, "arp": _nones, "tcp_options": _tcp_options,
    "icmp_type": _icmp_type, "ip_proto": _ip_proto,
}
assert tuple(_MAKERS) == FIELDS, "a LabeledFrame field without its maker (or out of order)"


def check_fields(names: Iterable[str]) -> tuple[str, ...]:
    names = tuple(names)
    unknown = [name for name in names if name not in _MAKERS]
    if unknown:
        raise ValueError(f"not LabeledFrame fields: {', '.join(unknown)} (fields: {', '.join(FIELDS)})")
    return names


def field_values(c: dict[str, np.ndarray], rows: np.ndarray, aside: Aside,
                 first_ts: int, addresses: Addresses,
                 names: tuple[str, ...] = FIELDS) -> dict[str, list]:
    """The values of the fields `names` (all of LabeledFrame's, in its order, by default) of the
    rows `c` holds (`rows`: their global row indexes), one list per field; the rows kept
    `aside` (aside.py) get theirs from there."""
    chunk = _Chunk(c, first_ts, addresses)
    out = {name: _MAKERS[name](chunk) for name in names}
    aside.apply(out, rows)
    return out
