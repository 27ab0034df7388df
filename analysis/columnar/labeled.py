"""LabeledFrame records made from the columnar engine's columns, on demand: `analyze()`'s frames.

    store = FrameStore()
    for batch in scan.batches():
        store.add(batch, scan)           # the columns a LabeledFrame needs, narrowed, to a temp file
    frames = LazyFrames(store, path)     # Sequence[LabeledFrame]: iterate, index, slice, where()

Memory does not grow with the capture: each chunk's columns go to an unlinked temporary file
(about 40 bytes a frame), and a LabeledFrame exists only while the caller holds it. Iterating
reads the chunks back in order and makes each chunk's records at once (lists from numpy, the
Info text per frame); indexing reads the one chunk holding the frame.

The decode kernel keeps every field a LabeledFrame has of the usual frames, TCP options (MSS,
window scale, SACK permitted, timestamps) included. A few frames need fields it does not hold:
non-IP frames (their MAC addresses, the ARP header), malformed frames (the code and message),
IP protocols without a transport we decode (ip_proto) and SACK blocks (their edges). Those rows
are decoded again by the per-frame decoder while their chunk is in memory (Scan.frame) and those
fields kept aside; on the captures we meet they are a handful (ARP, a loss's SACKs), and they
are what the per-frame pipeline says by construction. `frame_fields.field_values` is the one place
that turns columns into LabeledFrame fields; flags and Info are LabeledFrame's own views. A pass
that needs a few fields of every frame asks `field_chunks` for them and no record is made.
"""
from __future__ import annotations

import bisect
import gc
import tempfile
from collections.abc import Sequence
from itertools import repeat
from typing import Callable, NamedTuple

import numpy as np

from analysis.frame_text import info_texts
from analysis.model import Connection, LabeledFrame

from analysis.columnar.columns import PHASES
from analysis.columnar.aside import ARP_HEAD, Aside, Extra, plain_arp
from analysis.columnar.columns import MAL_NONE, P_ARP
from analysis.columnar.frame_fields import (FIELDS, FLAGS_TEXT, Addresses, check_fields,
                                            field_values, needs_decoder)

# (group, column, stored name): what a LabeledFrame is made from
_STORED = tuple(("frames", name, name) for name in (
    "number", "ts_ns", "family", "src_hi", "src_lo", "dst_hi", "dst_lo", "sport", "dport", "proto",
    "tcp_flags", "seq", "ack", "wscale", "mss", "sack_perm", "ts_val", "ts_ecr", "wirelen",
    "payload_len", "truncated", "icmp_type")) + tuple(("tcp", name, f"tcp_{name}") for name in (
    "stream", "seq_rel", "ack_rel", "analysis", "window")) + tuple(
    ("labels", name, name) for name in ("phase", "label", "direction"))
_INTS = (np.uint8, np.int8, np.uint16, np.int16, np.uint32, np.int32, np.int64, np.uint64)


class _Encoded(NamedTuple):
    kind: str          # "const" | "range" | "array"
    value: int         # the constant, the first value of the range, or the file offset
    dtype: str
    count: int


