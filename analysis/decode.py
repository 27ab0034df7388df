"""Decode a RawRecord into a Frame: link, network and transport headers as data (dpkt-style).

    from analysis.decode import decode_frame, iter_frames
    frame = decode_frame(record, path="trace.pcap")      # one record
    for frame in iter_frames(CaptureReader("trace.pcap")):  # a whole file, streaming
        ...

Link types: Ethernet (1) with 802.1Q / 802.1ad / Q-in-Q tags (0x8100, 0x88a8, 0x9100), Linux SLL
(113) and SLL2 (276), raw IP (101, and DLT 12/14), raw IPv4 (228) and IPv6 (229), BSD NULL (0, either
byte order; AF_INET 2, AF_INET6 24/28/30) and OpenBSD LOOP (108).  Network: IPv4 (options,
fragments: only the first fragment has a transport header), IPv6 (hop-by-hop, routing, fragment,
destination options and AH skipped), ARP and RARP.  Transport: TCP (MSS, window scale, SACK,
timestamps), UDP, ICMP, ICMPv6, with TCP/UDP checksum verification.

`Frame.proto` is the transport name, "arp"/"rarp", "ipv4"/"ipv6" for an IP packet whose transport
is not decoded here (a non-first fragment, GRE, ESP, a tunnel...), or "other" for a non-IP frame.

Errors: an undecodable layer is data (`Frame.malformed` says where decoding stopped and why;
`Frame.truncated` says the snaplen, or the sender, cut a header or the payload).  The single
exception is a link type this module cannot decode: UnknownLinkTypeError naming the link type
and the frame -- and the file when the caller passes `path=` (iter_frames always does).
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator

from analysis.decode_ip import ipv4, ipv6
from analysis.decode_link import (ETH_ARP, ETH_IPV4, ETH_IPV6, ETH_RARP, LINK_DECODERS,
                                  LINKTYPE_NAMES)
from analysis.errors import UnknownLinkTypeError
from analysis.model import ArpHeader, Frame, RawRecord

_new = tuple.__new__
CUT_MARK = "header cut at"          # every cut-header reason contains it (see decode_ip.cut)
SUPPORTED_LINKTYPES = frozenset(LINK_DECODERS)


def decode_frame(rec: RawRecord, *, path: str | None = None, verify_checksums: bool = True) -> Frame:
    """Decode one record.  `verify_checksums=False` skips the TCP/UDP checksum (checksum_ok is
    then None) for a faster pass that does not need Zeek's `c` history letter."""
    link = LINK_DECODERS.get(rec.linktype)
    if link is None:
        raise UnknownLinkTypeError(
            f"link type {rec.linktype} is not supported", path=path, frame=rec.number,
            hint="supported: " + ", ".join(f"{n} {LINKTYPE_NAMES[n]}" for n in sorted(LINKTYPE_NAMES)))
    data = rec.data
    eth_src, eth_dst, vlans, ethertype, off, malformed = link(data)
    if ethertype == ETH_IPV4:
        rest = ipv4(data, off, rec.wirelen, verify_checksums)
    elif ethertype == ETH_IPV6:
        rest = ipv6(data, off, rec.wirelen, verify_checksums)
    elif ethertype == ETH_ARP or ethertype == ETH_RARP:
        rest = _arp(data, off, "arp" if ethertype == ETH_ARP else "rarp")
    else:
        rest = ("other", None, None, None, None, "other", None, None, None, 0, b"", None, None,
                None, None, malformed)
    malformed = rest[15]
    truncated = rec.caplen < rec.wirelen or (malformed is not None and CUT_MARK in malformed)
    return _new(Frame, rec[:6] + (eth_src, eth_dst, vlans, ethertype) + rest[:15] + (truncated, malformed))


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
                f"{net} header cut at {max(have, 0)} of 8 bytes")
    ptype = (data[off + 2] << 8) | data[off + 3]
    hlen, plen = data[off + 4], data[off + 5]
    opcode = (data[off + 6] << 8) | data[off + 7]
    need = 8 + 2 * hlen + 2 * plen
    if have < need:
        return (net, None, None, None, None, net, None, None, None, 0, b"", None, None, None, None,
                f"{net} header cut at {have} of {need} bytes")
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
