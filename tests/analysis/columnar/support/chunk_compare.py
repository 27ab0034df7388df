"""ChunkReader against the per-frame reference, for the tests of the columnar read stage.

The reference for a file is `from_frames([decode_frame(r, path=p, verify_checksums=v) for r in
CaptureReader(p).records()])` with CaptureReader's warnings and linktypes; where the reference
raises, ChunkReader must yield exactly the frames before the failing one and raise the same
exception class with the same message. Every column must be equal except payload_off, which
points into a different buffer: there the captured payload bytes must be equal.
"""
from __future__ import annotations

import time
from typing import NamedTuple

import numpy as np

from analysis.columnar.columns import FrameColumns, empty_frames, fill_from_frame, from_frames
from analysis.columnar.read.chunks import ChunkReader
from analysis.decode.frame import _decode_general, decode_frame
from analysis.model import RawRecord
from analysis.read.reader import CaptureReader
from tests.analysis.columnar.support.crafted_frames import TCP4, ethernet

PLAIN = ethernet(0x0800, TCP4)


class Result(NamedTuple):
    cols: FrameColumns | None
    payload: np.ndarray          # the frames' payloads back to back
    warnings: list
    linktypes: tuple
    error: BaseException | None


def decode_reference(rec: RawRecord, path: str, verify: bool):
    try:
        return decode_frame(rec, path=path, verify_checksums=verify)
    except IndexError:
        # decode_frame's fast-path test reads data[23] before it checks the length, so an
        # Ethernet IPv4 frame cut to 15..23 bytes raises there; its general path (what the fast
        # path promises to equal, and what the kernel ports) is the reference for those frames
        if rec.linktype == 1 and 15 <= len(rec.data) < 24:
            return _decode_general(rec, path, verify)
        raise


def reference(path, verify: bool) -> Result:
    try:
        reader = CaptureReader(path)
    except Exception as exc:
        return Result(None, np.zeros(0, np.uint8), [], (), exc)
    frames, error = [], None
    try:
        for rec in reader.records():
            frames.append(decode_reference(rec, str(path), verify))
    except Exception as exc:
        error = exc
    try:
        cols, data = from_frames(frames)
    except Exception:            # fill_from_frame refuses a frame: the columns stop before it
        for k, frame in enumerate(frames):
            try:
                fill_from_frame(empty_frames(1), 0, frame, 0)
            except Exception as exc:
                frames, error = frames[:k], exc
                break
        cols, data = from_frames(frames)
    return Result(cols, data, list(reader.warnings), reader.linktypes, error)


def chunked(path, verify: bool, chunk_frames: int, buffer_bytes: int | None = None,
            sizes: list | None = None, read_ahead: bool | None = None, hold: float = 0.0,
            ahead_seen: list | None = None) -> Result:
    """ChunkReader's frames; with `hold`, each chunk is held that many seconds before it is
    read, so a reader reading ahead has made the next one meanwhile (counted in ahead_seen)."""
    options = {} if buffer_bytes is None else {"buffer_bytes": buffer_bytes}
    if read_ahead is not None:
        options["read_ahead"] = read_ahead
    try:
        reader = ChunkReader(path, verify_checksums=verify, chunk_frames=chunk_frames, **options)
    except Exception as exc:
        return Result(None, np.zeros(0, np.uint8), [], (), exc)
    parts, payloads, error, count = [], [], None, 0
    try:
        for cols, data in reader.chunks():
            if hold:
                time.sleep(hold)
                if ahead_seen is not None and reader._made > reader.count:
                    ahead_seen.append(reader.count)
            assert 0 < len(cols) <= chunk_frames
            off, cap = cols.payload_off, cols.payload_cap.astype(np.int64)
            assert (off >= 0).all() and (off + cap <= len(data)).all()
            starts = np.repeat(off - np.cumsum(cap) + cap, cap) + np.arange(cap.sum())
            payloads.append(data[starts])
            parts.append([c.copy() for c in cols])      # the reader reuses its arrays
            if sizes is not None:
                sizes.append(len(cols))
            count += len(cols)
            assert reader.count == count
    except Exception as exc:
        error = exc
    cols = FrameColumns(*(np.concatenate([p[k] for p in parts]) if parts else empty_frames(0)[k]
                          for k in range(len(FrameColumns._fields))))
    payload = np.concatenate(payloads) if payloads else np.zeros(0, np.uint8)
    return Result(cols, payload, reader.warnings, reader.linktypes, error)


def assert_same(ours: Result, ref: Result) -> None:
    assert type(ours.error) is type(ref.error) and str(ours.error) == str(ref.error)
    if ref.cols is None:
        assert ours.cols is None
        return
    for name in FrameColumns._fields:
        if name == "payload_off":
            continue
        a, b = getattr(ours.cols, name), getattr(ref.cols, name)
        assert a.dtype == b.dtype and len(a) == len(b), name
        bad = np.flatnonzero(a != b)
        assert not len(bad), f"{name}: frames {ref.cols.number[bad[:10]]} {a[bad[:10]]} != {b[bad[:10]]}"
    assert np.array_equal(ours.payload, ref.payload), "payload bytes"
    assert ours.warnings == ref.warnings
    assert ours.linktypes == ref.linktypes


_REFS: dict = {}


def check(path, verify=True, chunk_frames=1000, buffer_bytes=None, **options) -> Result:
    """ChunkReader on `path` equals the reference (options: chunked's read_ahead, hold, ...)."""
    key = (str(path), verify)
    if key not in _REFS:
        _REFS[key] = reference(path, verify)
    ours = chunked(path, verify, chunk_frames, buffer_bytes, **options)
    assert_same(ours, _REFS[key])
    return ours
