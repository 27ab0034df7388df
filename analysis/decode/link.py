"""Link-layer decoders: find where the network header starts and which protocol it is.

Each decoder takes the frame bytes and returns
    (eth_src, eth_dst, vlan_ids, ethertype, offset, malformed)
where `ethertype` is the network protocol (after VLAN tags, the SLL protocol field, or the NULL
address family mapped to 0x0800 / 0x86dd), `offset` where that protocol's header starts, and
`malformed` a reason when the link header itself could not be read (ethertype is then None).

The encapsulations met on ordinary links are stepped over here too (`peel`): a PPPoE session
header with its PPP protocol, and an MPLS label stack.  The tunnels (GRE, VXLAN) sit behind an
IP header and are in decode.py; their inner Ethernet frame is read by `ethernet_at`.

A layer whose protocol we do not decode is reported as an `undecoded` code (UNDECODED_*:
kind << 16 | value); `undecoded_layer(code)` names it ("Ethernet type 0x88cc").  Both engines
count frames by code and give one warning line per code.
"""
from __future__ import annotations

from analysis.i18n import NP_
from analysis.model import Malformed, Warning, warning

ETH_IPV4, ETH_ARP, ETH_RARP, ETH_IPV6 = 0x0800, 0x0806, 0x8035, 0x86DD
ETH_PPPOE_SESSION, ETH_MPLS, ETH_MPLS_MULTICAST = 0x8864, 0x8847, 0x8848
ETH_TEB = 0x6558          # GRE "transparent Ethernet bridging": an Ethernet frame follows
PPP_IPV4, PPP_IPV6 = 0x0021, 0x0057
PPPOE_HEADER = 8          # ver/type, code, session id, length (6) + the PPP protocol (2)
MPLS_ENTRY = 4            # label (20 bits), traffic class (3), bottom of stack (1), TTL (8)
VXLAN_PORT = 4789         # IANA, RFC 7348
VXLAN_HEADER = 8
MAX_TUNNELS = 4           # GRE / VXLAN levels decoded in one frame; deeper ones stay payload

UNDECODED_ETHERTYPE, UNDECODED_PPP, UNDECODED_MPLS = 0, 1, 2
_UNDECODED_TEXT = {UNDECODED_ETHERTYPE: "Ethernet type 0x{:04x}",
                   UNDECODED_PPP: "PPP protocol 0x{:04x}",
                   UNDECODED_MPLS: "MPLS payload of IP version {}"}


def undecoded_layer(code: int) -> str:
    """The layer an undecoded code stands for: 'Ethernet type 0x88cc', 'PPP protocol 0xc021'."""
    return _UNDECODED_TEXT[code >> 16].format(code & 0xFFFF)


def undecoded_warnings(path: str, seen: dict) -> list[Warning]:
    """The warnings both engines give for layers they do not decode, one line per layer
    (`seen`: UNDECODED_* code -> [frames, first frame number]), most frames first."""
    out = []
    for code, (count, first) in sorted(seen.items(), key=lambda item: (-item[1][0], item[0])):
        out.append(warning(
            "not-decoded", NP_("{path}: {count} frame behind {layer} not decoded (the first is frame {first})",
                                "{path}: {count} frames behind {layer} not decoded (the first is frame {first})"),
            frame=first, path=path, count=count, layer=undecoded_layer(code), first=first))
    return out
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


def _cut(layer: str, have: int, need: int) -> Malformed:
    return Malformed("cut", f"{layer} header cut at {have} of {need} bytes")


def ethernet(data: bytes):
    return ethernet_at(data, 0)


def ethernet_at(data: bytes, base: int):
    """An Ethernet header at data[base:] (a frame's own, or one inside GRE / VXLAN)."""
    size = len(data)
    if size < base + 14:
        have = max(size - base, 0)
        return None, None, NO_VLANS, None, base + have, _cut("ethernet", have, 14)
    ethertype = (data[base + 12] << 8) | data[base + 13]
    offset = base + 14
    vlans = NO_VLANS
    src, dst = data[base + 6:base + 12].hex(":"), data[base:base + 6].hex(":")
    while ethertype in VLAN_TPIDS:
        if size < offset + 4:
            return src, dst, vlans, None, offset, _cut("vlan", size - offset, 4)
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
    return src, dst, vlans, ethertype, offset, None


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


def peel(data: bytes, ethertype: int | None, off: int):
    """Step over a PPPoE session header or an MPLS label stack at data[off:]:
    (ethertype, offset, layers, undecoded, malformed) of what follows - ETH_IPV4 / ETH_IPV6 after
    the PPP protocol or the bottom of the stack, or the arguments unchanged for any other
    ethertype.  `layers` names the headers stepped over (vocabulary.ENCAPSULATIONS).  Where the
    payload's protocol is one we do not decode, ethertype is None and `undecoded` its code; where
    a header is cut, ethertype is None and `malformed` says so."""
    if ethertype == ETH_PPPOE_SESSION:
        have = len(data) - off
        if have < PPPOE_HEADER:
            return None, off, (), None, _cut("pppoe", max(have, 0), PPPOE_HEADER)
        protocol = (data[off + 6] << 8) | data[off + 7]
        off += PPPOE_HEADER
        if protocol == PPP_IPV4:
            return ETH_IPV4, off, ("pppoe",), None, None
        if protocol == PPP_IPV6:
            return ETH_IPV6, off, ("pppoe",), None, None
        return None, off, ("pppoe",), (UNDECODED_PPP << 16) | protocol, None
    if ethertype == ETH_MPLS or ethertype == ETH_MPLS_MULTICAST:
        while True:                           # label stack entries until bottom of stack
            have = len(data) - off
            if have < MPLS_ENTRY:
                return None, off, (), None, _cut("mpls", max(have, 0), MPLS_ENTRY)
            off += MPLS_ENTRY
            if data[off - 2] & 0x01:
                break
        if off >= len(data):
            return None, off, ("mpls",), None, _cut("mpls payload", 0, 1)
        version = data[off] >> 4              # no protocol field: the IP version says it
        if version == 4:
            return ETH_IPV4, off, ("mpls",), None, None
        if version == 6:
            return ETH_IPV6, off, ("mpls",), None, None
        return None, off, ("mpls",), (UNDECODED_MPLS << 16) | version, None
    return ethertype, off, (), None, None
