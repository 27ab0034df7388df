"""Connections of a capture file through the per-frame pipeline: reader -> decode -> tshark-style
TCP analysis (the stream numbers) -> Zeek-style connection tracker."""
from __future__ import annotations

from analysis.connections import ConnectionTracker
from analysis.decode import decode_frame
from analysis.reader import iter_records
from analysis.tcp_analysis import TcpAnalyzer


def track(path, **options):
    """The finished connections of the capture at `path` (options go to ConnectionTracker)."""
    tracker = ConnectionTracker(**options)
    analyzer = TcpAnalyzer()
    for record in iter_records(path):
        frame = decode_frame(record)
        if frame.proto != "tcp" or frame.tcp is None:
            continue
        info = analyzer.process(frame)
        if info is not None:
            tracker.process(frame, info)
    return tracker.finish()
