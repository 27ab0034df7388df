"""The columnar engine wired together: `Scan(path).batches()` yields every chunk's columns.

    from analysis.columnar.engine import Scan
    scan = Scan("big.pcap")
    for batch in scan.batches():          # FrameBatch: frames, tcp, labels, exchanges (this chunk)
        ...                               # numpy arrays; valid until the next batch is asked for
    summary = scan.summary()              # ScanSummary: connections (ConnectionTable), votes, ...

It computes what the per-frame pipeline (analysis.api._Pipeline) computes - the same frames,
labels, tcp.analysis flags, connections and exchanges; tests/analysis/columnar/test_engine.py
compares the two on every test capture - but keeps no object per frame: memory is the chunk
being worked on plus a few hundred bytes per connection (and the exchanges, as columns, unless
keep_exchanges=False).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, NamedTuple

import numpy as np

from analysis.decode.link import undecoded_warnings
from analysis.session.exchanges import exchange_kind, reply_counts
from analysis.decode.checksums import checksum_warnings
from analysis.decode.frame import decode_frame
from analysis.model import Exchange, Frame, Warning
from analysis.progress import Progress, ProgressHook, file_size

from analysis.columnar.read.chunks import ChunkReader
from analysis.columnar.columns import (EXCHANGE_KINDS, ConnectionTable, ExchangeColumns, FrameColumns,
                      LabelColumns, TcpColumns)
from analysis.columnar.conn.kernel import ConnStage
from analysis.columnar.session.exchanges import ExchangeStage, exchanges_from_columns
from analysis.columnar.session.text import KIND_UNKNOWN
from analysis.columnar.session.labels import LabelStage
from analysis.columnar.tcp.kernel import TcpStage

CHUNK_FRAMES = 16384   # frames per batch: big enough that per-batch Python costs vanish,
                       # small enough that the batch arrays stay a few MB
_VOTE_KINDS = (EXCHANGE_KINDS.index("vote"), EXCHANGE_KINDS.index("results"))


class FrameBatch(NamedTuple):
    """One chunk: the decoded frames and what each stage says about them (row i = frame i)."""

    frames: FrameColumns
    tcp: TcpColumns
    labels: LabelColumns
    exchanges: ExchangeColumns    # the exchanges completed while reading this chunk


@dataclass(frozen=True)
class ScanSummary:
    """What a whole scan found, besides the per-frame columns."""

    path: str
    frame_count: int
    tcp_frames: int
    linktypes: tuple[int, ...]
    warnings: list[Warning]
    connections: ConnectionTable
    exchange_parts: list[ExchangeColumns] = field(repr=False)   # empty with keep_exchanges=False
    exchange_count: int = 0
    votes: dict[str, int] = field(default_factory=dict)

    def exchanges(self) -> list[Exchange]:
        """The exchanges as records, in the per-frame pipeline's order."""
        return exchanges_from_columns(self.exchange_parts)


class _VoteTracker:
    """vote_totals() without keeping the exchanges: the counts of the last vote/results reply
    in the order the per-frame pipeline sorts exchanges (request frame, connection, emission)."""

    def __init__(self) -> None:
        self.best_key: tuple[int, int, int] | None = None
        self.totals: dict[str, int] = {}
        self.emitted = 0

    def feed(self, ex: ExchangeColumns) -> None:
        n = len(ex.conn)
        base, self.emitted = self.emitted, self.emitted + n
        if not n:
            return
        # a kind the kernel left open (KIND_UNKNOWN: a non-ASCII request) may be a vote too
        pick = np.flatnonzero(np.isin(ex.kind, _VOTE_KINDS + (KIND_UNKNOWN,))
                              & (ex.response_off >= 0))
        if not len(pick):
            return
        # latest first: the first reply with counts is this part's candidate
        order = np.lexsort((pick, ex.conn[pick], ex.request_frame[pick]))[::-1]
        for j in pick[order]:
            key = (int(ex.request_frame[j]), int(ex.conn[j]), base + int(j))
            if self.best_key is not None and key < self.best_key:
                return
            off, length = int(ex.response_off[j]), int(ex.response_len[j])
            reply = bytes(ex.text[off:off + length]).decode("utf-8", errors="backslashreplace")
            if ex.kind[j] == KIND_UNKNOWN:
                start, size = int(ex.request_off[j]), int(ex.request_len[j])
                request = bytes(ex.text[start:start + size]).decode("utf-8", "backslashreplace")
                if exchange_kind(request, reply) not in ("vote", "results"):
                    continue
            counts = reply_counts(reply)
            if counts:
                self.best_key, self.totals = key, counts
                return


