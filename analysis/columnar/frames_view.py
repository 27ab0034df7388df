"""The columnar engine's per-frame results as rows or as one table, for people and for tests.

    table = collect(Scan(path))            # FrameTable: every batch's columns, concatenated (copies)
    df = table.to_dataframe()              # pandas, one row per frame, like Analysis.to_dataframe()
    for row in rows(batch, first_ts):      # FrameRow per frame of one batch (slow: tests, bench checks)

Strings are made per distinct value, not per frame: a column of codes becomes a pandas
Categorical, and addresses are formatted once per distinct address. Non-IP frames (ARP, ...)
have empty src/dst here: the engine keeps no MAC addresses (the per-frame pipeline has them).
"""
from __future__ import annotations

from typing import Iterator, NamedTuple

import numpy as np

from analysis.frame_text import flags_text
from analysis.model import LabeledFrame

from analysis.columnar.columns import (ANALYSIS_FLAGS, DIRECTIONS, LABELS, MALFORMED, PHASES, PROTOS,
                                       FrameColumns, LabelColumns, TcpColumns, analysis_names, ip_text,
                                       malformed_name)

_FLAGS_ARRAY = np.array([flags_text(bits) for bits in range(1 << 12)], dtype=object)


class FrameRow(NamedTuple):
    """The LabeledFrame fields the columnar engine has (see analysis.model.LabeledFrame)."""

    number: int
    time: float
    rel_time: float
    sport: int | None
    dport: int | None
    proto: str
    tcp_flags: int                  # 0 without a TCP header
    len: int
    payload_len: int
    phase: str
    label: str
    direction: str | None
    analysis: tuple[str, ...]
    conn: int | None
    seq: int | None
    ack: int | None
    seq_raw: int | None
    ack_raw: int | None
    window: int | None
    truncated: bool
    malformed: str | None           # the code (vocabulary.MALFORMED); the message is the reference's


def row_of(frame: LabeledFrame) -> FrameRow:
    """The FrameRow the per-frame engine's LabeledFrame gives: what the engines are compared on."""
    return FrameRow(*(getattr(frame, name) for name in FrameRow._fields[:-1]),
                    None if frame.malformed is None else frame.malformed.code)


def rows(frames: FrameColumns, tcp: TcpColumns, labels: LabelColumns,
         first_ts: int) -> Iterator[FrameRow]:
    """One FrameRow per frame (Python objects: for checks, not for speed)."""
    names: dict[int, tuple[str, ...]] = {}
    for i in range(len(frames.number)):
        is_tcp = tcp.stream[i] >= 0
        has_tcp = frames.tcp_flags[i] >= 0
        bits = int(tcp.analysis[i])
        if bits not in names:
            names[bits] = analysis_names(bits)
        ts = int(frames.ts_ns[i])
        direction = int(labels.direction[i])
        yield FrameRow(
            number=int(frames.number[i]), time=ts / 1e9, rel_time=(ts - first_ts) / 1e9,
            sport=None if frames.sport[i] < 0 else int(frames.sport[i]),
            dport=None if frames.dport[i] < 0 else int(frames.dport[i]),
            proto=PROTOS[frames.proto[i]],
            tcp_flags=int(frames.tcp_flags[i]) if has_tcp else 0,
            len=int(frames.wirelen[i]), payload_len=int(frames.payload_len[i]),
            phase=PHASES[labels.phase[i]], label=LABELS[labels.label[i]],
            direction=None if direction < 0 else DIRECTIONS[direction], analysis=names[bits],
            conn=int(tcp.stream[i]) if is_tcp else None,
            seq=int(tcp.seq_rel[i]) if is_tcp else None,
            ack=int(tcp.ack_rel[i]) if is_tcp else None,
            seq_raw=int(frames.seq[i]) if has_tcp else None,
            ack_raw=int(frames.ack[i]) if has_tcp else None,
            window=int(tcp.window[i]) if is_tcp else None,
            truncated=bool(frames.truncated[i]), malformed=malformed_name(int(frames.malformed[i])))


