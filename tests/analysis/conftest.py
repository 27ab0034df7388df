"""Shared fixtures for the analyzer's tests: the conformance set and its truth.

The conformance set lives beside the repository (`<repo>/../shared/conformance`, which is how CI
clones it) or wherever REQRESP_CONFORMANCE points.  If it is missing the conformance tests FAIL:
a missing truth must never turn into a quietly green run.

    def test_something(conformance_name, conformance_dir):    # runs once per capture
        truth = load_truth(conformance_dir, conformance_name)

or, for a single capture, `conformance_truth("zeek_http_get.pcap")` via the fixture of that name.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.analysis.truth import Truth, load_truth

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFORMANCE_DIR = Path(os.environ.get("REQRESP_CONFORMANCE")
                       or REPO_ROOT.parent / "shared" / "conformance")
# Stands in for the capture list when the set is missing, so the parametrized tests still run
# (and fail in the conformance_dir fixture) instead of being collected as an empty, skipped set.
MISSING = "<conformance set missing>"


def _names() -> list[str]:
    pcaps = CONFORMANCE_DIR / "pcaps"
    if not pcaps.is_dir():
        return [MISSING]
    return sorted(p.name for p in pcaps.iterdir() if p.is_file())


conformance_names: list[str] = _names()


@pytest.fixture(scope="session")
def conformance_dir() -> Path:
    if not (CONFORMANCE_DIR / "pcaps").is_dir() or not (CONFORMANCE_DIR / "truth").is_dir():
        pytest.fail(f"conformance set not found at {CONFORMANCE_DIR} (set REQRESP_CONFORMANCE, "
                    "or clone shared/ beside the repository)")
    return CONFORMANCE_DIR


@pytest.fixture(params=conformance_names)
def conformance_name(request, conformance_dir) -> str:
    """One capture's file name (e.g. 'zeek_http_get.pcap'); parametrizes a test over the set."""
    return request.param


@pytest.fixture(scope="session")
def conformance_truth(conformance_dir):
    """`conformance_truth(name) -> Truth`, cached for the session."""
    cache: dict[str, Truth] = {}

    def get(name: str) -> Truth:
        if name not in cache:
            cache[name] = load_truth(conformance_dir, name)
        return cache[name]

    return get
