"""Decode a RawRecord into a Frame: link, network and transport headers as data (dpkt-style).

    from analysis.decode.frame import decode_frame, iter_frames
    frame = decode_frame(record, path="trace.pcap")      # one record
    for frame in iter_frames(CaptureReader("trace.pcap")):  # a whole file, streaming
        ...

Link types: Ethernet (1) with 802.1Q / 802.1ad / Q-in-Q tags (0x8100, 0x88a8, 0x9100), Linux SLL
(113) and SLL2 (276), raw IP (101, and DLT 12/14), raw IPv4 (228) and IPv6 (229), BSD NULL (0, either
byte order; AF_INET 2, AF_INET6 24/28/30) and OpenBSD LOOP (108).  Encapsulations: PPPoE session
(0x8864; PPP protocol 0x0021 IPv4, 0x0057 IPv6), MPLS (0x8847/0x8848; the label stack to its
bottom, then IPv4/IPv6 by the version nibble), and the tunnels GRE (IP protocol 47, version 0,
with checksum / key / sequence fields; IPv4, IPv6, MPLS or transparent Ethernet 0x6558 inside)
and VXLAN (UDP destination port 4789, an Ethernet frame inside), up to MAX_TUNNELS deep.
Network: IPv4 (options, fragments: only the first fragment has a transport header), IPv6
(hop-by-hop, routing, fragment, destination options and AH skipped), ARP and RARP.  Transport:
TCP (MSS, window scale, SACK, timestamps), UDP, ICMP, ICMPv6, with TCP/UDP checksum verification.

A tunnelled frame is the packet inside the tunnel: addresses, ports, TCP header and payload are
the inner ones (as tshark's tcp.stream sees them), `Frame.encap` names the layers passed through
("vxlan", ...), MACs and VLAN ids are the innermost Ethernet header's (VLAN ids: every tag, outer
first).  When a tunnel's content cannot be decoded, the frame stays the outer packet.

`Frame.proto` is the transport name, "arp"/"rarp", "ipv4"/"ipv6" for an IP packet whose transport
is not decoded here (a non-first fragment, ESP, a GRE tunnel we cannot follow...), or "other" for
a non-IP frame.  `Frame.undecoded` is the decode_link.UNDECODED_* code of a layer whose protocol
we do not decode (an unknown Ethernet type, PPP protocol, MPLS payload, GRE protocol type).

Errors: an undecodable layer is data (`Frame.malformed`: a vocabulary.MALFORMED code, and where
decoding stopped and why;
`Frame.truncated` says the snaplen, or the sender, cut a header or the payload).  The single
exception is a link type this module cannot decode: UnknownLinkTypeError naming the link type
and the frame -- and the file when the caller passes `path=` (iter_frames always does).
"""
from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from socket import inet_ntoa

from analysis.decode.ip import _tcp_options, ipv4, ipv6
from analysis.decode.link import (ETH_ARP, ETH_IPV4, ETH_IPV6, ETH_RARP, ETH_TEB, LINK_DECODERS,
                                  LINKTYPE_NAMES, MAX_TUNNELS, VXLAN_HEADER, VXLAN_PORT, _cut,
                                  ethernet_at, peel)
from analysis.errors import UnknownLinkTypeError
from analysis.vocabulary import MALFORMED_CUT
from analysis.i18n import N_
from analysis.model import ArpHeader, Frame, Malformed, RawRecord, TcpHeader

_new = tuple.__new__
_CUT_CODES = frozenset(MALFORMED_CUT)  # a header the snaplen cut: the frame is truncated
SUPPORTED_LINKTYPES = frozenset(LINK_DECODERS)


# Ethernet type + IPv4 header without options + TCP header, unpacked in one call (fast path)
_ETH_IPV4_TCP = struct.Struct("!HBBHHHBBH4s4sHHIIHHHH")
_FAST_PREFIX = b"\x08\x00\x45"      # ethertype IPv4, version 4, header length 20
_addresses: dict[bytes, str] = {}     # 4-byte address -> dotted text; addresses repeat a lot
_macs: dict[bytes, tuple[str, str]] = {}
_CACHE_LIMIT = 1 << 16


