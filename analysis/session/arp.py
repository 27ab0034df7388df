"""What an ARP frame says (opcode, sender and target addresses), and the MAC-to-IP bindings ARP shows.

Used by the lab's questions (analysis.report.questions) and the ladder figure (analysis.figures).
"""
from __future__ import annotations

import re
from typing import NamedTuple

from analysis.model import LabeledFrame

BROADCAST_MAC = "ff:ff:ff:ff:ff:ff"

# The analyzer's Info column for ARP (api.frame_info) is where the sender and target protocol
# addresses survive in a LabeledFrame; its MAC columns hold the Ethernet addresses.
_WHO_HAS = re.compile(r"^Who has (?P<target>\S+)\? Tell (?P<sender>\S+)$")
_IS_AT = re.compile(r"^(?P<sender>\S+) is at (?P<mac>\S+)$")
_ANNOUNCE = re.compile(r"^ARP Announcement for (?P<sender>\S+)$")


class ArpFields(NamedTuple):
    """What an ARP frame says, read back from its Info text and its MAC addresses."""

    opcode: int | None       # 1 request, 2 reply; None for an announcement (either opcode)
    sender_ip: str
    sender_mac: str
    target_ip: str | None    # the address asked about (request); None for a reply
    target_mac: str          # the frame's destination MAC (broadcast for a request)


def arp_fields(frame: LabeledFrame) -> ArpFields | None:
    """The ARP fields of an ARP frame; None for any other frame."""
    if frame.phase != "arp":
        return None
    match = _WHO_HAS.match(frame.info)
    if match:
        return ArpFields(1, match["sender"], frame.src, match["target"], frame.dst)
    match = _IS_AT.match(frame.info)
    if match:
        return ArpFields(2, match["sender"], match["mac"], None, frame.dst)
    match = _ANNOUNCE.match(frame.info)
    if match:
        return ArpFields(None, match["sender"], frame.src, match["sender"], frame.dst)
    return None


def mac_to_ip(frames) -> dict[str, str]:
    """Each MAC address the ARP frames tie to an IPv4 address (the sender's binding)."""
    table: dict[str, str] = {}
    for frame in frames:
        fields = arp_fields(frame)
        if fields is not None and fields.sender_ip and fields.sender_ip != "0.0.0.0":
            table.setdefault(fields.sender_mac.lower(), fields.sender_ip)
    return table
