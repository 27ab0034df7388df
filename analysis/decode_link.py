"""Link-layer decoders: find where the network header starts and which protocol it is.

Each decoder takes the frame bytes and returns
    (eth_src, eth_dst, vlan_ids, ethertype, offset, malformed)
where `ethertype` is the network protocol (after VLAN tags, the SLL protocol field, or the NULL
address family mapped to 0x0800 / 0x86dd), `offset` where that protocol's header starts, and
`malformed` a reason when the link header itself could not be read (ethertype is then None).
"""
from __future__ import annotations

ETH_IPV4, ETH_ARP, ETH_RARP, ETH_IPV6 = 0x0800, 0x0806, 0x8035, 0x86DD
VLAN_TPIDS = frozenset({0x8100, 0x88A8, 0x9100})   # 802.1Q, 802.1ad, old Q-in-Q
NULL_FAMILY_ETHERTYPE = {2: ETH_IPV4, 24: ETH_IPV6, 28: ETH_IPV6, 30: ETH_IPV6}

LINKTYPE_NULL, LINKTYPE_ETHERNET, LINKTYPE_RAW, LINKTYPE_LOOP = 0, 1, 101, 108
LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2, LINKTYPE_IPV4, LINKTYPE_IPV6 = 113, 276, 228, 229
# DLT_RAW is 12 on most systems and 14 on OpenBSD; files written with them mean raw IP too
LINKTYPE_RAW_DLT12, LINKTYPE_RAW_DLT14 = 12, 14

LINKTYPE_NAMES = {
    LINKTYPE_NULL: "NULL (BSD loopback)", LINKTYPE_ETHERNET: "Ethernet", LINKTYPE_RAW: "raw IP",
    LINKTYPE_RAW_DLT12: "raw IP (DLT 12)", LINKTYPE_RAW_DLT14: "raw IP (DLT 14)",
    LINKTYPE_LOOP: "OpenBSD loopback", LINKTYPE_LINUX_SLL: "Linux cooked (SLL)",
    LINKTYPE_LINUX_SLL2: "Linux cooked v2 (SLL2)", LINKTYPE_IPV4: "raw IPv4",
    LINKTYPE_IPV6: "raw IPv6",
}

NO_VLANS: tuple[int, ...] = ()


def _cut(layer: str, have: int, need: int) -> str:
    return f"{layer} header cut at {have} of {need} bytes"


def ethernet(data: bytes):
    size = len(data)
    if size < 14:
        return None, None, NO_VLANS, None, size, _cut("ethernet", size, 14)
    ethertype = (data[12] << 8) | data[13]
    offset = 14
    vlans = NO_VLANS
    while ethertype in VLAN_TPIDS:
        if size < offset + 4:
            return (data[6:12].hex(":"), data[0:6].hex(":"), vlans, None, offset,
                    _cut("vlan", size - offset, 4))
        vlans = vlans + ((((data[offset] << 8) | data[offset + 1]) & 0x0FFF),)
        ethertype = (data[offset + 2] << 8) | data[offset + 3]
        offset += 4
    if ethertype <= 1500:
        # 802.3 length field: only LLC/SNAP (AA AA 03, OUI 000000) carries an ethertype
        if data[offset:offset + 6] == b"\xaa\xaa\x03\x00\x00\x00" and size >= offset + 8:
            ethertype = (data[offset + 6] << 8) | data[offset + 7]
            offset += 8
        else:
            ethertype = None
    return data[6:12].hex(":"), data[0:6].hex(":"), vlans, ethertype, offset, None


def _sll_protocol(protocol: int) -> int | None:
    # below 0x0600 the field is not an ethertype (1 = 802.3, 4 = 802.2 LLC, ...)
    return protocol if protocol >= 0x0600 else None


def linux_sll(data: bytes):
    # packet type(2) ARPHRD type(2) address length(2) address(8) protocol(2)
    if len(data) < 16:
        return None, None, NO_VLANS, None, len(data), _cut("linux sll", len(data), 16)
    halen = min((data[4] << 8) | data[5], 8)
    src = data[6:6 + halen].hex(":") if halen else None
    return src, None, NO_VLANS, _sll_protocol((data[14] << 8) | data[15]), 16, None


def linux_sll2(data: bytes):
    # protocol(2) reserved(2) ifindex(4) ARPHRD type(2) packet type(1) address length(1) address(8)
    if len(data) < 20:
        return None, None, NO_VLANS, None, len(data), _cut("linux sll2", len(data), 20)
    halen = min(data[11], 8)
    src = data[12:12 + halen].hex(":") if halen else None
    return src, None, NO_VLANS, _sll_protocol((data[0] << 8) | data[1]), 20, None


def _family_ethertype(family: int) -> int | None:
    return NULL_FAMILY_ETHERTYPE.get(family)


def bsd_null(data: bytes):
    # the address family in the *capturing* host's byte order: a value with its upper 16 bits set
    # was written little-endian (Wireshark's rule)
    if len(data) < 4:
        return None, None, NO_VLANS, None, len(data), _cut("null", len(data), 4)
    family = int.from_bytes(data[0:4], "big")
    if family & 0xFFFF0000:
        family = int.from_bytes(data[0:4], "little")
    return None, None, NO_VLANS, _family_ethertype(family), 4, None


def bsd_loop(data: bytes):
    # OpenBSD loopback: the address family is always in network byte order
    if len(data) < 4:
        return None, None, NO_VLANS, None, len(data), _cut("loop", len(data), 4)
    return None, None, NO_VLANS, _family_ethertype(int.from_bytes(data[0:4], "big")), 4, None


def raw_ip(data: bytes):
    if not data:
        return None, None, NO_VLANS, None, 0, _cut("ip", 0, 1)
    version = data[0] >> 4
    ethertype = ETH_IPV4 if version == 4 else ETH_IPV6 if version == 6 else None
    return None, None, NO_VLANS, ethertype, 0, None


def raw_ipv4(data: bytes):
    return None, None, NO_VLANS, ETH_IPV4, 0, None


def raw_ipv6(data: bytes):
    return None, None, NO_VLANS, ETH_IPV6, 0, None


LINK_DECODERS = {
    LINKTYPE_ETHERNET: ethernet, LINKTYPE_LINUX_SLL: linux_sll, LINKTYPE_LINUX_SLL2: linux_sll2,
    LINKTYPE_NULL: bsd_null, LINKTYPE_LOOP: bsd_loop, LINKTYPE_RAW: raw_ip,
    LINKTYPE_RAW_DLT12: raw_ip, LINKTYPE_RAW_DLT14: raw_ip, LINKTYPE_IPV4: raw_ipv4,
    LINKTYPE_IPV6: raw_ipv6,
}
