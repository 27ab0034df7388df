"""Shared helpers for the capture tests: the root marker, leftover checks, tshark queries."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


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
    procs = [what for _, what in processes_in_namespaces(inodes)]
    return {"namespaces": spaces, "links": links, "processes": procs}


def assert_no_leftovers() -> None:
    left = lab_leftovers()
    assert left == {"namespaces": [], "links": [], "processes": []}, f"lab leftovers: {left}"


def tshark(pcap: Path, fields: list[str], display_filter: str = "") -> list[list[str]]:
    """Rows of the requested fields, one per frame matching ``display_filter``."""
    argv = ["tshark", "-r", str(pcap), "-n", "-o", "tcp.check_checksum:TRUE", "-T", "fields"]
    for field in fields:
        argv += ["-e", field]
    if display_filter:
        argv += ["-Y", display_filter]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=True)
    return [line.split("\t") for line in done.stdout.splitlines()]


def count(pcap: Path, display_filter: str) -> int:
    return len(tshark(pcap, ["frame.number"], display_filter))


def payloads(pcap: Path, src: str) -> list[str]:
    """The TCP payloads sent by ``src``, decoded (one entry per segment)."""
    rows = tshark(pcap, ["tcp.payload"], f"ip.src=={src} && tcp.len>0")
    return [bytes.fromhex(row[0].replace(":", "")).decode() for row in rows]


def run_cli(*args: str, **kwargs) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    return subprocess.run([sys.executable, "-m", "capture", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=kwargs.pop("timeout", 120), **kwargs)
