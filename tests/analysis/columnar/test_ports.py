"""The port map (analysis/columnar/ports.py): every kernel names the per-frame stage it ports,
both sides exist, and the cross-engine tests compare each stage port with its reference."""
from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from analysis.columnar import kernel_cache, ports

ROOT = Path(__file__).resolve().parents[3]
TESTS = Path(__file__).resolve().parent


def resolve(spec: str):
    module, _, name = spec.partition(":")
    obj = importlib.import_module(module)
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


@pytest.mark.parametrize("port", ports.PORTS, ids=lambda p: p.kernel)
def test_both_sides_of_every_port_exist(port: ports.Port) -> None:
    assert port.kernel.startswith("analysis.columnar."), port.kernel
    assert not port.reference.startswith("analysis.columnar."), port.reference
    assert callable(resolve(port.kernel)) and resolve(port.reference) is not None
    if port.compared_by:
        assert port.compared_by in {p.kernel for p in ports.stage_ports()}, port.compared_by


def test_every_numba_module_is_in_the_map() -> None:
    mapped = {p.kernel.split(":")[0] for p in ports.PORTS} | set(ports.NOT_PORTS)
    numba_modules = set()
    for path in kernel_cache._package_files():
        if kernel_cache._uses_numba(ast.parse(path.read_bytes())) and path.name != "__init__.py":
            numba_modules.add(kernel_cache._module_name(path))
    missing = sorted(numba_modules - mapped)
    assert not missing, f"kernel modules without a row in analysis/columnar/ports.py: {missing}"
    assert not set(ports.NOT_PORTS) - numba_modules


def _imported_names(path: Path, seen: set[Path] | None = None) -> set[str]:
    """module:name for every `from module import name` of a test module, and of the test support
    modules it imports (where the reference stages are built)."""
    seen = seen if seen is not None else set()
    seen.add(path)
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.update(f"{node.module}:{a.name}" for a in node.names)
            if node.module.startswith("tests.") and ".support." in f"{node.module}.":
                support = ROOT.joinpath(*node.module.split(".")).with_suffix(".py")
                if support.is_file() and support not in seen:
                    names |= _imported_names(support, seen)
    return names


@pytest.mark.parametrize("port", ports.stage_ports(), ids=lambda p: p.kernel)
def test_a_cross_engine_test_compares_each_stage_port(port: ports.Port) -> None:
    """Some test module in tests/analysis/columnar/ imports both the stage's kernel and its
    reference (itself or through its support modules): the two are run side by side there."""
    comparing = [p.name for p in sorted(TESTS.glob("test_*.py")) if p.name != Path(__file__).name
                 and {port.kernel, port.reference} <= _imported_names(p)]
    assert comparing, f"no test in tests/analysis/columnar/ imports both {port.kernel} and {port.reference}"


def test_the_map_names_the_renamed_ports() -> None:
    """The ports whose names differ from their reference's, as the issue found them."""
    pairs = {(p.kernel, p.reference) for p in ports.PORTS}
    assert ("analysis.columnar.tcp.flows:analyze_segment", "analysis.tcp.sequence:analyze_segment") in pairs
