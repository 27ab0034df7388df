"""Ctrl-C and SIGTERM that never cut a cleanup short.

The CLI's signal handler calls `request_stop`: outside a shielded block it raises Interrupted at
once (the run's `finally` then removes the lab); inside one (the cleanup itself) the stop is noted
and raised when the block ends, after the namespaces and processes are gone.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from capture.errors import Interrupted

_pending: list[str] = []
_depth = 0


def request_stop(signal_name: str) -> None:
    if _depth:
        _pending.append(signal_name)
        return
    raise Interrupted(signal_name)


@contextmanager
def shielded() -> Iterator[None]:
    global _depth
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0 and _pending:
            name = _pending[0]
            _pending.clear()
            raise Interrupted(name)
