"""A few fields of every frame, chunk by chunk, whichever engine made the frames.

    for part in field_chunks(analysis.frames, ("time", "conn", "len")):
        part["time"], part["conn"], part["len"]          # lists, one value per frame

A report pass that reads three fields of a quarter of a million frames should not make a quarter
of a million records: `analyze()`'s lazy frames answer from their columns
(analysis/columnar/labeled.py `LazyFrames.field_chunks`, no LabeledFrame made); a list of
LabeledFrames (the reference engine, a filtered selection) is read in slices.
"""
from __future__ import annotations

from itertools import islice
from operator import attrgetter
from typing import Iterable, Iterator, Sequence

from analysis.model import LabeledFrame

CHUNK = 65536   # frames per part from a list


def field_chunks(frames: Iterable[LabeledFrame], names: Sequence[str]) -> Iterator[dict[str, list]]:
    """The fields `names` of `frames`, in order, as parts of {name: list of values}."""
    names = tuple(names)
    unknown = [name for name in names if name not in LabeledFrame._fields]
    if unknown:
        raise ValueError(f"not LabeledFrame fields: {', '.join(unknown)}")
    chunks = getattr(frames, "field_chunks", None)
    if chunks is not None:
        yield from chunks(names)
        return
    getters = [attrgetter(name) for name in names]
    it = iter(frames)
    while part := list(islice(it, CHUNK)):
        yield {name: list(map(get, part)) for name, get in zip(names, getters)}


def take(frames: Sequence[LabeledFrame], positions: Sequence[int]) -> list[LabeledFrame]:
    """The frames at `positions` (indexes into `frames`), in ascending order of position, as
    LazyFrames.take gives them: from the lazy frames only those records are made."""
    chosen = getattr(frames, "take", None)
    if chosen is not None:
        return chosen(positions)
    return [frames[i] for i in sorted(positions)]
