"""The MAC-to-IP bindings ARP shows, read from the frames' ARP headers (LabeledFrame.arp).

Used by the lab's questions (analysis.report.questions) and the ladder figure (analysis.figures).
"""
from __future__ import annotations

from analysis.model import ArpHeader, LabeledFrame

BROADCAST_MAC = "ff:ff:ff:ff:ff:ff"
ARP_REQUEST, ARP_REPLY = 1, 2          # arp.opcode (3 and 4 are RARP)


def resolves(arp: ArpHeader, ips: set[str]) -> bool:
    """An ARP request asking for, or sent by, one of `ips`, or a reply from one of them."""
    if arp.opcode == ARP_REQUEST:
        return bool({arp.spa, arp.tpa} & ips)
    return arp.opcode == ARP_REPLY and arp.spa in ips


def mac_to_ip(frames: list[LabeledFrame]) -> dict[str, str]:
    """Each MAC address the ARP frames tie to an IPv4 address (the sender's binding)."""
    table: dict[str, str] = {}
    for frame in frames:
        arp = frame.arp
        if (arp is not None and arp.opcode in (ARP_REQUEST, ARP_REPLY) and arp.spa
                and arp.spa != "0.0.0.0"):
            table.setdefault(arp.sha.lower(), arp.spa)
    return table
