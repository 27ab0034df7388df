"""The grader's messages, read from its code: every string passed to N_() or _() in
analysis/grade/ (also inside f-strings, which pybabel's extractor does not look into)."""
from __future__ import annotations

import ast
from pathlib import Path

GRADE = Path(__file__).resolve().parents[4] / "analysis" / "grade"


def messages() -> dict[str, str]:
    """msgid -> "file:line" of its first use."""
    found: dict[str, str] = {}
    for path in sorted(GRADE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in ("N_", "_") and node.args
                    and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                found.setdefault(node.args[0].value, f"{path.name}:{node.lineno}")
    return found