class Scan:
    """One pass over a capture with every stage of the columnar engine."""

    def __init__(self, path: str | Path, *, verify_checksums: bool = True,
                 strict_checksums: bool = False, chunk_frames: int = CHUNK_FRAMES,
                 keep_exchanges: bool = True, exchange_sink=None,
                 progress: ProgressHook | None = None, read_ahead: bool | None = None) -> None:
        """`progress` (analysis.progress): called after every chunk and at the end, with the
        frames and bytes read so far. `read_ahead`: read and decode the next chunk on a second
        thread while the other stages work on this one (ChunkReader; default: with 2+ CPUs)."""
        self.path = str(path)
        self._progress = progress
        self._size = file_size(self.path) if progress is not None else None
        self.keep_exchanges = keep_exchanges
        # exchange_sink(ExchangeColumns): given each part instead of keeping it (analyze() spills
        # them to its frame store, so memory stays flat while they wait to be asked for)
        self._exchange_sink = exchange_sink
        self._verify = verify_checksums
        self._reader = ChunkReader(self.path, verify_checksums=verify_checksums,
                                   chunk_frames=chunk_frames, read_ahead=read_ahead)
        self._tcp = TcpStage()
        self._strict_checksums = strict_checksums
        self._conns = ConnStage(strict_checksums=strict_checksums)
        self._labels = LabelStage()
        self._exchanges = ExchangeStage()
        self._votes = _VoteTracker()
        self._parts: list[ExchangeColumns] = []
        self._tcp_frames = 0
        self._bad_checksums = 0        # bad and counted as bad (Zeek's c/C)
        self._offloaded = 0            # bad exactly as checksum offload leaves them, accepted
        self._undecoded: dict[int, list[int]] = {}    # code -> [frames, first frame]
        self._summary: ScanSummary | None = None
        self._started = False

    def batches(self) -> Iterator[FrameBatch]:
        """The chunks in file order; a batch's arrays may be reused once the next is asked for."""
        if self._started:
            raise RuntimeError("a Scan runs once; make a new Scan to read the file again")
        self._started = True
        for cols, data in self._reader.chunks():
            tcp = self._tcp.run(cols)
            self._conns.run(cols, tcp)
            labels = self._labels.run(cols, tcp)
            exchanges = self._exchanges.run(cols, data, tcp, labels)
            is_tcp = tcp.stream >= 0
            self._tcp_frames += int(np.count_nonzero(is_tcp))
            self._bad_checksums += int(np.count_nonzero(is_tcp & (cols.checksum == 0)))
            offloaded = int(np.count_nonzero(is_tcp & (cols.checksum == 2)))
            if self._strict_checksums:
                self._bad_checksums += offloaded
            else:
                self._offloaded += offloaded
            self._count_undecoded(cols)
            self._keep(exchanges)
            self._report(False)
            yield FrameBatch(cols, tcp, labels, exchanges)
        self._keep(self._exchanges.finish())
        self._report(True)
        # the per-stream state of the other stages is no longer needed: free it before the
        # connection table is built, so the two never sit in memory together
        self._tcp = self._labels = self._exchanges = None
        self._summary = self._summarize()

    def _report(self, finished: bool) -> None:
        if self._progress is not None:
            self._progress(Progress("read", frames=self._reader.count, bytes_done=self._reader.bytes_read,
                                    bytes_total=self._size, finished=finished))

    def frame(self, i: int) -> Frame:
        """Row i of the batch just yielded, decoded again by the per-frame decoder: for the few
        rows (ARP, malformed, other protocols) whose MAC addresses, malformed reason or Info
        fields the columns do not hold (analysis/columnar/labeled.py)."""
        return decode_frame(self._reader.record(i), path=self.path, verify_checksums=self._verify)

    def heads(self, rows: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The first `width` bytes of rows of the batch just yielded (ChunkReader.heads)."""
        return self._reader.heads(rows, width)

    def _count_undecoded(self, cols: FrameColumns) -> None:
        """Frames behind a layer we do not decode, by code (as api._Pipeline counts them)."""
        where = np.flatnonzero(cols.undecoded >= 0)
        if not len(where):
            return
        codes, first, counts = np.unique(cols.undecoded[where], return_index=True,
                                         return_counts=True)
        for code, k, count in zip(codes.tolist(), first.tolist(), counts.tolist()):
            seen = self._undecoded.get(code)
            if seen is None:
                self._undecoded[code] = [count, int(cols.number[where[k]])]
            else:
                seen[0] += count

    def _keep(self, exchanges: ExchangeColumns) -> None:
        self._votes.feed(exchanges)
        if not len(exchanges.conn):
            return
        if self._exchange_sink is not None:
            self._exchange_sink(exchanges)
        elif self.keep_exchanges:
            self._parts.append(exchanges)

    def summary(self) -> ScanSummary:
        """The scan's results; reads the rest of the file first if batches() was not exhausted."""
        if self._summary is None:
            if self._started:
                raise RuntimeError("summary() after an unfinished batches(): exhaust it first")
            for _ in self.batches():
                pass
        assert self._summary is not None
        return self._summary

    def _summarize(self) -> ScanSummary:
        warnings = list(self._reader.warnings)
        warnings += undecoded_warnings(self.path, self._undecoded)
        warnings += checksum_warnings(self.path, bad=self._bad_checksums,
                                      offloaded_count=self._offloaded, tcp_frames=self._tcp_frames)
        return ScanSummary(
            path=self.path, frame_count=self._reader.count, tcp_frames=self._tcp_frames,
            linktypes=tuple(self._reader.linktypes), warnings=warnings,
            connections=self._conns.finish(), exchange_parts=self._parts,
            exchange_count=self._votes.emitted, votes=dict(self._votes.totals))


def scan(path: str | Path, **options) -> Scan:
    """`Scan(path, **options)`: see Scan."""
    return Scan(path, **options)
