"""Fuzzing as a habit: both engines on capture files drawn from pcap/pcapng structure
(fuzz_captures.py) and on mutated copies of every test capture (fuzz_run.py). Each file must
give the same result in analysis.analyze and analysis.scan - the same frames, connections and
warnings, or the same one-line error - and never a traceback.

CI runs a fixed sequence (hypothesis derandomized, 200 drawn files, 300 mutated ones: well under
a minute once the kernels are compiled). `make fuzz` runs many more:
FUZZ_EXAMPLES (drawn files, default here 200), FUZZ_MUTATIONS (300), and FUZZ_SEED to draw a
different sequence than CI's.
"""
from __future__ import annotations

import collections
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, seed, settings

from tests.analysis.support.fuzz_captures import capture_files, outcome
from tests.analysis.support.fuzz_captures import check_engines_agree as _check
from tests.analysis.support.fuzz_run import run_mutations

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "200"))
MUTATIONS = int(os.environ.get("FUZZ_MUTATIONS", "300"))
SEED = os.environ.get("FUZZ_SEED") or None

_fuzz_settings = settings(max_examples=EXAMPLES, derandomize=SEED is None, database=None,
                          deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _seeded(test):
    return seed(int(SEED))(test) if SEED is not None else test


@pytest.fixture(scope="module")
def scratch():
    """One file rewritten per example (a function-scoped tmp_path would be shared anyway)."""
    with tempfile.TemporaryDirectory(prefix="fuzz-engines-") as tmp:
        yield Path(tmp)


@_fuzz_settings
@_seeded
@given(blob=capture_files())
def test_both_engines_agree_on_drawn_captures(scratch, blob):
    path = scratch / "drawn.cap"
    path.write_bytes(blob)
    _check(path)


def test_drawn_captures_reach_deep_into_the_readers(scratch):
    """The strategy is worth running: its files mostly parse, and every kind of damage it is
    meant to make shows up as the outcome it should (counted over a fixed sample)."""
    seen: collections.Counter = collections.Counter()

    @settings(max_examples=300, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(capture_files())
    def sample(blob):
        path = scratch / "sample.cap"
        path.write_bytes(blob)
        result = outcome(path, "per-frame")
        seen[result[0]] += 1
        if result[0] == "ok":
            seen["frames"] += result[1]
            for warning in result[4]:
                seen[warning.code] += 1
        else:
            seen[result[1]] += 1

    sample()
    # loose bounds: the derandomized sequence is fixed on its own, but was seen to differ after
    # the rest of the suite (181 whole files and 605 frames alone, 143 and 306 in the suite)
    assert seen["ok"] > 100 and seen["frames"] > 250, seen
    for kind in ("truncated-file", "damaged-block", "timestamp-out-of-range", "bad-checksums",
                 "CaptureFormatError", "UnknownLinkTypeError"):
        assert seen[kind] > 0, (kind, seen)


def test_mutated_test_captures_agree(tmp_path):
    """The issue's experiment, bounded: every conformance and lab capture (and its pcapng
    rewrite by editcap), with bytes, length fields and timestamps overwritten and cuts."""
    tally: collections.Counter = collections.Counter()
    examples: dict = {}
    run_mutations(MUTATIONS, 11 if SEED is None else int(SEED), tmp_path, tally, examples)
    bad = {k: v for k, v in tally.items() if "crash" in k or k == "disagree"}
    assert not bad, (bad, list(examples))
    assert tally["files"] == MUTATIONS and tally["agree: ok"] > MUTATIONS // 2
