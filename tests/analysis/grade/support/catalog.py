"""The messages the code marks for translation, read from the code itself (not a hand-kept list):
every string passed to `N_()`, `_()` or `ngettext()` in analysis/ (also inside f-strings, which
pybabel's extractor does not look into), plus argparse's own messages, which the CLIs show and our
catalog translates (extracted from the standard library's argparse.py with Babel)."""
from __future__ import annotations

import argparse
import ast
from pathlib import Path

from babel.messages.extract import extract_python

ANALYSIS = Path(__file__).resolve().parents[4] / "analysis"
ARGPARSE = "argparse.py"
_SINGULAR = ("N_", "_", "gettext")
_PLURAL = ("ngettext", "NP_")


def _name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):   # t.gettext(...), t.ngettext(...)
        return func.attr
    return None


def _text(node: ast.expr) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def code_messages(root: Path = ANALYSIS) -> dict[str | tuple[str, str], str]:
    """msgid (or (singular, plural)) -> "file:line" of its first use, for every module under root."""
    found: dict[str | tuple[str, str], str] = {}
    for path in sorted(root.rglob("*.py")):
        where = str(path.relative_to(root.parent))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = _name(node.func)
            if name in _SINGULAR and (text := _text(node.args[0])) is not None:
                found.setdefault(text, f"{where}:{node.lineno}")
            elif name in _PLURAL and len(node.args) >= 2:
                one, many = _text(node.args[0]), _text(node.args[1])
                if one is not None and many is not None:
                    found.setdefault((one, many), f"{where}:{node.lineno}")
    return found


def argparse_messages() -> dict[str | tuple[str, str], str]:
    found: dict[str | tuple[str, str], str] = {}
    with open(argparse.__file__, "rb") as handle:
        for lineno, _func, message, _comments in extract_python(
                handle, {"_": None, "ngettext": (1, 2)}, [], {}):
            if isinstance(message, tuple):
                message = tuple(m for m in message if m is not None)
                message = message if len(message) == 2 else (message[0] if message else None)
            if message:
                found.setdefault(message, f"{ARGPARSE}:{lineno}")
    return found


def messages() -> dict[str | tuple[str, str], str]:
    """Everything our catalog must translate: the code's messages and argparse's."""
    return {**argparse_messages(), **code_messages()}
