"""When numba's on-disk kernel caches (cache=True) are stale, and dropping them before one loads.

Numba checks only a kernel's own file, but our kernels inline each other and freeze the module
constants they read (vocabulary codes, Zeek's state numbers, limits in analysis/*.py). So the
caches are keyed here by the *contents* of every module a kernel can see: the modules of this
package that use numba, and everything of `analysis` they import, transitively. A change to any
of those drops every cached kernel; a change elsewhere (tally.py, a report) or a checkout that
only touches mtimes keeps them, so the ~60 s compile happens only when it must.
"""
from __future__ import annotations

import ast
import hashlib
import json
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
ANALYSIS_DIR = PACKAGE_DIR.parent
CACHE_DIR = PACKAGE_DIR / "__pycache__"
FINGERPRINT = CACHE_DIR / "kernels.sources.json"


def _module_file(name: str) -> Path | None:
    """analysis.x.y -> its .py file (package: __init__.py), or None outside analysis/."""
    parts = name.split(".")
    if parts[0] != "analysis":
        return None
    base = ANALYSIS_DIR.joinpath(*parts[1:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _module_name(path: Path) -> str:
    rel = path.relative_to(ANALYSIS_DIR.parent).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _uses_numba(tree: ast.Module) -> bool:
    return any(isinstance(n, ast.Import) and any(a.name.split(".")[0] == "numba" for a in n.names)
               or isinstance(n, ast.ImportFrom) and n.level == 0 and (n.module or "").split(".")[0] == "numba"
               for n in ast.walk(tree))


def _imports(path: Path, tree: ast.Module) -> set[str]:
    """The analysis modules ``path`` takes names from: `from analysis.x import y` is analysis.x.y
    when that is a module (package __init__ code is not a kernel's), else analysis.x; relative too."""
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                names.add(sub if _module_file(sub) is not None else module)
    return {n for n in names if n.split(".")[0] == "analysis"}


def kernel_sources() -> list[Path]:
    """Every module a kernel can see: numba users of this package and what they import, sorted."""
    trees = {p: ast.parse(p.read_bytes()) for p in _package_files()}
    pending = [p for p, tree in trees.items() if _uses_numba(tree)]
    seen: set[Path] = set()
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        tree = trees.get(path) or ast.parse(path.read_bytes())
        for name in _imports(path, tree):
            found = _module_file(name)
            if found is not None and found not in seen:
                pending.append(found)
    return sorted(seen)


def _package_files() -> list[Path]:
    """Every module of the engine, its stage sub-packages included."""
    return sorted(p for p in PACKAGE_DIR.rglob("*.py") if "__pycache__" not in p.parts)


def _package_modules() -> list[str]:
    return [str(p.relative_to(PACKAGE_DIR)) for p in _package_files()]


def _stats(paths: list[Path]) -> dict[str, list[int]]:
    return {str(p): [p.stat().st_mtime_ns, p.stat().st_size] for p in paths}


def sources_digest(paths: list[Path] | None = None) -> str:
    digest = hashlib.sha256()
    for path in kernel_sources() if paths is None else paths:
        digest.update(str(path.relative_to(ANALYSIS_DIR)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def drop_stale_kernel_caches() -> bool:
    """Drop every cached kernel if the sources they were compiled from changed; True if dropped.

    Fast path (every import): the recorded files still have their recorded mtimes and sizes and the
    package has the same modules. Only otherwise are the imports followed and the contents hashed."""
    try:
        recorded = json.loads(FINGERPRINT.read_text())
        stats, digest, modules = recorded["stats"], recorded["digest"], recorded["modules"]
        if modules == _package_modules() and \
                stats == _stats([Path(p) for p in stats]):
            return False
    except (OSError, ValueError, KeyError, TypeError):
        digest = None
    sources = kernel_sources()
    current = sources_digest(sources)
    dropped = False
    if current != digest:
        # numba writes each module's kernels beside it: one __pycache__ per stage sub-package
        for cache in PACKAGE_DIR.rglob("__pycache__/*.nb[ic]"):
            cache.unlink(missing_ok=True)
            dropped = True
        (CACHE_DIR / "warmup.done").unlink(missing_ok=True)   # analysis.columnar.warmup's marker
    try:
        CACHE_DIR.mkdir(exist_ok=True)
        FINGERPRINT.write_text(json.dumps({"digest": current, "stats": _stats(sources),
                                           "modules": _package_modules()}))
    except OSError:  # a read-only install: numba then cannot cache either, nothing to keep in step
        pass
    return dropped
