"""What `pip install .` puts on PATH: each console script is a main(argv) -> int that answers --help."""
from __future__ import annotations

import contextlib
import importlib
import io
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]


def test_every_python_m_command_of_the_readme_has_a_console_script() -> None:
    modules = {target.split(":")[0] for target in SCRIPTS.values()}
    assert {"lab.server", "lab.client", "lab.loadgen", "capture.cli", "analysis.cli"} <= modules


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_console_script_answers_help(name: str) -> None:
    module, func = SCRIPTS[name].split(":")
    main = getattr(importlib.import_module(module), func)
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as stop:
        main(["--help"])
    assert stop.value.code == 0
    assert "usage:" in out.getvalue()


def _third_party_imports() -> set[str]:
    """Top-level modules the tests import, and the benchmarks they run, that are neither the
    standard library nor the repo's."""
    import ast
    import sys

    local = {"lab", "capture", "analysis", "bench", "tests", "notebooks", "compose"}
    found = set()
    for path in [*(ROOT / "tests").rglob("*.py"), *(ROOT / "bench").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module
                     else [])
            found.update(n.split(".")[0] for n in names)
    return {n for n in found - local if n not in sys.stdlib_module_names}


def test_the_test_extra_installs_what_the_tests_import() -> None:
    """`pip install -e '.[test]'` then `pytest` runs the suite: every distribution a test imports
    is a dependency or in the test extra (pyinstrument, pyarrow, dask, babel were not)."""
    import re
    from importlib.metadata import packages_distributions

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    declared = {re.split(r"[\[<>=!~ ;]", spec, maxsplit=1)[0].lower().replace("_", "-") for spec in wanted}
    dists = packages_distributions()
    missing = {}
    for module in sorted(_third_party_imports()):
        names = {d.lower().replace("_", "-") for d in dists.get(module, [module])}
        if not names & declared:
            missing[module] = sorted(names)
    assert not missing, f"imported by tests but not in the test extra: {missing}"


def test_a_built_package_carries_its_compiled_catalogs(tmp_path) -> None:
    """`pip install .` (here: the wheel it builds) holds each catalog's .mo, compiled by setup.py
    from the .po, and an installed copy reads Indonesian from it."""
    import gettext
    import shutil
    import subprocess
    import sys
    import zipfile

    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".venv", ".git", "*.mo", "__pycache__",
                                                                 "reports", "test-artifacts", "*.pcap*"))
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                            "-w", str(tmp_path / "dist"), str(source)], capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr[-2000:]
    wheel = next((tmp_path / "dist").glob("*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        for mo in ("analysis/locale/id/LC_MESSAGES/reqresp.mo", "capture/locale/id/LC_MESSAGES/reqresp-capture.mo"):
            assert mo in names, sorted(n for n in names if "locale" in n)
        catalog = gettext.GNUTranslations(archive.open("analysis/locale/id/LC_MESSAGES/reqresp.mo"))
    assert catalog.gettext("frames by phase") == "frame per fase"
