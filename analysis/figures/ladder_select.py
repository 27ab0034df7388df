"""Which frames a ladder draws: the selection, and the summary of a long one.

A ladder draws a few dozen rows, but choosing them reads every frame of a big capture. That
reading takes a few fields (number, phase, analysis; conn and arp for one connection) through
`field_chunks` - columns of analyze()'s lazy frames, slices of a list - into small arrays, and
records are made only for the drawn rows. A summary row ("frames not drawn") keeps its frames
as positions (`HiddenFrames`): what the drawing needs of them - how many, the first and last
frame numbers, the count per phase - is counted from the arrays; the frames themselves are made
only when someone asks for them.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Iterable, NamedTuple

import numpy as np

from analysis.figures.common import PHASE_CODES, conn_ids as _conn_ids, phase_codes
from analysis.frame_fields import take as frames_at
from analysis.frame_fields import field_chunks
from analysis.model import LabeledFrame
from analysis.session.arp import resolves

# Data frames kept around each run that is summarised away (the start and end of a transfer).
_KEEP_HEAD, _KEEP_TAIL = 3, 2
_PHASE_NAMES = tuple(PHASE_CODES)
_ARP, _DATA, _OTHER = PHASE_CODES["arp"], PHASE_CODES["data"], PHASE_CODES["other"]
_BLOCK = 4096       # records made at a time when a summary row's frames are walked


class HiddenFrames(Sequence):
    """The frames a summary row stands for, in capture order: a Sequence of LabeledFrame, the
    records made when indexed or iterated (a summary of a big capture stands for nearly all
    of it). `first`, `last` and `phases` say what the ladder draws without making any."""

    def __init__(self, frames: Sequence[LabeledFrame], positions: np.ndarray, numbers: np.ndarray,
                 phases: np.ndarray) -> None:
        self._frames = frames
        self._positions = positions
        self.first = int(numbers[0])         # frame numbers of the first and the last
        self.last = int(numbers[-1])
        # (phase, count), most frames first, ties in order of first appearance (Counter's
        # most_common over the frames)
        codes, first_at, counts = np.unique(phases, return_index=True, return_counts=True)
        order = sorted(range(len(codes)), key=lambda i: (-counts[i], first_at[i]))
        self.phases: tuple[tuple[str, int], ...] = tuple(
            (_PHASE_NAMES[codes[i]], int(counts[i])) for i in order)

    def __len__(self) -> int:
        return len(self._positions)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return frames_at(self._frames, self._positions[index]) if (index.step or 1) > 0 \
                else [self[i] for i in range(*index.indices(len(self)))]
        return frames_at(self._frames, self._positions[[range(len(self))[index]]])[0]

    def __iter__(self):
        for start in range(0, len(self), _BLOCK):
            yield from frames_at(self._frames, self._positions[start:start + _BLOCK])

    def __eq__(self, other) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, (str, bytes)):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other))

    def __hash__(self) -> int:     # as the tuple of the frames would (a LadderRow is a tuple)
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"<{len(self)} frames not drawn, no. {self.first}-{self.last}>"


class LadderRow(NamedTuple):
    """One row of the ladder: a frame, or a summary of frames not drawn."""

    frame: LabeledFrame | None
    hidden: Sequence[LabeledFrame] = ()     # the frames a summary row stands for (HiddenFrames)


class _Selected(NamedTuple):
    positions: np.ndarray   # indexes into analysis.frames
    number: np.ndarray
    phase: np.ndarray       # PHASE_CODES
    flagged: np.ndarray     # the frame has analysis flags (Wireshark's "expert info")


def _select(analysis, conn, first, last, phases) -> _Selected:
    names = ("number", "phase", "analysis") + (("conn", "arp") if conn is not None else ())
    if conn is not None:
        connection = analysis.connection(conn)
        ips = {connection.orig_ip, connection.resp_ip}
    if phases is not None:
        wanted = [PHASE_CODES[p] for p in ({phases} if isinstance(phases, str) else set(phases))
                  if p in PHASE_CODES]
    parts: list[tuple[np.ndarray, ...]] = []
    offset = 0
    for part in field_chunks(analysis.frames, names):
        number = np.asarray(part["number"], np.int64)
        phase = phase_codes(part["phase"])
        pick = np.ones(len(number), bool)
        if conn is not None:
            # The connection's frames, and the ARP frames that resolve its two hosts.
            pick = _conn_ids(part["conn"]) == conn
            arps = part["arp"]
            for i in np.flatnonzero((phase == _ARP) & ~pick).tolist():
                pick[i] = arps[i] is not None and resolves(arps[i], ips)
        if first is not None:
            pick &= number >= first
        if last is not None:
            pick &= number <= last
        if phases is not None:
            pick &= np.isin(phase, wanted)
        rows = np.flatnonzero(pick)
        flagged = np.fromiter(map(bool, part["analysis"]), bool, len(number))
        parts.append((rows + offset, number[rows], phase[rows], flagged[rows]))
        offset += len(number)
    if not parts:
        return _Selected(*(np.zeros(0, dtype) for dtype in (np.int64, np.int64, np.int8, bool)))
    return _Selected(*(np.concatenate(column) for column in zip(*parts)))


def _remarkable(phase: np.ndarray, flagged: np.ndarray) -> np.ndarray:
    """Which frames a summary must keep: all but the middle of long runs of plain data frames."""
    keep = ((phase != _DATA) & (phase != _OTHER)) | flagged
    plain = ~keep & (phase == _DATA)
    # each run of plain data frames keeps its first _KEEP_HEAD and last _KEEP_TAIL frames
    edges = np.diff(np.concatenate(([0], plain.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    at = np.flatnonzero(plain)          # the runs' frames, run after run
    start, end = np.repeat(starts, ends - starts), np.repeat(ends, ends - starts)
    keep[at[(at - start < _KEEP_HEAD) | (end - at <= _KEEP_TAIL)]] = True
    return keep


def ladder_rows(analysis, *, conn: int | None = None, first: int | None = None,
                last: int | None = None, phases: str | Iterable[str] | None = None,
                max_rows: int = 60) -> list[LadderRow]:
    """The rows a ladder draws: the selected frames, summarised to at most `max_rows` rows."""
    selected = _select(analysis, conn, first, last, phases)
    n = len(selected.positions)
    if n <= max_rows:
        return [LadderRow(f) for f in frames_at(analysis.frames, selected.positions)]
    keep = _remarkable(selected.phase, selected.flagged)
    # A row starts at each kept frame and at the first of each run of frames not kept (a
    # summary row); a big capture has tens of thousands of rows before the cut below, so they
    # stay arrays until only the drawn ones are left.
    starts = np.flatnonzero(keep | np.concatenate(([True], keep[:-1])))
    ends = np.append(starts[1:], n)
    if len(starts) > max_rows:
        # Still too long (thousands of connections): the beginning and the end, one gap between.
        head = max_rows * 2 // 3
        tail = max(max_rows - head - 1, 0)
        cut = len(starts) - tail
        spans = [(a, b, not keep[a]) for a, b in zip(starts[:head].tolist(), ends[:head].tolist())]
        spans.append((int(starts[head]), int(starts[cut]) if tail else n, True))
        spans += [(a, b, not keep[a]) for a, b in zip(starts[cut:].tolist(), ends[cut:].tolist())]
    else:
        spans = [(a, b, not keep[a]) for a, b in zip(starts.tolist(), ends.tolist())]
    drawn = iter(frames_at(analysis.frames, [selected.positions[a] for a, _, hidden in spans
                                             if not hidden]))
    return [LadderRow(None, HiddenFrames(analysis.frames, selected.positions[a:b],
                                         selected.number[a:b], selected.phase[a:b]))
            if hidden else LadderRow(next(drawn)) for a, b, hidden in spans]
