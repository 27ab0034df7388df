"""The bench tests' fixture: the tiny synthetic base capture (tests/bench/support/base.py)."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.bench.support.base import write_synthetic_base


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory) -> tuple[Path, dict]:
    path = tmp_path_factory.mktemp("bench") / "base.pcap"
    return path, write_synthetic_base(path)
