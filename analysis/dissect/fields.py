"""The dissection's records: a Field (as tshark's PDML has it) and the helpers that make them.

A Field is what Wireshark's packet-details pane shows on one line, with what PDML says of it:
`name` (the display-filter name, `ip.ttl`), `pos` and `size` (its bytes in the frame), `value`
(PDML's `value`: the field's bytes in hex, or, for a bit field, the masked value in upper-case
hex as PDML prints it; None for a field with no bytes, such as `tcp.len`), `show` (PDML's
`show`: the value as tshark prints it, `0x0800`, `10.0.0.1`, `1460`) and `children`.
A protocol layer is a Field too (`eth`, `ip`, `tcp`), `show` being its one-line summary.
"""
from __future__ import annotations

from typing import NamedTuple


class Field(NamedTuple):
    name: str                       # Wireshark's field name: "tcp.options.mss_val"
    pos: int                        # offset of the first byte in the frame
    size: int                       # bytes (0 for a computed field)
    value: str | None               # PDML's value: hex bytes, or the masked value of a bit field
    show: str                       # PDML's show: the value as tshark prints it
    children: tuple["Field", ...] = ()


class Dissection(NamedTuple):
    """One frame's dissection: its protocol layers, outermost first, and why it stopped early."""

    number: int | None              # frame number, when known
    layers: tuple[Field, ...]       # frame, eth/sll/null, vlan, arp/ip/ipv6, tcp/udp, data
    malformed: str | None           # where and why dissection stopped (also a `_ws.malformed` field)

    def fields(self):
        """Every field, depth first (layers themselves excluded)."""
        stack = [child for layer in reversed(self.layers) for child in reversed(layer.children)]
        while stack:
            field = stack.pop()
            yield field
            stack.extend(reversed(field.children))

    def find(self, name: str) -> list[Field]:
        """Every field (or layer) of this name, in frame order."""
        found = [layer for layer in self.layers if layer.name == name]
        return found + [field for field in self.fields() if field.name == name]


def raw(name: str, data, pos: int, size: int, show: str, children=()) -> Field:
    """A field whose value is its bytes."""
    return Field(name, pos, size, bytes(data[pos:pos + size]).hex(), show, tuple(children))


def uint(name: str, data, pos: int, size: int, *, hexa: int = 0, children=()) -> Field:
    """An unsigned integer field in network order; shown in decimal, or hex with `hexa` digits."""
    number = int.from_bytes(data[pos:pos + size], "big")
    return raw(name, data, pos, size, f"0x{number:0{hexa}x}" if hexa else str(number), children)


def bits(name: str, pos: int, size: int, number: int, show: str | None = None) -> Field:
    """A bit field: PDML's value is the masked, shifted value in upper-case hex."""
    return Field(name, pos, size, f"{number:X}", str(number) if show is None else show)


def computed(name: str, pos: int, show) -> Field:
    """A field with no bytes of its own (tcp.len, tcp.stream, frame.number)."""
    return Field(name, pos, 0, None, str(show))


def colon_hex(data, pos: int, size: int) -> str:
    return bytes(data[pos:pos + size]).hex(":")


def mac(data, pos: int) -> str:
    return colon_hex(data, pos, 6)


def ipv4_text(data, pos: int) -> str:
    return ".".join(str(b) for b in data[pos:pos + 4])


def ipv6_text(data, pos: int) -> str:
    from ipaddress import IPv6Address
    return str(IPv6Address(bytes(data[pos:pos + 16])))


def malformed(pos: int, reason: str) -> Field:
    """The marker of a layer cut short or invalid (Wireshark: `_ws.malformed` / `_ws.short`)."""
    return Field("_ws.malformed", pos, 0, None, reason)
