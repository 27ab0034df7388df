"""The messages the analyzer's code marks for translation, read from the code itself (not a
hand-kept list): every string passed to `N_()`, `_()` or `ngettext()` in analysis/, plus
argparse's own messages, which the CLIs show and our catalog translates. The extraction itself is
tests/support/messages.py (the capture tool's catalog is checked the same way)."""
from __future__ import annotations

from pathlib import Path

from tests.support.messages import ARGPARSE, argparse_messages, code_messages as _code_messages

ANALYSIS = Path(__file__).resolve().parents[4] / "analysis"

__all__ = ["ANALYSIS", "ARGPARSE", "argparse_messages", "code_messages", "messages"]


def code_messages(root: Path = ANALYSIS) -> dict[str | tuple[str, str], str]:
    """msgid (or (singular, plural)) -> "file:line" of its first use, for every module under root."""
    return _code_messages(root)


def messages() -> dict[str | tuple[str, str], str]:
    """Everything our catalog must translate: the code's messages and argparse's."""
    return {**argparse_messages(), **code_messages()}
