"""A capture as tshark dissects it: one dict of fields per frame (the capture tests' oracle)."""
from __future__ import annotations

import subprocess
from pathlib import Path

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
