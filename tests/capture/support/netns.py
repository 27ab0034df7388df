"""The capture tests' markers (root, tshark), leftover checks, and running `python -m capture`."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def _can_make_namespaces() -> str | None:
    """None if this process can build the netns lab, else why not."""
    if os.geteuid() != 0:
        return "needs root (network namespaces)"
    if not Path("/proc/self/ns/net").exists():
        return "no network namespaces in this kernel"
    if shutil.which("tcpdump") is None:
        return "tcpdump is not installed"
    return None


SKIP_REASON = _can_make_namespaces()
needs_root = pytest.mark.skipif(SKIP_REASON is not None, reason=SKIP_REASON or "")
needs_tshark = pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed")


def lab_leftovers() -> dict[str, list[str]]:
    """Every lab- namespace, root-namespace link, and process living in a lab- namespace."""
    from capture.netns_backend import existing_lab_objects, namespace_inode
    from capture.state import processes_in_namespaces

    spaces, links = existing_lab_objects()
    inodes = {ino: n for n in spaces if (ino := namespace_inode(n)) is not None}
    procs = [str(what) for _, what in processes_in_namespaces(inodes)]   # "pid 12 (in lab-wire)"
    return {"namespaces": spaces, "links": links, "processes": procs}


def assert_no_leftovers() -> None:
    """Checked under the lab lock: the lab- names are machine-wide, and another worktree's run in
    progress (which holds the lock) is not a leftover of ours."""
    from capture.state import lab_lock

    with lab_lock():
        left = lab_leftovers()
    assert left == {"namespaces": [], "links": [], "processes": []}, f"lab leftovers: {left}"


def run_cli(*args: str, **kwargs) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    return subprocess.run([sys.executable, "-m", "capture", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=kwargs.pop("timeout", 120), **kwargs)
