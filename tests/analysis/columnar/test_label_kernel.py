"""LabelStage (analysis/columnar/session/labels.py) agrees with FrameLabeler on every frame of the
corpus (tests/analysis/columnar/support/corpus.py), whatever the chunk size."""
from __future__ import annotations

import numpy as np
import pytest

from analysis.columnar.columns import DIRECTIONS, LABELS, PHASES, LabelColumns, slice_frames, slice_tcp
from analysis.columnar.session.labels import LabelStage
from tests.analysis.columnar.support.corpus import corpus_paths
from tests.analysis.columnar.support.reference_stages import Reference, chunk_bounds, reference

CHUNK_SIZES = (1_000_000, 1000, 7)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> list[Reference]:
    return [reference(p) for p in corpus_paths(tmp_path_factory.mktemp("corpus"))]


def run_labels(ref: Reference, size: int) -> LabelColumns:
    stage = LabelStage()
    parts = [stage.run(slice_frames(ref.cols, a, b), slice_tcp(ref.tcp, a, b))
             for a, b in chunk_bounds(len(ref.frames), size)]
    if not parts:
        return LabelColumns(*(np.empty(0, c.dtype) for c in ref.labels))
    return LabelColumns(*(np.concatenate(c) for c in zip(*parts)))


_NAMES = {"phase": PHASES, "label": LABELS, "direction": DIRECTIONS}


def first_label_mismatch(ref: Reference, ours: LabelColumns) -> str | None:
    for field in LabelColumns._fields:
        want, got = getattr(ref.labels, field), getattr(ours, field)
        if want.dtype != got.dtype or len(want) != len(got):
            return f"{ref.name}: {field} dtype/len {got.dtype}/{len(got)} != {want.dtype}/{len(want)}"
        bad = np.flatnonzero(want != got)
        if len(bad):
            i = int(bad[0])
            names = _NAMES.get(field)

            def show(v):
                return (names[v] if v >= 0 else None) if names else bool(v)
            return (f"{ref.name}: frame {ref.frames[i].number} {field}: ours {show(got[i])!r}, "
                    f"reference {show(want[i])!r} ({len(bad)} frames differ)")
    return None


def test_corpus_is_complete(corpus):
    assert len(corpus) >= 25 + 3 + 1 + 1 + 8
    assert sum(len(r.frames) for r in corpus) > 40_000


@pytest.mark.parametrize("size", CHUNK_SIZES)
def test_labels_match_the_reference(corpus, size):
    for ref in corpus:
        assert first_label_mismatch(ref, run_labels(ref, size)) is None


def test_state_is_compact(corpus):
    stage = LabelStage()
    ref = max(corpus, key=lambda r: len(r.frames))
    stage.run(ref.cols, ref.tcp)
    assert stage.streams == int(ref.tcp.stream.max()) + 1
    assert LabelStage.STATE_BYTES_PER_STREAM <= 24
    assert stage.state.itemsize + stage.fin_next.itemsize * stage.fin_next.shape[1] \
        == LabelStage.STATE_BYTES_PER_STREAM