def decode_frame(rec: RawRecord, *, path: str | None = None, verify_checksums: bool = True) -> Frame:
    """Decode one record.  `verify_checksums=False` skips the TCP/UDP checksum (checksum_ok is
    then None) for a faster pass that does not need Zeek's `c` history letter."""
    # Fast path for the common case -- untagged Ethernet, IPv4 without options, a first (or only)
    # fragment carrying TCP whose header was captured whole.  It gives exactly what the general
    # path below gives (tests/analysis/test_decode.py compares them frame by frame).
    data = rec[6]
    if rec[4] == 1 and len(data) >= 54 and data[12:15] == _FAST_PREFIX and data[23] == 6:
        (_, _, _, total, _, frag, ttl, _, _, src_b, dst_b, sport, dport, seq, ack, offflags, window,
         csum, urgent) = _ETH_IPV4_TCP.unpack_from(data, 12)
        hlen = (offflags >> 12) * 4
        end = 14 + total
        if not frag & 0x1FFF and 20 <= hlen <= total - 20 and end <= rec[3] and 34 + hlen <= len(data):
            src = _addresses.get(src_b)
            if src is None:
                if len(_addresses) > _CACHE_LIMIT:
                    _addresses.clear()
                src = _addresses[src_b] = inet_ntoa(src_b)
            dst = _addresses.get(dst_b)
            if dst is None:
                dst = _addresses[dst_b] = inet_ntoa(dst_b)
            macs = _macs.get(data[0:12])
            if macs is None:
                if len(_macs) > _CACHE_LIMIT:
                    _macs.clear()
                macs = _macs[data[0:12]] = (data[6:12].hex(":"), data[0:6].hex(":"))
            if hlen == 20:
                options = (None, None, False, (), None, None)
            else:
                options = _tcp_options(data, 54, 34 + hlen)
            ok = None
            if verify_checksums and len(data) >= end:
                # addresses + segment as one integer (see decode_ip._checksum_ok): the 8 address
                # bytes sit right before the TCP header, so one slice covers both
                value = int.from_bytes(data[26:end], "big")
                if total & 1:
                    value <<= 8
                ok = (value + 6 + total - 20) % 0xFFFF == 0
            tcp = _new(TcpHeader, (seq, ack, offflags & 0x0FFF, window, hlen, csum, urgent) + options)
            return _new(Frame, (rec[0], rec[1], rec[2], rec[3], 1, rec[5], macs[0], macs[1], (),
                                0x0800, "ipv4", src, dst, 6, ttl, "tcp", sport, dport, tcp,
                                total - 20 - hlen, data[34 + hlen:end], ok, None, None, None,
                                rec[2] < rec[3], None, (), None))
    return _decode_general(rec, path, verify_checksums)


def _decode_general(rec: RawRecord, path: str | None, verify_checksums: bool) -> Frame:
    link = LINK_DECODERS.get(rec.linktype)
    if link is None:
        raise UnknownLinkTypeError(
            N_("link type {linktype} is not supported"), path=path, frame=rec.number,
            hint=N_("supported: {types}"), fields={"linktype": rec.linktype, "types": ", ".join(
                f"{n} {LINKTYPE_NAMES[n]}" for n in sorted(LINKTYPE_NAMES))})
    data = rec.data
    eth_src, eth_dst, vlans, ethertype, off, malformed = link(data)
    layers = _network(data, rec.wirelen, (eth_src, eth_dst, vlans), ethertype, off, malformed,
                      verify_checksums)
    for _ in range(MAX_TUNNELS):
        layers, inside = _tunnel(layers, verify_checksums)
        if not inside:
            break
    eth_src, eth_dst, vlans, ethertype, rest, encap, undecoded = layers
    if rest[5] == "gre":                  # a tunnel we did not follow: the network's name
        rest = rest[:5] + (rest[0],) + rest[6:]
    malformed = rest[15]
    truncated = rec.caplen < rec.wirelen or (malformed is not None and malformed.code in _CUT_CODES)
    return _new(Frame, rec[:6] + (eth_src, eth_dst, vlans, ethertype) + rest[:15]
                + (truncated, malformed, encap, undecoded))


_OTHER = ("other", None, None, None, None, "other", None, None, None, 0, b"", None, None, None, None)
_NETWORKS = frozenset({"ipv4", "ipv6", "arp", "rarp"})


def _network(data, wirelen: int, eth: tuple, ethertype, off: int, malformed, verify: bool):
    """The layers from data[off:] on, where `ethertype` says what is there (data's bytes on the
    wire: wirelen): (eth_src, eth_dst, vlans, ethertype, rest, encap, undecoded), rest in Frame's
    order from `net` to `icmp_code`, then `malformed`; rest's proto is "gre" for a GRE packet."""
    found, off, encap, undecoded, cut = peel(data, ethertype, off)
    if found == ETH_IPV4:
        rest = ipv4(data, off, wirelen, verify)
    elif found == ETH_IPV6:
        rest = ipv6(data, off, wirelen, verify)
    elif found == ETH_ARP or found == ETH_RARP:
        rest = _arp(data, off, "arp" if found == ETH_ARP else "rarp")
    else:
        if found is not None:
            undecoded = found                 # UNDECODED_ETHERTYPE << 16 | ethertype
        return eth + (ethertype if found is None else found, _OTHER + (cut or malformed,), encap,
                      undecoded)
    return eth + (found, rest, encap, None)


