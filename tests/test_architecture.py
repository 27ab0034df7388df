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


def _calls_naming_module(source: str, module: str) -> list[int]:
    """Line numbers of calls that pass ``module`` as an argument (``python_module("lab.server", ...)``,
    ``[sys.executable, "-m", "lab.server"]``): code that starts it, not a docstring that names it."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            values = [*node.args, *(k.value for k in node.keywords)]
            for value in values:
                items = value.elts if isinstance(value, (ast.List, ast.Tuple)) else [value]
                if any(isinstance(i, ast.Constant) and i.value == module for i in items):
                    lines.append(node.lineno)
    return lines


def test_capture_starts_the_lab_as_a_process_not_an_import() -> None:
    launches = [f"{p.relative_to(ROOT)}:{line}" for p in sorted((ROOT / "capture").rglob("*.py"))
                for line in _calls_naming_module(p.read_text(), "lab.server")]
    assert launches, "capture/ should start the server as a process (python_module('lab.server', ...))"


def test_the_launch_check_reads_code_not_docstrings() -> None:
    assert _calls_naming_module('"""runs python -m lab.server"""\nx = 1\n', "lab.server") == []
    assert _calls_naming_module('start(python_module("lab.server", "--port", "1"))\n', "lab.server") == [1]
    assert _calls_naming_module('run([exe, "-m", "lab.server"])\n', "lab.server") == [1]


def test_notebooks_use_public_apis_only() -> None:
    for nb in (ROOT / "notebooks").glob("*.ipynb"):
        cells = json.loads(nb.read_text())["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        code = "\n".join(line for line in code.splitlines() if not line.lstrip().startswith(("%", "!")))
        for top in _imported_tops(code) & REPO_TOP:
            assert top in {"analysis", "capture"}, f"{nb.name} imports {top}"
        assert "analysis._" not in code and "capture._" not in code, f"{nb.name} uses a private name"


def _test_imports(path: Path) -> list[str]:
    """The modules under tests/ that a file imports (absolute names)."""
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return [n for n in names if n.split(".")[0] == "tests"]


def _is_support(path: Path) -> bool:
    return "support" in path.relative_to(ROOT / "tests").parts[:-1]


def test_no_test_imports_a_test_module_or_a_conftest() -> None:
    """Shared test helpers live in tests/<pkg>/support/; a test module or a conftest is never a
    library (importing a test module runs its tests' collection twice; importing a conftest
    imports it a second time under another name, with its fixtures)."""
    bad = [f"{p.relative_to(ROOT)} imports {n}" for p in sorted((ROOT / "tests").rglob("*.py"))
           for n in _test_imports(p) if ".support." not in f".{n}." and n != "tests"]
    assert not bad, "; ".join(bad)


def test_test_helpers_live_in_support_packages() -> None:
    """Beside test modules and conftests, tests/ holds only support/ packages (and __init__.py)."""
    bad = [str(p.relative_to(ROOT)) for p in sorted((ROOT / "tests").rglob("*.py"))
           if not (p.name.startswith("test_") or p.name in ("conftest.py", "__init__.py") or _is_support(p))]
    assert not bad, "helpers outside tests/<pkg>/support/: " + ", ".join(bad)
    missing = [str(p.parent.relative_to(ROOT)) for p in (ROOT / "tests").rglob("support/*.py")
               if not (p.parent / "__init__.py").exists()]
    assert not missing, "support folders without __init__.py: " + ", ".join(sorted(set(missing)))


def _is_fixture_or_hook(node: ast.stmt) -> bool:
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return False
    if node.name.startswith("pytest_"):
        return True
    for deco in node.decorator_list:
        target = deco.func if isinstance(deco, ast.Call) else deco
        if isinstance(target, ast.Attribute) and target.attr == "fixture":
            return True
    return False


def test_conftests_hold_only_fixtures_and_hooks() -> None:
    """A conftest defines fixtures and pytest hooks; every other helper is in support/."""
    bad = []
    for path in sorted((ROOT / "tests").rglob("conftest.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) \
                    and not _is_fixture_or_hook(node):
                bad.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                bad.append(f"{path.relative_to(ROOT)}:{node.lineno} a module-level name")
    assert not bad, "non-fixture helpers in conftests: " + "; ".join(bad)


def test_the_helper_checks_see_what_they_look_for() -> None:
    assert _is_fixture_or_hook(ast.parse("@pytest.fixture(scope='session')\ndef f(): pass").body[0])
    assert _is_fixture_or_hook(ast.parse("def pytest_configure(config): pass").body[0])
    assert not _is_fixture_or_hook(ast.parse("def pcap_bytes(frames): pass").body[0])


# --- inside analysis: the stages, the reports and the engine's internals ---------------------------

def _analysis_imports(path: Path) -> set[str]:
    """The analysis modules a file imports (absolute names; relative imports resolved)."""
    return _analysis_imports_of(path.read_text(), ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1]))


def _analysis_imports_of(source: str, package: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return {n for n in names if n.split(".")[0] == "analysis"}


STAGES = ("read", "decode", "tcp", "conn", "session")
# what may import the columnar engine's internals: the engine itself and the front doors
ENGINE_DOORS = {"analysis/__init__.py", "analysis/api.py", "analysis/cli.py"}


def _modules_under(*parts: str) -> list[Path]:
    return sorted((ROOT / "analysis").joinpath(*parts).rglob("*.py"))


@pytest.mark.parametrize("stage", STAGES + ("figures",))
def test_stages_and_figures_never_import_the_reports(stage: str) -> None:
    bad = [f"{p.relative_to(ROOT)} imports {name}" for p in _modules_under(stage)
           for name in _analysis_imports(p) if name.startswith(("analysis.report", "analysis.figures"))
           and not name.startswith(f"analysis.{stage}")]
    assert not bad, "; ".join(bad)


def test_a_stage_imports_only_earlier_stages() -> None:
    bad = []
    for i, stage in enumerate(STAGES):
        later = tuple(f"analysis.{s}" for s in STAGES[i + 1:])
        bad += [f"{p.relative_to(ROOT)} imports {name}" for p in _modules_under(stage)
                for name in _analysis_imports(p) if later and name.startswith(later)]
    assert not bad, "; ".join(bad)


def test_only_the_front_doors_import_the_engines_internals() -> None:
    bad = []
    for path in sorted((ROOT / "analysis").rglob("*.py")):
        rel = str(path.relative_to(ROOT))
        if rel.startswith("analysis/columnar/") or rel in ENGINE_DOORS:
            continue
        bad += [f"{rel} imports {name}" for name in _analysis_imports(path)
                if name.startswith("analysis.columnar")]
    assert not bad, "; ".join(bad)


def test_the_direction_check_sees_relative_imports() -> None:
    found = _analysis_imports_of("from ..report import questions\n", "analysis.figures")
    assert {"analysis.report", "analysis.report.questions"} <= found
