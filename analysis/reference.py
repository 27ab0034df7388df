"""The per-frame engine: the analyzer's stages one frame at a time, as readable Python.

    from analysis.reference import analyze_reference
    result = analyze_reference("reqresp.pcap")     # Analysis with plain lists

This is the reference the fast columnar engine (behind `analysis.analyze()`) is checked against
frame by frame (tests/analysis/columnar/test_engine.py, tests/analysis/test_cross_engine.py),
and the engine of the incremental paths: `iter_labeled()` and live narration (analysis/live.py)
label each frame as it arrives. Memory: the stages keep state per open connection only;
`analyze_reference()` keeps the labelled frames.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from analysis.conn.connections import ConnectionTracker
from analysis.decode.checksums import checksum_warnings, offloaded
from analysis.decode.frame import decode_frame
from analysis.decode.link import undecoded_warnings
from analysis.model import Frame, LabeledFrame, TcpInfo
from analysis.progress import EVERY_FRAMES, Progress, ProgressHook, file_size
from analysis.read.reader import CaptureReader
from analysis.result import Analysis
from analysis.session.exchanges import ExchangeTracker, vote_totals
from analysis.session.labels import SYN, FrameLabeler
from analysis.tcp.analysis import TcpAnalyzer


class _Pipeline:
    """The stages wired together; one instance per capture (a file, or a live source: see
    analysis/read/sources.py and live.py). `last_frame` is the Frame behind the frame just yielded."""

    def __init__(self, path: str, verify_checksums: bool = True, strict_checksums: bool = False,
                 source=None, progress: ProgressHook | None = None) -> None:
        self.reader = CaptureReader(path, source=source)
        self.progress = progress
        self._size = file_size(path) if source is None and progress is not None else None
        self.path = self.reader.path
        self.verify_checksums = verify_checksums
        self.strict_checksums = strict_checksums
        self.tcp_frames = 0
        self.bad_checksums = 0           # bad and counted as bad (Zeek's c/C)
        self.offloaded = 0               # bad exactly as checksum offload leaves them, accepted
        self.last_frame: Frame | None = None
        self.tcp = TcpAnalyzer()
        self.conns = ConnectionTracker(strict_checksums=strict_checksums)
        self.labeler = FrameLabeler()
        self.exchanges = ExchangeTracker()
        self.first_ts: int | None = None
        self.count = 0
        self.undecoded: dict[int, list[int]] = {}     # code -> [frames, first frame]

    def run(self) -> Iterator[LabeledFrame]:
        for record in self.reader.records():
            frame = decode_frame(record, path=self.path, verify_checksums=self.verify_checksums)
            self.count += 1
            if self.first_ts is None:
                self.first_ts = frame.ts_ns
            if frame.undecoded is not None:
                seen = self.undecoded.get(frame.undecoded)
                if seen is None:
                    self.undecoded[frame.undecoded] = [1, frame.number]
                else:
                    seen[0] += 1
            info = self.tcp.process(frame) if frame.tcp is not None else None
            if info is not None:
                self.tcp_frames += 1
                if frame.checksum_ok is False:
                    if not self.strict_checksums and offloaded(frame):
                        self.offloaded += 1
                    else:
                        self.bad_checksums += 1
                self.conns.process(frame, info)
            label = self.labeler.label(frame, info)
            if info is not None:
                self._feed_exchanges(frame, info)
            self.last_frame = frame
            if self.progress is not None and not self.count % EVERY_FRAMES:
                self._report(False)
            yield _labeled(frame, info, label, self.first_ts)
        if self.progress is not None:
            self._report(True)

    def _report(self, finished: bool) -> None:
        self.progress(Progress("read", frames=self.count, bytes_done=self.reader.bytes_read,
                               bytes_total=self._size, finished=finished))

    def _feed_exchanges(self, frame: Frame, info: TcpInfo) -> None:
        client = self.labeler.client_of(info.stream)
        sender = (frame.src, frame.sport)
        if frame.tcp.flags & SYN:
            self.exchanges.syn(info.stream, client, sender, frame.tcp.seq)
        # No need to skip what Wireshark calls a retransmission: the reassembler keeps each
        # sequence number once, and a segment that arrives "late" may be the first copy seen.
        if frame.payload:
            self.exchanges.add(info.stream, client, sender, frame.tcp.seq, bytes(frame.payload),
                               frame.number, frame.time)

    def result(self, frames: list[LabeledFrame]) -> Analysis:
        exchanges = self.exchanges.finish()
        warnings = list(self.reader.warnings)
        warnings += undecoded_warnings(self.path, self.undecoded)
        warnings += checksum_warnings(self.path, bad=self.bad_checksums,
                                      offloaded_count=self.offloaded, tcp_frames=self.tcp_frames)
        return Analysis(path=self.path, frames=frames, connections=self.conns.finish(),
                        exchanges=exchanges, warnings=warnings,
                        frame_count=self.count, linktypes=tuple(self.reader.linktypes),
                        votes=vote_totals(exchanges))


def _labeled(frame: Frame, info: TcpInfo | None, label, first_ts: int) -> LabeledFrame:
    tcp = frame.tcp
    if frame.net in ("ipv4", "ipv6"):
        src, dst = frame.src or "", frame.dst or ""
    else:
        src, dst = frame.eth_src or "", frame.eth_dst or ""
    return LabeledFrame(
        number=frame.number, time=frame.ts_ns / 1e9, rel_time=(frame.ts_ns - first_ts) / 1e9,
        src=src, dst=dst, sport=frame.sport, dport=frame.dport, proto=frame.proto,
        tcp_flags=tcp.flags if tcp is not None else 0, len=frame.wirelen,
        payload_len=frame.payload_len, phase=label.phase, label=label.label,
        direction=label.direction, analysis=info.analysis if info is not None else (),
        conn=info.stream if info is not None else None,
        seq=info.seq_rel if info is not None else None,
        ack=info.ack_rel if info is not None else None,
        seq_raw=tcp.seq if tcp is not None else None,
        ack_raw=tcp.ack if tcp is not None else None,
        window=info.window if info is not None else None,
        truncated=frame.truncated, malformed=frame.malformed, arp=frame.arp,
        tcp_options=tcp.options() if tcp is not None else None, icmp_type=frame.icmp_type,
        ip_proto=frame.ip_proto)


def analyze_reference(path: str | Path, *, verify_checksums: bool = True,
                      strict_checksums: bool = False, source=None,
                      progress: ProgressHook | None = None) -> Analysis:
    """analysis.analyze()'s result, from the per-frame pipeline (the same arguments)."""
    pipeline = _Pipeline(str(path), verify_checksums, strict_checksums, source, progress)
    frames = list(pipeline.run())
    return pipeline.result(frames)


def summarize_reference(path: str | Path, *, verify_checksums: bool = True,
                        strict_checksums: bool = False, progress: ProgressHook | None = None) -> Analysis:
    """analyze_reference() without keeping the frames (`frames` is empty)."""
    pipeline = _Pipeline(str(path), verify_checksums, strict_checksums, progress=progress)
    for _ in pipeline.run():
        pass
    return pipeline.result([])
