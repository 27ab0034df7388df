"""The per-frame pipeline's stages on one capture, as columns: the reference the columnar kernel
tests compare against (shared by test_label_kernel and test_exch_kernel)."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from analysis.columnar.columns import (FrameColumns, LabelColumns, TcpColumns, from_frames, labels_from,
                                       tcp_from_infos)
from analysis.decode.frame import decode_frame
from analysis.session.labels import FrameLabeler
from analysis.read.reader import CaptureReader
from analysis.tcp.analysis import TcpAnalyzer


class Reference(NamedTuple):
    """One capture through the per-frame pipeline's stages, and its columns."""

    name: str
    frames: list
    cols: FrameColumns
    data: np.ndarray
    tcp: TcpColumns
    labels: LabelColumns


def reference(path) -> Reference:
    frames = [decode_frame(r, path=str(path)) for r in CaptureReader(str(path)).records()]
    analyzer, labeler = TcpAnalyzer(), FrameLabeler()
    infos, labels, clients = [], [], []
    for frame in frames:
        info = analyzer.process(frame) if frame.tcp is not None else None
        infos.append(info)
        labels.append(labeler.label(frame, info))
        clients.append(labeler.client_of(info.stream) if info is not None else None)
    cols, data = from_frames(frames)
    return Reference(path.name, frames, cols, data, tcp_from_infos(infos),
                     labels_from(frames, infos, labels, clients))


def chunk_bounds(n: int, size: int):
    for start in range(0, n, size):
        yield start, min(n, start + size)
