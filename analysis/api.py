"""The public library API: `analyze(path) -> Analysis`, and the streaming `iter_labeled(path)`.

    from analysis import analyze
    result = analyze("reqresp.pcap")
    result.frames            # Sequence[LabeledFrame], one per frame, Wireshark's numbering
    result.connections       # list[Connection], Zeek conn_state / history
    result.exchanges         # list[Exchange], requests paired with responses
    result.warnings          # list[Warning], e.g. a file cut in the middle of a record
    result.to_dataframe()    # pandas.DataFrame of the frames

`analyze()` runs the columnar engine (analysis/columnar/: millions of frames a second, memory
flat in the file size); its `frames` are made from the engine's columns as they are asked for
(iterate, index, slice, `phase()`, `frames_of()`: analysis/columnar/labeled.py), and the
connections and exchanges are made on first use. The per-frame pipeline (analysis/reference.py)
is the readable reference the tests compare it with frame by frame, and the engine of the
incremental paths: `iter_labeled()` and live narration label each frame as it arrives.

Nothing here prints; errors are analysis.errors.AnalysisError subclasses with a one-line message.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable, Iterator

from analysis.decode.frame import decode_frame
from analysis.errors import AnalysisError
from analysis.model import Frame, LabeledFrame
from analysis.progress import ProgressHook
from analysis.read.reader import CaptureReader
from analysis.reference import _Pipeline, analyze_reference
from analysis.result import Analysis, check_phase


def analyze(path: str | Path, *, verify_checksums: bool = True,
            strict_checksums: bool = False, source=None,
            progress: ProgressHook | None = None) -> Analysis:
    """Read and label a whole capture. Raises AnalysisError (one-line message) for bad input.

    A TCP checksum wrong exactly as checksum offload leaves it is trusted, with a warning
    (analysis/decode/checksums.py); strict_checksums=True counts it as bad, as Zeek does without -C.
    verify_checksums=False trusts every TCP checksum (Zeek's -C). `source`
    (analysis.read.sources.open_source: stdin, a growing file) replaces the file at `path`; it is
    read by the per-frame pipeline, which labels a stream as it arrives. `progress`
    (analysis.progress.Progress records): called as the capture is read and once at its end."""
    if source is not None:
        return analyze_reference(path, verify_checksums=verify_checksums,
                                 strict_checksums=strict_checksums, source=source, progress=progress)
    return _analyze_columnar(path, verify_checksums=verify_checksums,
                             strict_checksums=strict_checksums, progress=progress)


def _analyze_columnar(path, *, verify_checksums: bool = True, strict_checksums: bool = False,
                      chunk_frames: int | None = None, progress: ProgressHook | None = None) -> Analysis:
    """analyze() on the columnar engine; chunk_frames: the engine's (tests cross chunk ends)."""
    from analysis.columnar.engine import CHUNK_FRAMES, Scan
    from analysis.columnar.labeled import FrameStore, LazyFrames

    store = FrameStore()
    scan = Scan(path, verify_checksums=verify_checksums, strict_checksums=strict_checksums,
                chunk_frames=chunk_frames or CHUNK_FRAMES, exchange_sink=store.add_exchanges,
                progress=progress)
    for batch in scan.batches():
        store.add(batch, scan)
    return _result(scan.summary(), LazyFrames(store, scan.path), store)


def _result(summary, frames, store) -> Analysis:
    from analysis.columnar.conn.table import connections_from_table
    from analysis.columnar.labeled import Deferred, connections_with_frames
    from analysis.columnar.session.exchanges import exchanges_from_columns

    table = summary.connections
    return Analysis(path=summary.path, frames=frames,
                    connections=Deferred(lambda: connections_with_frames(
                        connections_from_table(table), frames)),
                    exchanges=Deferred(lambda: exchanges_from_columns(store.exchange_parts())),
                    warnings=summary.warnings,
                    frame_count=summary.frame_count, linktypes=summary.linktypes,
                    votes=summary.votes)


def summarize(path: str | Path, *, verify_checksums: bool = True,
              strict_checksums: bool = False, progress: ProgressHook | None = None) -> Analysis:
    """Like analyze() but its `frames` are empty: connections, exchanges and warnings only."""
    return dataclasses.replace(analyze(path, verify_checksums=verify_checksums,
                                       strict_checksums=strict_checksums, progress=progress), frames=[])


def iter_labeled(path: str | Path, *, on_finish: Callable[[Analysis], None] | None = None,
                 verify_checksums: bool = True, strict_checksums: bool = False,
                 source=None, progress: ProgressHook | None = None) -> Iterator[LabeledFrame]:
    """Label a capture frame by frame without keeping the frames (memory: open connections only).

    When the file is exhausted, `on_finish` receives the Analysis (with `frames` empty).
    `source` (analysis.read.sources.open_source: stdin, a growing file) replaces the file at `path`.
    `progress` (analysis.progress): called every few thousand frames and at the end."""
    pipeline = _Pipeline(str(path), verify_checksums, strict_checksums, source, progress)
    yield from pipeline.run()
    if on_finish is not None:
        on_finish(pipeline.result([]))


def iter_frames(path: str | Path, *, verify_checksums: bool = True) -> Iterator[Frame]:
    """The decoded `Frame` records of a capture (analysis.model: every header, the payload bytes,
    `checksum_ok`), streaming, before any TCP analysis: for checks on the bytes themselves, such
    as the grader's integrity signals (analysis/grade/integrity.py)."""
    path = str(path)
    for record in CaptureReader(path).records():
        yield decode_frame(record, path=path, verify_checksums=verify_checksums)


__all__ = ["Analysis", "AnalysisError", "analyze", "iter_labeled", "iter_frames", "summarize",
           "check_phase"]
