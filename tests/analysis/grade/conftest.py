"""The synthetic class, made once per session by running the real lab (support/klass.py)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.analysis.grade.support.klass import build_class


@pytest.fixture(scope="session")
def lab_cache(tmp_path_factory) -> Path:
    """Where the lab runs are kept: the session's tmp dir, or $GRADE_LAB_CACHE across sessions."""
    named = os.environ.get("GRADE_LAB_CACHE")
    return Path(named) if named else tmp_path_factory.mktemp("lab-runs")


@pytest.fixture(scope="session")
def klass(tmp_path_factory, lab_cache):
    """(class folder, students): see support/klass.py for what each student holds."""
    if os.geteuid() != 0:
        pytest.skip("the class is made by running the lab: needs root (network namespaces)")
    root = tmp_path_factory.mktemp("grade")
    students = build_class(root, lab_cache)
    return root / "class", students


@pytest.fixture(scope="session")
def serial(klass, tmp_path_factory):
    """The class graded serially, in this process (English)."""
    from analysis.grade import grade

    return grade([klass[0]], out=tmp_path_factory.mktemp("serial") / "grades", workers=1)
