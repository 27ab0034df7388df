"""Crafted frames for the decoder tests: every layer the decoder knows (IPv4/IPv6 with options and
extension headers, TCP with window scaling and bad checksums, UDP, ICMP, ARP, VLAN/SNAP/SLL/SLL2/
loopback link headers, PPPoE, MPLS, GRE and VXLAN), valid and malformed, and records that cut each
of them at every length.
"""
from __future__ import annotations

import struct

T0 = 1_700_000_000_123_456_789   # a capture time in nanoseconds, for every crafted record


def _csum(data: bytes) -> int:
    data += b"\0" * (len(data) & 1)
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


V4A, V4B = bytes([10, 0, 0, 1]), bytes([192, 168, 7, 200])
V6A, V6B = bytes(15) + b"\x01", b"\x20\x01\x0d\xb8" + bytes(11) + b"\xfe"


def tcp(src, dst, *, options=b"", payload=b"hello\n", flags=0x18, bad=False, v6=False):
    opts = options + b"\0" * (-len(options) % 4)
    seg = struct.pack("!HHIIHHHH", 40000, 7, 0xFFFFFFF0, 12345, ((20 + len(opts)) // 4) << 12
                      | flags, 8192, 0, 0) + opts + payload
    pseudo = src + dst + (struct.pack("!IxxxB", len(seg), 6) if v6 else struct.pack("!xBH", 6, len(seg)))
    return seg[:16] + struct.pack("!H", _csum(pseudo + seg) ^ (0x1111 if bad else 0)) + seg[18:]


def udp(src, dst, payload=b"dns?", *, zero=False, v6=False, ulen=None):
    seg = struct.pack("!HHHH", 5353, 53, ulen or 8 + len(payload), 0) + payload
    pseudo = src + dst + (struct.pack("!IxxxB", len(seg), 17) if v6 else struct.pack("!xBH", 17, len(seg)))
    return seg if zero else seg[:6] + struct.pack("!H", _csum(pseudo + seg)) + seg[8:]


def ipv4(proto, seg, *, options=b"", frag=0x4000, total=None, vihl=None, src=V4A, dst=V4B):
    head = struct.pack("!BBHHHBBH4s4s", vihl or 0x45 + len(options) // 4, 0,
                       20 + len(options) + len(seg) if total is None else total, 7, frag, 64,
                       proto, 0, src, dst) + options
    return head + seg


def ipv6(nxt, seg, ext=b"", plen=None):
    return struct.pack("!IHBB", 6 << 28, len(ext) + len(seg) if plen is None else plen, nxt, 64) \
        + V6A + V6B + ext + seg


def arp(opcode=1, ptype=0x0800, plen=4):
    return struct.pack("!HHBBH", 1, ptype, 6, plen, opcode) + b"\x02" * 6 + b"\x0a" * plen \
        + b"\0" * 6 + b"\x0b" * plen


def pppoe(protocol: int, payload: bytes) -> bytes:
    return struct.pack("!BBHHH", 0x11, 0, 0x1234, len(payload) + 2, protocol) + payload


def mpls(labels, payload: bytes) -> bytes:
    return b"".join(struct.pack("!I", label << 12 | (k == len(labels) - 1) << 8 | 64)
                    for k, label in enumerate(labels)) + payload


def gre(protocol: int, payload: bytes, *, csum=False, key=False, seq=False, flags=0) -> bytes:
    flags |= (0x8000 if csum else 0) | (0x2000 if key else 0) | (0x1000 if seq else 0)
    fields = (b"\0\0\0\0" if csum else b"") + (b"\0\0\0\x2a" if key else b"") \
        + (b"\0\0\0\x07" if seq else b"")
    return struct.pack("!HH", flags, protocol) + fields + payload


def vxlan(frame: bytes, *, dport=4789) -> bytes:
    body = b"\x08\0\0\0\0\0\x2a\0" + frame
    return struct.pack("!HHHH", 49152, dport, 8 + len(body), 0) + body


WSCALE = b"\x02\x04\x05\xb4\x01\x03\x03\x07\x04\x02\x01\x01\x08\x0a" + bytes(8) + b"\x01\x03\x03\x0e"
TCP4 = ipv4(6, tcp(V4A, V4B))
UDP4 = ipv4(17, udp(V4A, V4B))
HOP_BY_HOP = ipv6(0, tcp(V6A, V6B, v6=True), ext=b"\x06\x00" + bytes(6))
NETWORK = [   # (ethertype, network bytes)
    (0x0800, TCP4),
    (0x0800, ipv4(6, tcp(V4A, V4B, options=WSCALE, flags=0x02, payload=b""))),
    (0x0800, ipv4(6, tcp(V4A, V4B, options=b"\x01\x03\x03", payload=b"x", bad=True))),
    (0x0800, ipv4(6, tcp(V4A, V4B, options=b"\x03\x03\x05\x00\x03\x02\x09"))),   # bad option length
    (0x0800, ipv4(6, tcp(V4A, V4B, payload=b"odd"), options=b"\x94\x04\x00\x00")),
    (0x0800, ipv4(6, tcp(V4A, V4B), total=0)),
    (0x0800, ipv4(6, tcp(V4A, V4B), total=30)),
    (0x0800, ipv4(6, tcp(V4A, V4B), total=9000)),
    (0x0800, ipv4(6, tcp(V4A, V4B), total=12)),
    (0x0800, ipv4(6, tcp(V4A, V4B), vihl=0x44)),
    (0x0800, ipv4(6, tcp(V4A, V4B), vihl=0x65)),
    (0x0800, ipv4(6, tcp(V4A, V4B)[:12] + b"\x30\x18" + tcp(V4A, V4B)[14:])),  # data offset 12
    (0x0800, ipv4(6, tcp(V4A, V4B)[:12] + b"\xf0\x18" + tcp(V4A, V4B)[14:])),  # past the segment
    (0x0800, ipv4(6, b"\x9c\x40\x00\x07" + bytes(16) + b"frag", frag=0x2000)),
    (0x0800, ipv4(6, b"middle of a datagram", frag=0x0003)),
    (0x0800, UDP4),
    (0x0800, ipv4(17, udp(V4A, V4B, zero=True))),
    (0x0800, ipv4(17, udp(V4A, V4B, b"abc")) + b"\0\0pad"),
    (0x0800, ipv4(17, udp(V4A, V4B, ulen=200))),
    (0x0800, ipv4(17, udp(V4A, V4B, ulen=3))),
    (0x0800, ipv4(1, b"\x08\x00\x00\x00\x00\x01\x00\x01ping")),
    (0x0800, ipv4(58, b"\x80\x00\x00\x00\x00\x01\x00\x01")),
    (0x0800, ipv4(47, b"\x00\x00\x08\x00gre")),
    (0x86DD, ipv6(6, tcp(V6A, V6B, v6=True))),
    (0x86DD, ipv6(6, tcp(V6A, V6B, v6=True, bad=True, options=WSCALE))),
    (0x86DD, ipv6(17, udp(V6A, V6B, zero=True, v6=True))),
    (0x86DD, ipv6(17, udp(V6A, V6B, v6=True))),
    (0x86DD, ipv6(58, b"\x80\x00\x00\x00\x00\x01\x00\x01v6ping")),
    (0x86DD, ipv6(6, tcp(V6A, V6B, v6=True), plen=0)),
    (0x86DD, ipv6(6, tcp(V6A, V6B, v6=True), plen=4000)),
    (0x86DD, ipv6(89, b"ospf")),
    (0x86DD, HOP_BY_HOP),
    (0x86DD, ipv6(44, b"x" * 12, ext=b"\x06\x00\x00\x08" + bytes(4))),             # a fragment
    (0x0806, arp()), (0x0806, arp(2)), (0x0806, arp(1, 0x86DD, 16)), (0x8035, arp(3)),
    (0x88CC, b"lldp"),
]
INNER_ETH = b"\x02\0\0\0\0\x04\x02\0\0\0\0\x03"
TCP6 = ipv6(6, tcp(V6A, V6B, v6=True))
# five tunnels deep (VXLAN, GRE, VXLAN + PPPoE, GRE, GRE): the decoder follows MAX_TUNNELS of them
_DEEP = ipv4(47, gre(0x0800, ipv4(47, gre(0x0800, TCP4))))
_DEEP = ipv4(17, vxlan(INNER_ETH + b"\x88\x64" + pppoe(0x0021, _DEEP)))
NESTED = ipv4(17, vxlan(INNER_ETH + b"\x08\x00" + ipv4(47, gre(0x0800, _DEEP))))
NETWORK += [  # encapsulations and tunnels, and what stops them
    (0x8864, pppoe(0x0021, TCP4)), (0x8864, pppoe(0x0057, TCP6)), (0x8864, pppoe(0xC021, b"lcp")),
    (0x8847, mpls([16, 17], TCP4)), (0x8847, mpls([16], TCP6)), (0x8848, mpls([3], UDP4)),
    (0x8847, mpls([16], b"\x00\x00\x00\x00" + INNER_ETH)), (0x8847, mpls([16, 17], b"")),
    (0x0800, ipv4(47, gre(0x0800, TCP4, csum=True, key=True, seq=True))),
    (0x0800, ipv4(47, gre(0x86DD, TCP6, key=True))),
    (0x0800, ipv4(47, gre(0x6558, INNER_ETH + b"\x81\x00\x00\x0c\x08\x00" + TCP4))),
    (0x0800, ipv4(47, gre(0x8847, mpls([20], TCP4), seq=True))),
    (0x0800, ipv4(47, gre(0x0806, arp()))),
    (0x0800, ipv4(47, gre(0x88BE, b"erspan"))), (0x0800, ipv4(47, gre(0x880B, b"ppp", flags=1))),
    (0x0800, ipv4(47, gre(0x0800, TCP4), total=9000)),
    (0x0800, ipv4(47, gre(0x0800, TCP4), frag=0x2000)),
    (0x86DD, ipv6(47, gre(0x0800, ipv4(17, udp(V4A, V4B))))),
    (0x0800, ipv4(17, vxlan(INNER_ETH + b"\x08\x00" + TCP4))),
    (0x0800, ipv4(17, vxlan(INNER_ETH + b"\x86\xdd" + TCP6))),
    (0x0800, ipv4(17, vxlan(INNER_ETH + b"\x88\xcc" + b"lldp"))),
    (0x0800, ipv4(17, vxlan(INNER_ETH + b"\x08\x00" + TCP4, dport=4790))),
    (0x0800, NESTED),
]
ETH_HEAD = b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01"
SNAP = b"\xaa\xaa\x03\x00\x00\x00"


def ethernet(ethertype: int, net: bytes, vlans=()) -> bytes:
    tags = b"".join(struct.pack("!HH", tpid, vid) for tpid, vid in vlans)
    return ETH_HEAD + tags + struct.pack("!H", ethertype) + net


def link_frames(linktype: int) -> list[bytes]:
    """Every NETWORK packet under this link type (and its variants), plus odd link headers."""
    out = []
    for ethertype, net in NETWORK:
        family = {0x0800: 2, 0x86DD: 30}.get(ethertype)
        if linktype == 1:
            out += [ethernet(ethertype, net), ethernet(ethertype, net, [(0x8100, 5)]),
                    ethernet(ethertype, net, [(0x88A8, 7), (0x8100, 9)]),
                    ETH_HEAD + struct.pack("!H", len(net) + 8) + SNAP + struct.pack("!H", ethertype) + net]
        elif linktype == 113:
            out.append(struct.pack("!HHH8sH", 0, 1, 6, b"\x02" * 6, ethertype) + net)
        elif linktype == 276:
            out.append(struct.pack("!HHIHBB8s", ethertype, 0, 3, 1, 0, 6, b"\x02" * 6) + net)
        elif linktype in (0, 108) and family:
            out += [struct.pack("<I" if linktype == 0 else "!I", family) + net,
                    struct.pack("!I", family) + net]
        elif linktype in (101, 12, 14, 228, 229) and family:
            out.append(net)
    extra = {1: [ETH_HEAD + b"\x05\xdc" + b"llc frame", ETH_HEAD + b"\x00\x10" + SNAP[:5],
                 ethernet(0x9100, b"\x00")],
             113: [struct.pack("!HHH8sH", 0, 1, 6, b"\x02" * 6, 4) + b"llc"],
             0: [struct.pack("<I", 7) + b"x"], 108: [struct.pack("!I", 2) + b"\x45"],
             101: [b"\x50garbage"]}
    return out + extra.get(linktype, [])


def records_of(frames: list[bytes]) -> list[tuple[int, bytes, int]]:
    """Each frame whole, cut at every length, and with a longer and a shorter wire length."""
    out = []
    for data in frames:
        out += [(T0, data[:cut], len(data)) for cut in range(len(data) + 1)]
        out += [(T0, data, len(data) + 1000), (T0, data, max(len(data) - 3, 0))]
    return out


LINKTYPES = [1, 113, 276, 0, 108, 101, 12, 14, 228, 229]
