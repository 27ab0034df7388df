"""Network layers as Wireshark dissects them: ARP (and RARP), IPv4, IPv6.

Each returns (layer Field, ip protocol or None, transport offset, transport length on the wire,
malformed reason or None).  IPv4 options and IPv6 extension headers are stepped over, not
dissected field by field (Wireshark's ip.opt.* / ipv6.hopopts.* are not shown).
"""
from __future__ import annotations

from analysis.decode.link import ETH_IPV4
from analysis.dissect.fields import Field, bits, ipv4_text, ipv6_text, mac, raw, uint

_ARP_OPCODES = {1: "request", 2: "reply", 3: "reverse request", 4: "reverse reply"}
# IPv6 extension headers stepped over to reach the transport (hop-by-hop, routing, fragment,
# destination options, AH): next header at byte 0, length at byte 1
_IPV6_EXTENSIONS = frozenset({0, 43, 44, 60, 51})
FRAGMENT = -1               # the "protocol" of a fragment: its payload is part of a reassembly


def arp(data, off: int):
    have = len(data) - off
    if have < 8:
        return None, f"arp header cut at {max(have, 0)} of 8 bytes"
    ptype = int.from_bytes(data[off + 2:off + 4], "big")
    hlen, plen = data[off + 4], data[off + 5]
    opcode = int.from_bytes(data[off + 6:off + 8], "big")
    children = [uint("arp.hw.type", data, off, 2), uint("arp.proto.type", data, off + 2, 2, hexa=4),
                uint("arp.hw.size", data, off + 4, 1), uint("arp.proto.size", data, off + 5, 1),
                uint("arp.opcode", data, off + 6, 2)]
    need = 8 + 2 * hlen + 2 * plen
    reason = None if have >= need else f"arp header cut at {have} of {need} bytes"
    ipv4 = ptype == ETH_IPV4 and plen == 4
    pos = off + 8
    for side in ("src", "dst"):
        if hlen == 6 and pos + 6 <= len(data):
            children.append(raw(f"arp.{side}.hw_mac", data, pos, 6, mac(data, pos)))
        pos += hlen
        if ipv4 and pos + 4 <= len(data):
            children.append(raw(f"arp.{side}.proto_ipv4", data, pos, 4, ipv4_text(data, pos)))
        pos += plen
    summary = f"Address Resolution Protocol ({_ARP_OPCODES.get(opcode, opcode)})"
    return Field("arp", off, min(need, have), None, summary, tuple(children)), reason


def ipv4(data, off: int):
    have = len(data) - off
    if have < 20:
        return None, None, off, 0, f"ip header cut at {max(have, 0)} of 20 bytes"
    first = data[off]
    ihl = (first & 0x0F) * 4
    total = int.from_bytes(data[off + 2:off + 4], "big")
    flags_frag = int.from_bytes(data[off + 6:off + 8], "big")
    flags = flags_frag >> 13
    frag = flags_frag & 0x1FFF
    tos = data[off + 1]
    src, dst = ipv4_text(data, off + 12), ipv4_text(data, off + 16)
    children = (
        Field("ip.version", off, 1, f"{first:02x}", str(first >> 4)),
        Field("ip.hdr_len", off, 1, f"{first:02x}", str(ihl)),
        uint("ip.dsfield", data, off + 1, 1, hexa=2, children=(
            bits("ip.dsfield.dscp", off + 1, 1, tos >> 2),
            bits("ip.dsfield.ecn", off + 1, 1, tos & 3))),
        uint("ip.len", data, off + 2, 2),
        uint("ip.id", data, off + 4, 2, hexa=4),
        Field("ip.flags", off + 6, 1, f"{flags:X}", f"0x{flags:02x}", (
            bits("ip.flags.rb", off + 6, 1, flags >> 2),
            bits("ip.flags.df", off + 6, 1, (flags >> 1) & 1),
            bits("ip.flags.mf", off + 6, 1, flags & 1))),
        bits("ip.frag_offset", off + 6, 2, frag),         # in 8-byte units, as 4.0 shows it
        uint("ip.ttl", data, off + 8, 1),
        uint("ip.proto", data, off + 9, 1),
        uint("ip.checksum", data, off + 10, 2, hexa=4),
        raw("ip.src", data, off + 12, 4, src),
        raw("ip.dst", data, off + 16, 4, dst),
    )
    layer = Field("ip", off, ihl, None, f"Internet Protocol Version 4, Src: {src}, Dst: {dst}", children)
    if ihl < 20:
        return layer, None, off + 20, 0, f"ip header length {ihl} is less than 20"
    if have < ihl:
        return layer, None, off + ihl, 0, f"ip header cut at {have} of {ihl} bytes"
    # a fragment's bytes are the reassembled packet's (Wireshark reassembles them and dissects
    # the transport in the last fragment): FRAGMENT, no transport header dissected here
    proto = data[off + 9] if frag == 0 and not flags & 1 else FRAGMENT
    return layer, proto, off + ihl, max(total - ihl, 0), None


def ipv6(data, off: int):
    have = len(data) - off
    if have < 40:
        return None, None, off, 0, f"ipv6 header cut at {max(have, 0)} of 40 bytes"
    word = int.from_bytes(data[off:off + 4], "big")
    tclass = (word >> 20) & 0xFF
    flow = word & 0xFFFFF
    src, dst = ipv6_text(data, off + 8), ipv6_text(data, off + 24)
    children = (
        Field("ipv6.version", off, 1, f"{data[off]:02x}", str(word >> 28)),
        Field("ipv6.tclass", off, 4, f"{tclass:X}", f"0x{tclass:08x}", (
            bits("ipv6.tclass.dscp", off, 4, tclass >> 2),
            bits("ipv6.tclass.ecn", off, 4, tclass & 3))),
        Field("ipv6.flow", off + 1, 3, f"{flow:X}", f"0x{flow:06x}"),
        uint("ipv6.plen", data, off + 4, 2),
        uint("ipv6.nxt", data, off + 6, 1),
        uint("ipv6.hlim", data, off + 7, 1),
        raw("ipv6.src", data, off + 8, 16, src),
        raw("ipv6.dst", data, off + 24, 16, dst),
    )
    layer = Field("ipv6", off, 40, None, f"Internet Protocol Version 6, Src: {src}, Dst: {dst}", children)
    plen = int.from_bytes(data[off + 4:off + 6], "big")
    nxt = data[off + 6]
    pos = off + 40
    while nxt in _IPV6_EXTENSIONS:
        if pos + 8 > len(data):
            return layer, None, pos, 0, "ipv6 extension header cut"
        size = (data[pos + 1] + 2) * 4 if nxt == 51 else (data[pos + 1] + 1) * 8
        if nxt == 44 and int.from_bytes(data[pos + 2:pos + 4], "big") & 0xFFF8:
            return layer, FRAGMENT, pos + 8, 0, None
        nxt = data[pos]
        pos += size
    return layer, nxt, pos, max(plen - (pos - off - 40), 0), None
