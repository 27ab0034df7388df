"""Shared fixtures for the analyzer's tests: the conformance set and its truth, the shipped captures.

    def test_something(conformance_name, conformance_dir):    # runs once per capture
        truth = load_truth(conformance_dir, conformance_name)

or, for a single capture, `conformance_truth("zeek_http_get.pcap")` via the fixture of that name.
The helpers (paths, capture writers, truth) are in tests/analysis/support/.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.analysis.support.conformance import CONFORMANCE_DIR, conformance_names, shipped_analysis
from tests.analysis.support.truth import Truth, load_truth


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


@pytest.fixture(scope="session")
def default():
    """The `default` scenario's capture (notebooks/data/reqresp.pcap), analysed."""
    return shipped_analysis("reqresp.pcap")


@pytest.fixture(scope="session")
def lossy():
    """The `lossy` scenario's capture, analysed."""
    return shipped_analysis("lossy.pcap")


@pytest.fixture(scope="session")
def refused():
    """The `refused` scenario's capture, analysed."""
    return shipped_analysis("refused.pcap")