def _tunnel(layers, verify: bool):
    """One tunnel level: (the packet inside a GRE or VXLAN packet, True) when we decode it
    down to its network layer (the outer packet's malformed reason carried when it has none),
    else (the outer packet with what stopped us: its undecoded code, its cut header, False)."""
    eth, rest, encap = layers[:3], layers[4], layers[5]
    packet, wire = rest[10], rest[9]          # the tunnel's bytes as captured / on the wire
    if rest[5] == "gre":
        # GRE, RFC 2784 / 2890: flags (C 0x8000, K 0x2000, S 0x1000; version 0, no routing),
        # protocol type, then the optional checksum, key and sequence fields (4 bytes each)
        rest = rest[:5] + (rest[0],) + rest[6:]
        outer = layers[:4] + (rest, encap)
        have = len(packet)
        if have < 4:
            return _outer(outer, None, _cut("gre", have, 4)), False
        flags = (packet[0] << 8) | packet[1]
        protocol = (packet[2] << 8) | packet[3]
        if flags & 0x4007:                    # routing present (RFC 1701) or version 1 (PPTP)
            return _outer(outer, protocol, None), False
        size = 4 + 4 * ((flags >> 15) & 1) + 4 * ((flags >> 13) & 1) + 4 * ((flags >> 12) & 1)
        if have < size:
            return _outer(outer, None, _cut("gre", have, size)), False
        if protocol == ETH_TEB:
            inner = _inner_ethernet(packet, wire, eth[2], size, verify)
        else:
            inner = _network(packet, wire, eth, protocol, size, None, verify)
        name = "gre"
    elif rest[5] == "udp" and rest[7] == VXLAN_PORT:
        # VXLAN, RFC 7348: flags, reserved, the 24-bit VNI, reserved; then an Ethernet frame
        outer = layers[:4] + (rest, encap)
        if len(packet) < VXLAN_HEADER:
            return _outer(outer, None, _cut("vxlan", len(packet), VXLAN_HEADER)), False
        inner = _inner_ethernet(packet, wire, eth[2], VXLAN_HEADER, verify)
        name = "vxlan"
    else:
        return layers, False
    inner_rest = inner[4]
    if inner_rest[0] not in _NETWORKS:
        return _outer(outer, inner[6], inner_rest[15]), False
    if inner_rest[15] is None and rest[15] is not None:
        inner_rest = inner_rest[:15] + (rest[15],)
    return inner[:4] + (inner_rest, encap + (name,) + inner[5], inner[6]), True


def _inner_ethernet(packet, wire, outer_vlans, base, verify):
    src, dst, vlans, ethertype, off, malformed = ethernet_at(packet, base)
    return _network(packet, wire, (src, dst, outer_vlans + vlans), ethertype, off, malformed,
                    verify)


def _outer(outer, undecoded, malformed):
    rest = outer[4]
    if rest[15] is None and malformed is not None:
        rest = rest[:15] + (malformed,)
    return outer[:4] + (rest, outer[5], undecoded)


def iter_frames(reader, *, verify_checksums: bool = True) -> Iterator[Frame]:
    """Decode every record of a CaptureReader (errors name its file)."""
    path = reader.path
    for rec in reader.records():
        yield decode_frame(rec, path=path, verify_checksums=verify_checksums)


def decode_all(records: Iterable[RawRecord], *, path: str | None = None,
               verify_checksums: bool = True) -> Iterator[Frame]:
    for rec in records:
        yield decode_frame(rec, path=path, verify_checksums=verify_checksums)


def _arp(data: bytes, off: int, net: str):
    # hardware type(2) protocol type(2) hw len(1) proto len(1) opcode(2) sha spa tha tpa
    have = len(data) - off
    if have < 8:
        return (net, None, None, None, None, net, None, None, None, 0, b"", None, None, None, None,
                Malformed("cut", f"{net} header cut at {max(have, 0)} of 8 bytes"))
    ptype = (data[off + 2] << 8) | data[off + 3]
    hlen, plen = data[off + 4], data[off + 5]
    opcode = (data[off + 6] << 8) | data[off + 7]
    need = 8 + 2 * hlen + 2 * plen
    if have < need:
        return (net, None, None, None, None, net, None, None, None, 0, b"", None, None, None, None,
                Malformed("cut", f"{net} header cut at {have} of {need} bytes"))
    sha = off + 8
    spa = sha + hlen
    tha = spa + plen
    tpa = tha + hlen
    ipv4_addrs = ptype == ETH_IPV4 and plen == 4
    arp = _new(ArpHeader, (
        opcode, data[sha:spa].hex(":"),
        ".".join(map(str, data[spa:tha])) if ipv4_addrs else "",
        data[tha:tpa].hex(":"),
        ".".join(map(str, data[tpa:tpa + plen])) if ipv4_addrs else ""))
    src = arp.spa or None
    dst = arp.tpa or None
    return (net, src, dst, None, None, net, None, None, None, 0, b"", None, arp, None, None, None)