class FrameStore:
    """The stored columns of every chunk, in an unlinked temporary file, and the rows aside."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile(prefix="reqresp-frames-")
        self.starts: list[int] = []          # global row index of each chunk's first row
        self._chunks: list[dict[str, _Encoded]] = []
        self.aside = Aside()                 # the rows the columns cannot say all of
        self.count = 0
        self.first_ts = 0
        self._exchange_parts: list = []

    def add(self, batch, scan) -> None:
        """Keep one FrameBatch (scan: the Scan that yielded it, still on this batch)."""
        n = len(batch.frames.number)
        if not n:
            return
        groups = {"frames": batch.frames, "tcp": batch.tcp, "labels": batch.labels}
        c = {stored: getattr(groups[group], name) for group, name, stored in _STORED}
        if not self.count:
            self.first_ts = int(c["ts_ns"][0])
        need = np.flatnonzero(needs_decoder(c, batch.frames.malformed, batch.frames.sack_blocks))
        arp = need[(c["proto"][need] == P_ARP) & (batch.frames.malformed[need] == MAL_NONE)]
        if len(arp):
            # plain ARP: its first bytes are kept, its fields read from them on use (aside.py)
            heads, whole, linktypes = scan.heads(arp, ARP_HEAD)
            plain = plain_arp(heads, whole, linktypes)
            self.aside.add_arp(self.count + arp[plain], heads[plain])
            need = np.setdiff1d(need, arp[plain], assume_unique=True)
        for i in need.tolist():
            frame = scan.frame(i)
            if frame.net in ("ipv4", "ipv6"):
                src, dst = frame.src or "", frame.dst or ""
            else:
                src, dst = frame.eth_src or "", frame.eth_dst or ""
            self.aside.add_extra(self.count + i, Extra(
                src, dst, frame.malformed, frame.arp,
                frame.tcp.options() if frame.tcp is not None else None, frame.icmp_type,
                frame.ip_proto))
        self.starts.append(self.count)
        self._chunks.append({name: self._write(values) for name, values in c.items()})
        self.count += n

    def _write(self, values: np.ndarray) -> _Encoded:
        n = len(values)
        if values.dtype == np.bool_:
            dtype = np.bool_
        else:
            lo, hi = int(values.min()), int(values.max())
            if lo == hi:
                return _Encoded("const", lo, values.dtype.str, n)
            if n > 1 and hi - lo == n - 1 and values[0] == lo and np.all(np.diff(values) == 1):
                return _Encoded("range", lo, values.dtype.str, n)
            dtype = next(t for t in _INTS if np.iinfo(t).min <= lo and hi <= np.iinfo(t).max)
        offset = self._file.seek(0, 2)
        self._file.write(values.astype(dtype, copy=False).tobytes())
        return _Encoded("array", offset, np.dtype(dtype).str, n)

    def chunk(self, k: int) -> dict[str, np.ndarray]:
        """Chunk k's columns, read back (each in its stored, narrowest dtype)."""
        out = {}
        for name, enc in self._chunks[k].items():
            if enc.kind == "const":
                out[name] = np.full(enc.count, enc.value, dtype=np.dtype(enc.dtype))
            elif enc.kind == "range":
                out[name] = np.arange(enc.value, enc.value + enc.count, dtype=np.int64)
            else:
                self._file.seek(enc.value)
                out[name] = np.fromfile(self._file, dtype=np.dtype(enc.dtype), count=enc.count)
        return out

    def add_exchanges(self, part) -> None:
        """Keep one ExchangeColumns part (the engine's exchange_sink) in the file too."""
        fields = {name: self._write_raw(np.ascontiguousarray(values))
                  for name, values in part._asdict().items()}
        self._exchange_parts.append((type(part), fields))

    def exchange_parts(self) -> list:
        out = []
        for kind, fields in self._exchange_parts:
            values = {}
            for name, (offset, dtype, count) in fields.items():
                self._file.seek(offset)
                values[name] = np.fromfile(self._file, dtype=np.dtype(dtype), count=count)
            out.append(kind(**values))
        return out

    def _write_raw(self, values: np.ndarray) -> tuple[int, str, int]:
        offset = self._file.seek(0, 2)
        self._file.write(values.tobytes())
        return offset, values.dtype.str, len(values)

    def column(self, name: str) -> np.ndarray:
        """One stored column of every frame (memory: that column of the whole capture)."""
        parts = [self.chunk_column(k, name) for k in range(len(self._chunks))]
        return np.concatenate(parts) if parts else np.zeros(0, np.int64)

    def chunk_column(self, k: int, name: str) -> np.ndarray:
        enc = self._chunks[k][name]
        if enc.kind == "const":
            return np.full(enc.count, enc.value, dtype=np.dtype(enc.dtype))
        if enc.kind == "range":
            return np.arange(enc.value, enc.value + enc.count, dtype=np.int64)
        self._file.seek(enc.value)
        return np.fromfile(self._file, dtype=np.dtype(enc.dtype), count=enc.count)

    def close(self) -> None:
        self._file.close()


def _take(c: dict[str, np.ndarray], pick: np.ndarray) -> dict[str, np.ndarray]:
    return {name: values[pick] for name, values in c.items()}


