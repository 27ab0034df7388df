"""The public library API: `analyze(path) -> Analysis`, and the streaming `iter_labeled(path)`.

    from analysis import analyze
    result = analyze("reqresp.pcap")
    result.frames            # list[LabeledFrame], one per frame, Wireshark's numbering
    result.connections       # list[Connection], Zeek conn_state / history
    result.exchanges         # list[Exchange], requests paired with responses
    result.warnings          # list[Warning], e.g. a file cut in the middle of a record
    result.to_dataframe()    # pandas.DataFrame of the frames

Nothing here prints; errors are analysis.errors.AnalysisError subclasses with a one-line message.
Memory: the stages keep state per open connection only; `analyze()` keeps the labelled frames
because a notebook wants them, `iter_labeled()` / `summarize()` do not.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from analysis import vocabulary
from analysis.conn.connections import ConnectionTracker
from analysis.decode.frame import decode_frame
from analysis.errors import AnalysisError, UsageError
from analysis.i18n import N_
from analysis.session.exchanges import ExchangeTracker, vote_totals
from analysis.session.labels import SYN, FrameLabeler
from analysis.decode.link import undecoded_warnings
from analysis.decode.checksums import checksum_warnings, offloaded
from analysis.model import Connection, Exchange, Frame, LabeledFrame, TcpInfo, Warning
from analysis.progress import EVERY_FRAMES, Progress, ProgressHook, file_size
from analysis.read.reader import CaptureReader
from analysis.tcp.analysis import TcpAnalyzer


@dataclass(frozen=True)
class Analysis:
    """Everything the analyzer found in one capture."""

    path: str
    frames: list[LabeledFrame]
    connections: list[Connection]
    exchanges: list[Exchange]
    warnings: list[Warning]
    frame_count: int
    linktypes: tuple[int, ...] = ()
    votes: dict[str, int] = field(default_factory=dict)

    def phase(self, name: str) -> list[LabeledFrame]:
        """The frames of one phase (`arp`, `handshake`, `data`, `teardown`, `reset`, `other`)."""
        check_phase(name)
        return [f for f in self.frames if f.phase == name]

    def connection(self, conn_id: int) -> Connection:
        for conn in self.connections:
            if conn.id == conn_id:
                return conn
        known = ", ".join(str(c.id) for c in self.connections) or "-"
        raise UsageError(N_("no connection {conn_id} (connections: {known})"), path=self.path,
                         fields={"conn_id": conn_id, "known": known})

    def frames_of(self, conn_id: int) -> list[LabeledFrame]:
        self.connection(conn_id)
        return [f for f in self.frames if f.conn == conn_id]

    def to_dataframe(self):
        """The frames as a pandas DataFrame (one row per frame, columns = LabeledFrame fields,
        then the text views `flags` and `info`)."""
        import pandas as pd  # imported here: the analyzer itself does not need pandas

        frame = pd.DataFrame.from_records(self.frames, columns=LabeledFrame._fields)
        frame["analysis"] = frame["analysis"].map(list)
        frame["flags"] = [f.flags for f in self.frames]
        frame["info"] = [f.info for f in self.frames]
        return frame.set_index("number", drop=False)


def check_phase(name: str) -> str:
    if name not in vocabulary.PHASES:
        raise UsageError(N_("unknown phase {name!r} (phases: {phases})"),
                         fields={"name": name, "phases": ", ".join(vocabulary.PHASES)})
    return name


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


def analyze(path: str | Path, *, verify_checksums: bool = True,
            strict_checksums: bool = False, source=None,
            progress: ProgressHook | None = None) -> Analysis:
    """Read and label a whole capture. Raises AnalysisError (one-line message) for bad input.

    A TCP checksum wrong exactly as checksum offload leaves it is trusted, with a warning
    (analysis/decode/checksums.py); strict_checksums=True counts it as bad, as Zeek does without -C.
    verify_checksums=False trusts every TCP checksum (Zeek's -C). `source`
    (analysis.read.sources.open_source: stdin, a growing file) replaces the file at `path`.
    `progress` (analysis.progress.Progress records): called every few thousand frames and at the
    end, with the frames and bytes read so far (the command line draws its bar from them)."""
    pipeline = _Pipeline(str(path), verify_checksums, strict_checksums, source, progress)
    frames = list(pipeline.run())
    return pipeline.result(frames)


def summarize(path: str | Path, *, verify_checksums: bool = True,
              strict_checksums: bool = False, progress: ProgressHook | None = None) -> Analysis:
    """Like analyze() but keeps no frames: connections, exchanges and warnings only."""
    pipeline = _Pipeline(str(path), verify_checksums, strict_checksums, progress=progress)
    for _ in pipeline.run():
        pass
    return pipeline.result([])


__all__ = ["Analysis", "AnalysisError", "analyze", "iter_labeled", "iter_frames", "summarize"]