class FrameTable(NamedTuple):
    """Every frame of a scan: the batches' columns concatenated."""

    frames: FrameColumns
    tcp: TcpColumns
    labels: LabelColumns

    def rows(self) -> Iterator[FrameRow]:
        first = int(self.frames.ts_ns[0]) if len(self.frames.number) else 0
        return rows(self.frames, self.tcp, self.labels, first)

    def to_dataframe(self):
        """A pandas DataFrame, one row per frame, indexed by frame number."""
        import pandas as pd

        f, t, lab = self.frames, self.tcp, self.labels
        ts = f.ts_ns
        is_tcp = t.stream >= 0
        out = pd.DataFrame({
            "number": f.number, "time": ts / 1e9,
            "rel_time": (ts - (ts[0] if len(ts) else 0)) / 1e9,
            "src": _addresses(f.family, f.src_hi, f.src_lo),
            "dst": _addresses(f.family, f.dst_hi, f.dst_lo),
            "sport": _nullable(f.sport, f.sport >= 0, "Int32"),
            "dport": _nullable(f.dport, f.dport >= 0, "Int32"),
            "proto": pd.Categorical.from_codes(f.proto, PROTOS),
            "tcp_flags": np.where(f.tcp_flags >= 0, f.tcp_flags, 0),
            "flags": pd.Categorical(_FLAGS_ARRAY[np.where(f.tcp_flags >= 0, f.tcp_flags, 0)]),
            "len": f.wirelen, "payload_len": f.payload_len,
            "phase": pd.Categorical.from_codes(lab.phase, PHASES),
            "label": pd.Categorical.from_codes(lab.label, LABELS),
            "direction": pd.Categorical.from_codes(lab.direction, DIRECTIONS),
            "analysis": t.analysis,
            "conn": _nullable(t.stream, is_tcp, "Int64"),
            "seq": _nullable(t.seq_rel, is_tcp, "Int64"),
            "ack": _nullable(t.ack_rel, is_tcp, "Int64"),
            "window": _nullable(t.window, is_tcp, "Int64"),
            "truncated": f.truncated,
            # code 0 is "no malformed reason": NA
            "malformed": pd.Categorical.from_codes(f.malformed.astype(np.int64) - 1, MALFORMED),
        })
        out.attrs["analysis_flags"] = ANALYSIS_FLAGS   # bit i of "analysis" is this name
        return out.set_index("number", drop=False)


def _nullable(values: np.ndarray, present: np.ndarray, dtype: str):
    """A pandas nullable integer array ("Int32", "Int64"): NA where `present` is False."""
    import pandas as pd

    return pd.arrays.IntegerArray(values.astype(dtype.lower()), ~present)


def address_texts(family: np.ndarray, hi: np.ndarray, lo: np.ndarray) -> tuple[list[str], np.ndarray]:
    """(texts, codes): each distinct address formatted once ("" where family is 0), and per
    row the index of its text."""
    if not len(family):
        return [], np.zeros(0, np.int64)
    keys = np.stack([family.astype(np.uint64), hi, lo], axis=1)
    uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
    texts = ["" if fam == 0 else ip_text(int(fam), int(h), int(l)) for fam, h, l in uniq]
    return texts, np.asarray(inverse).ravel()


def _addresses(family: np.ndarray, hi: np.ndarray, lo: np.ndarray):
    """Address text per frame as a Categorical."""
    import pandas as pd

    texts, codes = address_texts(family, hi, lo)
    categories = list(dict.fromkeys(texts))
    index = {text: i for i, text in enumerate(categories)}
    remap = np.array([index[t] for t in texts], dtype=np.int64)
    return pd.Categorical.from_codes(remap[codes] if len(codes) else codes, categories)


def collect(scan) -> FrameTable:
    """Run `scan` (an engine.Scan) and keep every frame's columns (memory grows with the file)."""
    parts: list[tuple] = []
    for batch in scan.batches():
        parts.append(tuple(tuple(np.array(c, copy=True) for c in group)
                           for group in (batch.frames, batch.tcp, batch.labels)))
    if not parts:
        from analysis.columnar.columns import empty_frames
        from analysis.columnar.columns import tcp_from_infos

        empty_labels = LabelColumns(np.zeros(0, np.uint8), np.zeros(0, np.uint8),
                                    np.zeros(0, np.int8), np.zeros(0, np.bool_))
        return FrameTable(empty_frames(0), tcp_from_infos([]), empty_labels)
    groups = list(zip(*parts))
    return FrameTable(FrameColumns(*(np.concatenate(c) for c in zip(*groups[0]))),
                      TcpColumns(*(np.concatenate(c) for c in zip(*groups[1]))),
                      LabelColumns(*(np.concatenate(c) for c in zip(*groups[2]))))
