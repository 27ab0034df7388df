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