class LazyFrames(Sequence):
    """Every LabeledFrame of a capture, made from the stored columns when asked for."""

    def __init__(self, store: FrameStore, path: str) -> None:
        self._store = store
        self.path = path
        self._addresses = Addresses()
        self._cached: tuple[int, list[LabeledFrame]] | None = None
        self._by_stream: tuple[np.ndarray, np.ndarray] | None = None
        self._columns: tuple[int, dict[str, np.ndarray]] | None = None

    def __len__(self) -> int:
        return self._store.count

    def __repr__(self) -> str:
        return f"<{len(self)} frames of {self.path}, made on demand>"

    def _chunk_columns(self, k: int) -> dict[str, np.ndarray]:
        # the last chunk read stays: a connection's frames (frames_of) sit in one or two chunks
        if self._columns is None or self._columns[0] != k:
            self._columns = (k, self._store.chunk(k))
        return self._columns[1]

    def _chunk_frames(self, k: int, pick: np.ndarray | None = None) -> list[LabeledFrame]:
        store = self._store
        c = self._chunk_columns(k) if pick is not None else store.chunk(k)
        rows = np.arange(store.starts[k], store.starts[k] + len(c["number"]), dtype=np.int64)
        if pick is not None:
            c, rows = _take(c, pick), rows[pick]
        # Tens of thousands of tuples at once would run the cyclic collector over and over
        # (each pass scanning the caller's objects too); records hold no cycles, so it waits.
        enabled = gc.isenabled()
        gc.disable()
        try:
            values = field_values(c, rows, store.aside, store.first_ts, self._addresses)
            return list(map(tuple.__new__, repeat(LabeledFrame), zip(*values.values())))
        finally:
            if enabled:
                gc.enable()

    def __iter__(self):
        for k in range(len(self._store.starts)):
            yield from self._chunk_frames(k)

    def field_chunks(self, names):
        """Chunk by chunk, the fields `names` of every frame (LabeledFrame field names), one list
        per field: what a pass over all frames that reads a few fields uses (no record made)."""
        names = check_fields(names)
        store = self._store
        for k in range(len(store.starts)):
            c = store.chunk(k)
            rows = np.arange(store.starts[k], store.starts[k] + len(c["number"]), dtype=np.int64)
            yield field_values(c, rows, store.aside, store.first_ts, self._addresses, names)

    def __getitem__(self, index):
        n = len(self)
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(n))] if index.step not in (None, 1) \
                else self._range(*index.indices(n)[:2])
        i = range(n)[index]        # a list's rules: negative from the end, IndexError past it
        k = bisect.bisect_right(self._store.starts, i) - 1
        if self._cached is None or self._cached[0] != k:
            self._cached = (k, self._chunk_frames(k))
        return self._cached[1][i - self._store.starts[k]]

    def _range(self, start: int, stop: int) -> list[LabeledFrame]:
        out: list[LabeledFrame] = []
        starts = self._store.starts
        for k in range(len(starts)):
            end = starts[k + 1] if k + 1 < len(starts) else len(self)
            if end <= start or starts[k] >= stop:
                continue
            lo, hi = max(start, starts[k]) - starts[k], min(stop, end) - starts[k]
            out += self._chunk_frames(k, np.arange(lo, hi))
        return out

    def where(self, *, phase: str | None = None, conn: int | None = None) -> list[LabeledFrame]:
        """The frames of one phase and/or connection, picked by column: only those are made
        (a connection's rows come from an index of the stream column, built on first use)."""
        if conn is not None:
            rows = self._stream_rows(conn)
            if phase is not None:
                rows = rows[self._rows_column("phase", rows) == PHASES.index(phase)]
            return self._rows(rows)
        out: list[LabeledFrame] = []
        for k in range(len(self._store.starts)):
            pick = np.flatnonzero(self._store.chunk_column(k, "phase") == PHASES.index(phase))
            if len(pick):
                out += self._chunk_frames(k, pick)
        return out

    def phase_counts(self) -> dict[str, int]:
        """Frames per phase, from the phase column (Analysis.phase_counts)."""
        counts = np.zeros(len(PHASES), np.int64)
        for k in range(len(self._store.starts)):
            counts += np.bincount(self._store.chunk_column(k, "phase"), minlength=len(PHASES))
        return {phase: int(n) for phase, n in zip(PHASES, counts) if n}

    def _stream_rows(self, conn: int) -> np.ndarray:
        if self._by_stream is None:
            stream = self._store.column("tcp_stream").astype(np.int64)
            order = np.argsort(stream, kind="stable")
            self._by_stream = (order, np.searchsorted(stream[order], np.arange(
                int(stream.max(initial=-1)) + 2)))
        order, bounds = self._by_stream
        if not 0 <= conn < len(bounds) - 1:
            return np.zeros(0, np.int64)
        return order[bounds[conn]:bounds[conn + 1]]

    def _rows_column(self, name: str, rows: np.ndarray) -> np.ndarray:
        return np.concatenate([self._store.chunk_column(k, name)[
            rows[(rows >= lo) & (rows < hi)] - lo] for k, lo, hi in self._spans()]) \
            if len(rows) else np.zeros(0, np.int64)

    def _spans(self):
        starts = self._store.starts
        for k, lo in enumerate(starts):
            yield k, lo, starts[k + 1] if k + 1 < len(starts) else len(self)

    def take(self, positions) -> list[LabeledFrame]:
        """The frames at ascending indexes `positions` (frame_fields.take): only those are made."""
        # in ascending order whatever the order asked; positions past the end give nothing
        return self._rows(np.sort(np.asarray(positions, dtype=np.int64)))

    def _rows(self, rows: np.ndarray) -> list[LabeledFrame]:
        """The frames at global row indexes `rows` (ascending), chunk by chunk."""
        out: list[LabeledFrame] = []
        for k, lo, hi in self._spans():
            pick = rows[(rows >= lo) & (rows < hi)] - lo
            if len(pick):
                if self._cached is not None and self._cached[0] == k:
                    made = self._cached[1]
                    out += [made[i] for i in pick.tolist()]
                else:
                    out += self._chunk_frames(k, pick)
        return out

    def __eq__(self, other) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, (str, bytes)):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other))

    __hash__ = None  # type: ignore[assignment]

    def to_dataframe(self):
        """A pandas DataFrame of every frame, straight from the columns (no LabeledFrame made),
        as Analysis.to_dataframe() documents it."""
        import pandas as pd

        parts: dict[str, list] = {name: [] for name in FIELDS}
        flags: list[str] = []
        info: list[str] = []
        store = self._store
        for k in range(len(store.starts)):
            c = store.chunk(k)
            rows = np.arange(store.starts[k], store.starts[k] + len(c["number"]), dtype=np.int64)
            values = field_values(c, rows, store.aside, store.first_ts, self._addresses)
            for name, column in values.items():
                parts[name] += column
            flags += FLAGS_TEXT[values["tcp_flags"]].tolist()
            info += info_texts(values)      # Info, a view of the fields, made from the columns
        frame = pd.DataFrame(parts, columns=list(FIELDS))
        frame["analysis"] = frame["analysis"].map(list)
        frame["flags"] = flags
        frame["info"] = info
        return frame.set_index("number", drop=False)

    def frames_by_stream(self, streams: int) -> list[tuple[int, ...]]:
        """Per TCP stream id (0 .. streams-1), the numbers of its frames in order."""
        stream = self._store.column("tcp_stream").astype(np.int64)
        number = self._store.column("number").astype(np.int64)
        tcp = np.flatnonzero(stream >= 0)
        order = tcp[np.argsort(stream[tcp], kind="stable")]
        bounds = np.searchsorted(stream[order], np.arange(streams + 1))
        numbers = number[order].tolist()
        return [tuple(numbers[bounds[s]:bounds[s + 1]]) for s in range(streams)]


class Deferred(Sequence):
    """A list made on first use (connections, exchanges): analyze() + iterating frames never
    pays for them."""

    def __init__(self, make: Callable[[], list]) -> None:
        self._make: Callable[[], list] | None = make
        self._items: list = []

    def _list(self) -> list:
        if self._make is not None:
            self._items, self._make = self._make(), None
        return self._items

    def __len__(self) -> int:
        return len(self._list())

    def __getitem__(self, index):
        return self._list()[index]

    def __iter__(self):
        return iter(self._list())

    def __eq__(self, other) -> bool:
        if isinstance(other, Deferred):
            other = other._list()
        if not isinstance(other, Sequence) or isinstance(other, (str, bytes)):
            return NotImplemented
        return self._list() == list(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self._list())


def connections_with_frames(connections: list[Connection], frames: LazyFrames) -> list[Connection]:
    """The connection records with their frame numbers filled in (Connection.frames)."""
    if not connections:
        return connections
    per_stream = frames.frames_by_stream(max(c.id for c in connections) + 1)
    return [c._replace(frames=per_stream[c.id]) for c in connections]
