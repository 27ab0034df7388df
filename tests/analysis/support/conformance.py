"""Where the conformance set and the notebook's shipped captures are, and the set's capture names.

The conformance set lives beside the repository (`<repo>/../shared/conformance`, which is how CI
clones it) or wherever REQRESP_CONFORMANCE points.  If it is missing the conformance tests FAIL
(the `conformance_dir` fixture in tests/analysis/conftest.py): a missing truth must never turn
into a quietly green run.
"""
from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
CONFORMANCE_DIR = Path(os.environ.get("REQRESP_CONFORMANCE")
                       or REPO_ROOT.parent / "shared" / "conformance")
# Stands in for the capture list when the set is missing, so the parametrized tests still run
# (and fail in the conformance_dir fixture) instead of being collected as an empty, skipped set.
MISSING = "<conformance set missing>"
# The captures shipped with the notebook (made by `make capture` and the capture API), analysed
# once per session for the figure, question and report tests.
SHIPPED_CAPTURES = REPO_ROOT / "notebooks" / "data"


def _names() -> list[str]:
    pcaps = CONFORMANCE_DIR / "pcaps"
    if not pcaps.is_dir():
        return [MISSING]
    return sorted(p.name for p in pcaps.iterdir() if p.is_file())


conformance_names: list[str] = _names()


def shipped_analysis(name: str):
    """One of the notebook's shipped captures (e.g. 'reqresp.pcap'), analysed."""
    from analysis import analyze

    return analyze(SHIPPED_CAPTURES / name)
