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
    """Checked under the lab lock: the lab- names are machine-wide, and another worktree's run in
    progress (which holds the lock) is not a leftover of ours."""
    from capture.state import lab_lock

    with lab_lock():
        left = lab_leftovers()
    assert left == {"namespaces": [], "links": [], "processes": []}, f"lab leftovers: {left}"


FIELDS = (
    "frame.number", "frame.len", "frame.protocols", "eth.src", "arp.opcode", "arp.src.proto_ipv4",
    "arp.dst.proto_ipv4", "arp.src.hw_mac", "ip.src", "ip.dst", "ip.checksum.status", "tcp.stream",
    "tcp.flags", "tcp.seq", "tcp.ack", "tcp.len", "tcp.payload", "tcp.checksum.status",
    "tcp.analysis.retransmission",
)


class Frame(dict):  # type: ignore[type-arg]
    """One frame as tshark dissected it: field name -> text ('' when absent)."""

    def flags(self) -> int:
        return int(self["tcp.flags"], 16) if self["tcp.flags"] else 0

    @property
    def syn(self) -> bool:
        return bool(self.flags() & 0x02)

    @property
    def ack(self) -> bool:
        return bool(self.flags() & 0x10)

    @property
    def fin(self) -> bool:
        return bool(self.flags() & 0x01)

    @property
    def rst(self) -> bool:
        return bool(self.flags() & 0x04)

    @property
    def psh(self) -> bool:
        return bool(self.flags() & 0x08)

    @property
    def payload(self) -> str:
        return bytes.fromhex(self["tcp.payload"].replace(":", "")).decode() if self["tcp.payload"] else ""


def frames(pcap: Path) -> list[Frame]:
    """Every frame of ``pcap``, dissected by tshark in one run (tshark is slow to start)."""
    argv = ["tshark", "-r", str(pcap), "-n", "-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
            "-o", "tcp.relative_sequence_numbers:TRUE", "-T", "fields", "-E", "occurrence=f"]
    for field in FIELDS:
        argv += ["-e", field]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=True)
    return [Frame(zip(FIELDS, line.split("\t"))) for line in done.stdout.splitlines()]


def payloads(rows: list[Frame], src: str) -> list[str]:
    """The TCP payloads sent by ``src``, decoded (one entry per segment, retransmissions included)."""
    return [f.payload for f in rows if f["ip.src"] == src and f["tcp.len"] not in ("", "0")]


def run_cli(*args: str, **kwargs) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    return subprocess.run([sys.executable, "-m", "capture", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=kwargs.pop("timeout", 120), **kwargs)
