"""Ctrl-C and SIGTERM that never cut a start-up step or a cleanup short.

Two layers, both entered with `shielded()`:
- the CLI's signal handler calls `request_stop`: outside a shielded block it raises Interrupted at
  once (the run's `finally` then removes the lab); inside one the stop is noted and raised when the
  block ends;
- inside a shielded block, SIGINT and SIGTERM do not even reach the Python handlers in place (the
  CLI's, or Python's default KeyboardInterrupt for a notebook): they are held, and handed to those
  handlers when the outermost block ends. So "fork + record the PID" and "stop + remove" are atomic
  for every caller, not only for the CLI: a signal can no longer land between a child's fork and
  its record, which is how a run used to orphan its server.
Signal handlers can only be swapped in the main thread; elsewhere Python never runs a signal
handler anyway, so there is nothing to hold.
"""
from __future__ import annotations

import os
import signal
import threading
from contextlib import contextmanager
from types import FrameType
from typing import Iterator

from capture.errors import Interrupted

HELD_SIGNALS = (signal.SIGINT, signal.SIGTERM)

_pending: list[str] = []
_held: list[int] = []
_saved: dict[int, object] = {}
_depth = 0


def request_stop(signal_name: str) -> None:
    if _depth:
        _pending.append(signal_name)
        return
    raise Interrupted(signal_name)


def _hold(signum: int, _frame: FrameType | None) -> None:
    _held.append(signum)


def _deliver(signum: int) -> None:
    """Hand a held signal to the handler that was in place before the shielded block."""
    handler = _saved.get(signum, signal.SIG_DFL)
    if callable(handler):
        handler(signum, None)
    elif handler == signal.SIG_DFL:  # e.g. SIGTERM with no handler: die of it, as it was meant
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
    # SIG_IGN: it was to be ignored


@contextmanager
def shielded() -> Iterator[None]:
    """A block that a signal cannot interrupt: the signal takes effect when the block ends."""
    global _depth
    outermost = _depth == 0
    swap = outermost and threading.current_thread() is threading.main_thread()
    if swap:
        _saved.clear()
        _saved.update({sig: signal.signal(sig, _hold) for sig in HELD_SIGNALS})
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if outermost:
            if swap:
                for sig, handler in _saved.items():
                    signal.signal(sig, handler)  # type: ignore[arg-type]
            held = list(dict.fromkeys(_held))
            _held.clear()
            name = _pending[0] if _pending else None
            _pending.clear()
            for sig in held:  # may raise (Interrupted, KeyboardInterrupt): after the block's work
                _deliver(sig)
            if name is not None:
                raise Interrupted(name)
