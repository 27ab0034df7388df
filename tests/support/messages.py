"""The messages a package's code marks for translation, read from the code itself (not a
hand-kept list): every string passed to `N_()`, `_()`, `gettext()`, `ngettext()` or `NP_()` under
a folder (also inside f-strings, which pybabel's extractor does not look into), plus argparse's own
messages, which the CLIs show and each catalog translates (extracted from the standard library's
argparse.py with Babel). Used by the analyzer's and the capture tool's completeness tests."""
from __future__ import annotations

import argparse
import ast
import re
import string
from pathlib import Path

from babel.messages.extract import extract_python
from babel.messages.pofile import read_po

ARGPARSE = "argparse.py"
_SINGULAR = ("N_", "_", "gettext")
_PLURAL = ("ngettext", "NP_")
_PERCENT = re.compile(r"%(?:\((\w+)\))?[-#0 +]*\d*(?:\.\d+)?[srdifgxXc%]")

def _name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):   # t.gettext(...), t.ngettext(...)
        return func.attr
    return None


def _text(node: ast.expr) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def code_messages(root: Path) -> dict[str | tuple[str, str], str]:
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


def read_catalog(po: Path, locale: str) -> dict:  # type: ignore[type-arg]
    """msgid (or (singular, plural)) -> babel Message, without the header."""
    with open(po, "rb") as handle:
        return {m.id: m for m in read_po(handle, locale=locale) if m.id}


def placeholders(text: str) -> list[str]:
    """The `{field}` and `%s`/`%(name)s` placeholders of a message, sorted (their order may change)."""
    braces = sorted(f"{{{f}}}" for _, f, _, _ in string.Formatter().parse(text) if f is not None)
    return braces + sorted(m.group(0) for m in _PERCENT.finditer(text) if m.group(0) != "%%")


def translations(message) -> list[str]:  # type: ignore[no-untyped-def]
    """Every msgstr of a catalog entry (one per plural form)."""
    return list(message.string) if isinstance(message.string, (tuple, list)) else [message.string]
