"""Link layers as Wireshark dissects them: Ethernet (with 802.1Q tags), Linux cooked SLL / SLL2,
BSD loopback (NULL, LOOP); raw IP links have no link layer.

Each dissector returns (layers, ethertype, offset, malformed): the layer Fields, the network
protocol that follows (an ethertype; None when none follows), where it starts, and why the
link header could not be read whole (None when it could).
"""
from __future__ import annotations

from analysis.decode.link import (ETH_IPV4, ETH_IPV6, LINKTYPE_ETHERNET, LINKTYPE_IPV4,
                                  LINKTYPE_IPV6, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2,
                                  LINKTYPE_LOOP, LINKTYPE_NULL, LINKTYPE_RAW, LINKTYPE_RAW_DLT12,
                                  LINKTYPE_RAW_DLT14, NULL_FAMILY_ETHERTYPE, VLAN_TPIDS)
from analysis.dissect.fields import Field, bits, colon_hex, mac, raw, uint

# Ethernet-like ARPHRD types whose SLL address Wireshark shows as sll.src.eth
_SLL_ETHER_HATYPES = frozenset({1, 772, 778})


def _cut(layer: str, have: int, need: int) -> str:
    return f"{layer} header cut at {max(have, 0)} of {need} bytes"


def ethernet(data, base: int = 0):
    if len(data) < base + 14:
        return (), None, base, _cut("eth", len(data) - base, 14)
    ethertype = int.from_bytes(data[base + 12:base + 14], "big")
    eth = Field("eth", base, 14, None, f"Ethernet II, Src: {mac(data, base + 6)}, Dst: {mac(data, base)}",
                (raw("eth.dst", data, base, 6, mac(data, base)),
                 raw("eth.src", data, base + 6, 6, mac(data, base + 6)),
                 uint("eth.type", data, base + 12, 2, hexa=4)))
    layers = [eth]
    off = base + 14
    while ethertype in VLAN_TPIDS:
        if len(data) < off + 4:
            return tuple(layers), None, off, _cut("vlan", len(data) - off, 4)
        tci = int.from_bytes(data[off:off + 2], "big")
        ethertype = int.from_bytes(data[off + 2:off + 4], "big")
        layers.append(Field("vlan", off, 4, None, f"802.1Q Virtual LAN, PRI: {tci >> 13}, "
                            f"DEI: {(tci >> 12) & 1}, ID: {tci & 0x0FFF}", (
                                bits("vlan.priority", off, 2, tci >> 13),
                                bits("vlan.dei", off, 2, (tci >> 12) & 1),
                                bits("vlan.id", off, 2, tci & 0x0FFF),
                                uint("vlan.etype", data, off + 2, 2, hexa=4))))
        off += 4
    if ethertype <= 1500:               # an 802.3 length: no ethertype follows that we dissect
        return tuple(layers), None, off, None
    return tuple(layers), ethertype, off, None


def linux_sll(data, base: int = 0):
    if len(data) < 16:
        return (), None, 0, _cut("sll", len(data), 16)
    hatype = int.from_bytes(data[2:4], "big")
    halen = int.from_bytes(data[4:6], "big")
    children = [uint("sll.pkttype", data, 0, 2), uint("sll.hatype", data, 2, 2),
                uint("sll.halen", data, 4, 2)]
    children += _sll_address(data, 6, 8, hatype, halen)
    children.append(uint("sll.etype", data, 14, 2, hexa=4))
    return (Field("sll", 0, 16, None, "Linux cooked capture v1", tuple(children)),), \
        _protocol(data, 14), 16, None


def linux_sll2(data, base: int = 0):
    if len(data) < 20:
        return (), None, 0, _cut("sll", len(data), 20)
    hatype = int.from_bytes(data[8:10], "big")
    halen = data[11]
    children = [uint("sll.etype", data, 0, 2, hexa=4), uint("sll.ifindex", data, 4, 4),
                uint("sll.hatype", data, 8, 2), uint("sll.pkttype", data, 10, 1),
                uint("sll.halen", data, 11, 1)]
    children += _sll_address(data, 12, 8, hatype, halen)
    return (Field("sll", 0, 20, None, "Linux cooked capture v2", tuple(children)),), \
        _protocol(data, 0), 20, None


def _sll_address(data, pos: int, room: int, hatype: int, halen: int) -> list[Field]:
    if halen == 6 and hatype in _SLL_ETHER_HATYPES:
        return [raw("sll.src.eth", data, pos, 6, mac(data, pos)),
                raw("sll.unused", data, pos + 6, room - 6, colon_hex(data, pos + 6, room - 6))]
    if halen == 0:
        return [raw("sll.unused", data, pos, room, colon_hex(data, pos, room))]
    return []


def _protocol(data, pos: int) -> int | None:
    protocol = int.from_bytes(data[pos:pos + 2], "big")
    return protocol if protocol >= 0x0600 else None


def bsd_null(data, base: int = 0):
    if len(data) < 4:
        return (), None, 0, _cut("null", len(data), 4)
    family = int.from_bytes(data[0:4], "big")
    if family & 0xFFFF0000:             # written in the capturing host's (little-endian) order
        family = int.from_bytes(data[0:4], "little")
    field = Field("null.family", 0, 4, bytes(data[0:4]).hex(), str(family))
    return (Field("null", 0, 4, None, "Null/Loopback", (field,)),), \
        NULL_FAMILY_ETHERTYPE.get(family), 4, None


def bsd_loop(data, base: int = 0):
    if len(data) < 4:
        return (), None, 0, _cut("loop", len(data), 4)
    family = int.from_bytes(data[0:4], "big")
    field = Field("loop.family", 0, 4, bytes(data[0:4]).hex(), str(family))
    return (Field("loop", 0, 4, None, "OpenBSD Loopback", (field,)),), \
        NULL_FAMILY_ETHERTYPE.get(family), 4, None


def raw_ip(data, base: int = 0):
    version = data[0] >> 4 if len(data) else 0
    return (), {4: ETH_IPV4, 6: ETH_IPV6}.get(version), 0, None if len(data) else _cut("ip", 0, 1)


def raw_ipv4(data, base: int = 0):
    return (), ETH_IPV4, 0, None


def raw_ipv6(data, base: int = 0):
    return (), ETH_IPV6, 0, None


LINK_DISSECTORS = {
    LINKTYPE_ETHERNET: ethernet, LINKTYPE_LINUX_SLL: linux_sll, LINKTYPE_LINUX_SLL2: linux_sll2,
    LINKTYPE_NULL: bsd_null, LINKTYPE_LOOP: bsd_loop, LINKTYPE_RAW: raw_ip,
    LINKTYPE_RAW_DLT12: raw_ip, LINKTYPE_RAW_DLT14: raw_ip, LINKTYPE_IPV4: raw_ipv4,
    LINKTYPE_IPV6: raw_ipv6,
}
