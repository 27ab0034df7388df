"""Hooks for the whole suite."""
from __future__ import annotations

from tests.support.catalogs import compile_stale_catalogs


def pytest_configure(config) -> None:
    """Compile the message catalogs (the analyzer's, the capture tool's) if a .po is newer than
    its .mo (as `make locale`)."""
    compile_stale_catalogs()
