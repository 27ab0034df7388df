"""The numba cache rule: a change to what a kernel can see drops every cached kernel, nothing else does."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from analysis.columnar import kernel_cache

SOURCE = Path(kernel_cache.__file__).resolve().parents[1]


@pytest.fixture
def tree(tmp_path, monkeypatch):
    """A copy of analysis/ whose columnar/__pycache__ holds fake kernel caches."""
    copy = tmp_path / "analysis"
    shutil.copytree(SOURCE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    package = copy / "columnar"
    monkeypatch.setattr(kernel_cache, "PACKAGE_DIR", package)
    monkeypatch.setattr(kernel_cache, "ANALYSIS_DIR", copy)
    monkeypatch.setattr(kernel_cache, "CACHE_DIR", package / "__pycache__")
    monkeypatch.setattr(kernel_cache, "FINGERPRINT", package / "__pycache__" / "kernels.sources.json")
    assert kernel_cache.drop_stale_kernel_caches() is False   # nothing cached yet: nothing to drop
    return copy


def _fake_caches(copy: Path) -> list[Path]:
    cache = copy / "columnar" / "tcp" / "__pycache__"   # numba caches beside the kernel's module
    cache.mkdir(exist_ok=True)
    files = [cache / "kernel.analyze-10.py311.nbi", cache / "kernel.analyze-10.py311.1.nbc"]
    for f in files:
        f.write_bytes(b"x")
    return files


def _edit(path: Path, text: str = "\n# edited\n") -> None:
    path.write_text(path.read_text() + text)


def test_what_kernels_see_includes_the_constants_they_freeze() -> None:
    names = {str(p.relative_to(SOURCE)) for p in kernel_cache.kernel_sources()}
    assert {"columnar/tcp/kernel.py", "columnar/conn/kernel.py", "conn/zeek.py", "vocabulary.py"} <= names
    assert "columnar/tally.py" not in names and "report/html.py" not in names


def test_a_module_no_kernel_sees_keeps_the_caches(tree: Path) -> None:
    caches = _fake_caches(tree)
    _edit(tree / "columnar" / "tally.py")
    _edit(tree / "report" / "html.py")
    assert kernel_cache.drop_stale_kernel_caches() is False
    assert all(c.exists() for c in caches)


def test_a_touched_but_unchanged_kernel_keeps_the_caches(tree: Path) -> None:
    caches = _fake_caches(tree)
    kernel = tree / "columnar" / "tcp" / "kernel.py"
    os.utime(kernel, ns=(kernel.stat().st_atime_ns, kernel.stat().st_mtime_ns + 10**9))
    assert kernel_cache.drop_stale_kernel_caches() is False
    assert all(c.exists() for c in caches)


@pytest.mark.parametrize("changed", ["columnar/conn/kernel.py", "conn/zeek.py", "vocabulary.py"])
def test_a_change_to_what_a_kernel_sees_drops_every_cache(tree: Path, changed: str) -> None:
    caches = _fake_caches(tree)
    _edit(tree / changed, "\nSOME_NEW_CONSTANT = 3\n")
    assert kernel_cache.drop_stale_kernel_caches() is True
    assert not any(c.exists() for c in caches)
    assert kernel_cache.drop_stale_kernel_caches() is False  # recorded: the next import keeps them


def test_a_new_kernel_module_drops_the_caches(tree: Path) -> None:
    caches = _fake_caches(tree)
    (tree / "columnar" / "new_kernel.py").write_text("from numba import njit\n")
    assert kernel_cache.drop_stale_kernel_caches() is True
    assert not any(c.exists() for c in caches)
