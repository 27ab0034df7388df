"""The directions of dependency between the top-level packages (see README, Layout)."""
from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("lab", "capture", "analysis")
# package -> the repo packages it may import (besides itself)
ALLOWED: dict[str, set[str]] = {"lab": set(), "capture": set(), "analysis": set()}
REPO_TOP = set(PACKAGES) | {"tests", "bench", "notebooks"}


def _imported_tops(source: str) -> set[str]:
    tops: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            tops.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            tops.add(node.module.split(".")[0])
    return tops


@pytest.mark.parametrize("package", PACKAGES)
def test_package_imports_only_what_it_may(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"{package}/ has no Python files"
    bad = []
    for path in files:
        for top in _imported_tops(path.read_text()) & REPO_TOP:
            if top != package and top not in ALLOWED[package]:
                bad.append(f"{path.relative_to(ROOT)} imports {top}")
    assert not bad, "forbidden imports: " + "; ".join(bad)


def test_capture_starts_the_lab_as_a_process_not_an_import() -> None:
    sources = "\n".join(p.read_text() for p in (ROOT / "capture").rglob("*.py"))
    assert "lab.server" in sources, "capture/ should start the server with python -m lab.server"


def test_notebooks_use_public_apis_only() -> None:
    for nb in (ROOT / "notebooks").glob("*.ipynb"):
        cells = json.loads(nb.read_text())["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        code = "\n".join(line for line in code.splitlines() if not line.lstrip().startswith(("%", "!")))
        for top in _imported_tops(code) & REPO_TOP:
            assert top in {"analysis", "capture"}, f"{nb.name} imports {top}"
        assert "analysis._" not in code and "capture._" not in code, f"{nb.name} uses a private name"
