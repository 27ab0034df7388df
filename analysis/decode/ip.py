"""Network and transport decoders: IPv4, IPv6 (extension headers skipped), TCP, UDP, ICMP(v6).

`ipv4()` / `ipv6()` return the network-and-transport part of a Frame as one tuple, in Frame's
field order from `net` to `icmp_code`, followed by `malformed`:

    (net, src, dst, ip_proto, ip_ttl, proto, sport, dport, tcp, payload_len, payload,
     checksum_ok, arp, icmp_type, icmp_code, malformed)

Lengths come from the headers (IPv4 total length, IPv6 payload length), never from the captured
length, so `payload_len` equals tshark's tcp.len even when the snaplen cut the payload off; the
Ethernet padding of short frames is never counted as payload.

A header cut by the snaplen gives malformed Malformed("cut" | "tcp-cut" | "tcp-options-cut",
"<layer> header cut at X of Y bytes") (decode/frame.py marks such frames truncated); an impossible
value gives another code of vocabulary.MALFORMED and a one-line reason.  Neither raises.
"""
from __future__ import annotations

import struct
from socket import AF_INET6, inet_ntoa, inet_ntop

from analysis.model import Malformed, TcpHeader

PROTO_ICMP, PROTO_TCP, PROTO_UDP, PROTO_ICMPV6, PROTO_GRE = 1, 6, 17, 58, 47
# IPv6 extension headers we step over: hop-by-hop, routing, fragment, destination options, AH
EXT_HOPOPTS, EXT_ROUTING, EXT_FRAGMENT, EXT_AH, EXT_DSTOPTS = 0, 43, 44, 51, 60
TRANSPORT_NAMES = {PROTO_TCP: "tcp", PROTO_UDP: "udp", PROTO_ICMP: "icmp", PROTO_ICMPV6: "icmpv6"}

_IPV4 = struct.Struct("!BBHHHBBH4s4s")
_TCP = struct.Struct("!HHIIHHHH")
_HH = struct.Struct("!HH")
_new = tuple.__new__


def cut(layer: str, have: int, need: int, code: str = "cut") -> Malformed:
    """A header the snaplen cut; code "tcp-cut" / "tcp-options-cut" for TCP (vocabulary.MALFORMED)."""
    return Malformed(code, f"{layer} header cut at {have} of {need} bytes")


def ipv4(data: bytes, off: int, wirelen: int, verify: bool):
    have = len(data) - off
    if have < 20:
        return ("ipv4", None, None, None, None, "ipv4", None, None, None, 0, b"", None, None, None,
                None, cut("ipv4", max(have, 0), 20))
    vihl, _tos, total, _ident, frag, ttl, proto, _csum, src_b, dst_b = _IPV4.unpack_from(data, off)
    ihl = (vihl & 0x0F) * 4
    src, dst = inet_ntoa(src_b), inet_ntoa(dst_b)
    if vihl >> 4 != 4 or ihl < 20:
        return ("ipv4", src, dst, proto, ttl, "ipv4", None, None, None, 0, b"", None, None, None,
                None, Malformed("invalid", f"ipv4 bad version/header length {vihl:#04x}"))
    if have < ihl:
        return ("ipv4", src, dst, proto, ttl, "ipv4", None, None, None, 0, b"", None, None, None,
                None, cut("ipv4 options", have - 20, ihl - 20))
    malformed = None
    on_wire = wirelen - off
    if total == 0:                        # TSO / offloaded send: the length was never filled in
        total = on_wire
    elif total < ihl:
        return ("ipv4", src, dst, proto, ttl, "ipv4", None, None, None, 0, b"", None, None, None,
                None, Malformed("length", f"ipv4 total length {total} is shorter than its header ({ihl})"))
    elif total > on_wire:
        malformed = Malformed("length",
                              f"ipv4 total length {total} exceeds the {on_wire} bytes on the wire")
        total = on_wire
    if frag & 0x1FFF:                     # not the first fragment: no transport header here
        return ("ipv4", src, dst, proto, ttl, "ipv4", None, None, None, total - ihl,
                data[off + ihl:off + total], None, None, None, None, malformed)
    pseudo = int.from_bytes(src_b + dst_b, "big") + proto if verify else 0
    result = transport(data, off + ihl, total - ihl, proto, pseudo, verify, False)
    if malformed is not None and result[-1] is None:
        result = result[:-1] + (malformed,)
    return ("ipv4", src, dst, proto, ttl) + result


def ipv6(data: bytes, off: int, wirelen: int, verify: bool):
    have = len(data) - off
    if have < 40:
        return ("ipv6", None, None, None, None, "ipv6", None, None, None, 0, b"", None, None, None,
                None, cut("ipv6", max(have, 0), 40))
    plen, nxt, hlim = struct.unpack_from("!HBB", data, off + 4)
    src_b, dst_b = data[off + 8:off + 24], data[off + 24:off + 40]
    src, dst = inet_ntop(AF_INET6, src_b), inet_ntop(AF_INET6, dst_b)
    malformed = None
    on_wire = wirelen - off - 40
    if plen == 0 or plen > on_wire:       # jumbogram / offload (0), or a lying length
        if plen > on_wire:
            malformed = Malformed("length",
                                  f"ipv6 payload length {plen} exceeds the {on_wire} bytes on the wire")
        plen = on_wire
    pos, end = off + 40, off + 40 + plen
    while nxt in (EXT_HOPOPTS, EXT_ROUTING, EXT_FRAGMENT, EXT_DSTOPTS, EXT_AH):
        if len(data) < pos + 8:
            return ("ipv6", src, dst, nxt, hlim, "ipv6", None, None, None, 0, b"", None, None,
                    None, None, cut(f"ipv6 extension {nxt}", max(len(data) - pos, 0), 8))
        if nxt == EXT_FRAGMENT:
            size = 8
            if ((data[pos + 2] << 8) | data[pos + 3]) & 0xFFF8:   # non-first fragment
                return ("ipv6", src, dst, data[pos], hlim, "ipv6", None, None, None,
                        max(end - pos - 8, 0), data[pos + 8:end], None, None, None, None, malformed)
        elif nxt == EXT_AH:
            size = (data[pos + 1] + 2) * 4
        else:
            size = (data[pos + 1] + 1) * 8
        nxt = data[pos]
        pos += size
        if pos > end:
            return ("ipv6", src, dst, nxt, hlim, "ipv6", None, None, None, 0, b"", None, None,
                    None, None,
                    Malformed("length", f"ipv6 extension headers run past the payload length {plen}"))
    # the pseudo-header uses the upper-layer length and, with a routing header, the final
    # destination; we use the header's destination (routing headers are rare in courses)
    pseudo = int.from_bytes(src_b + dst_b, "big") + nxt if verify else 0
    result = transport(data, pos, end - pos, nxt, pseudo, verify, True)
    if malformed is not None and result[-1] is None:
        result = result[:-1] + (malformed,)
    return ("ipv6", src, dst, nxt, hlim) + result


def _checksum_ok(data: bytes, start: int, length: int, pseudo: int) -> bool:
    """Ones'-complement sum of pseudo-header + segment, computed on one big integer: since
    2**16 == 1 (mod 0xFFFF) the sum of the 16-bit words is the integer mod 0xFFFF, and a valid
    segment sums to 0xFFFF (== 0 mod 0xFFFF; an all-zero sum is impossible with a pseudo-header)."""
    value = int.from_bytes(data[start:start + length], "big")
    if length & 1:
        value <<= 8
    return (value + pseudo) % 0xFFFF == 0


def transport(data: bytes, t: int, seg_len: int, proto: int, pseudo: int, verify: bool,
              v6: bool):
    """(proto, sport, dport, tcp, payload_len, payload, checksum_ok, arp, icmp_type, icmp_code,
    malformed) for the transport header at data[t:], seg_len bytes long on the wire.
    `pseudo` is the pseudo-header's addresses as one integer plus the protocol number; the
    upper-layer length is added here (for UDP, the UDP header's length)."""
    have = len(data) - t
    whole = have >= seg_len                    # the whole segment was captured
    if proto == PROTO_TCP:
        if have < 20 or seg_len < 20:
            sport = dport = None
            if have >= 4:
                sport, dport = _HH.unpack_from(data, t)
            reason = (cut("tcp", max(have, 0), 20, "tcp-cut") if have < 20 else Malformed(
                "tcp-invalid", f"tcp segment of {seg_len} bytes is shorter than a tcp header"))
            return "tcp", sport, dport, None, 0, b"", None, None, None, None, reason
        sport, dport, seq, ack, offflags, window, csum, urgent = _TCP.unpack_from(data, t)
        hlen = (offflags >> 12) * 4
        malformed = None
        if hlen < 20 or hlen > seg_len:
            malformed = Malformed("tcp-invalid", f"tcp header length {hlen} is invalid")
            mss = wscale = ts_val = ts_ecr = None
            sack_ok, sacks = False, ()
            hlen = 20 if hlen < 20 else seg_len
        elif hlen == 20:
            mss = wscale = ts_val = ts_ecr = None
            sack_ok, sacks = False, ()
        else:
            mss, wscale, sack_ok, sacks, ts_val, ts_ecr = _tcp_options(data, t + 20, t + min(hlen, have))
            if have < hlen:
                malformed = cut("tcp options", have - 20, hlen - 20, "tcp-options-cut")
        tcp = _new(TcpHeader, (seq, ack, offflags & 0x0FFF, window, hlen, csum, urgent, mss, wscale,
                               sack_ok, sacks, ts_val, ts_ecr))
        ok = _checksum_ok(data, t, seg_len, pseudo + seg_len) if verify and whole else None
        return ("tcp", sport, dport, tcp, seg_len - hlen, data[t + hlen:t + seg_len], ok, None,
                None, None, malformed)
    if proto == PROTO_UDP:
        if have < 8:
            return "udp", None, None, None, 0, b"", None, None, None, None, cut("udp", max(have, 0), 8)
        sport, dport, ulen, csum = struct.unpack_from("!HHHH", data, t)
        malformed = None
        if 8 <= ulen <= seg_len:
            seg_len = ulen                     # bytes after the UDP length are IP-level padding
        else:
            malformed = Malformed("length",
                                  f"udp length {ulen} does not fit the ip payload of {seg_len} bytes")
        ok = None
        if verify and whole and (csum or v6):  # IPv4 checksum 0 means "not computed"
            ok = _checksum_ok(data, t, seg_len, pseudo + seg_len)
        return ("udp", sport, dport, None, max(seg_len - 8, 0), data[t + 8:t + seg_len], ok, None,
                None, None, malformed)
    if proto == PROTO_ICMP or proto == PROTO_ICMPV6:
        name = TRANSPORT_NAMES[proto]
        if have < 4:
            return name, None, None, None, 0, b"", None, None, None, None, cut(name, max(have, 0), 4)
        # ICMP and ICMPv6 messages carry 4 more header bytes (id/seq, unused, MTU...) after type,
        # code and checksum; the payload is what follows them
        return (name, None, None, None, max(seg_len - 8, 0), data[t + 8:t + seg_len], None, None,
                data[t], data[t + 1], None)
    # GRE: the proto "gre" (never a Frame.proto) asks decode.py to look inside; it becomes the
    # network's name again if the tunnel cannot be followed
    name = "gre" if proto == PROTO_GRE else "ipv6" if v6 else "ipv4"
    return (name, None, None, None, seg_len, data[t:t + seg_len], None, None, None, None, None)


def _tcp_options(data: bytes, pos: int, end: int):
    """Parse TCP options in data[pos:end]; an option cut by `end` is left out."""
    mss = wscale = ts_val = ts_ecr = None
    sack_ok = False
    sacks = ()
    while pos < end:
        kind = data[pos]
        if kind == 0:                          # end of option list
            break
        if kind == 1:                          # NOP
            pos += 1
            continue
        if pos + 1 >= end:
            break
        length = data[pos + 1]
        if length < 2 or pos + length > end:
            break
        if kind == 2 and length == 4:
            mss = (data[pos + 2] << 8) | data[pos + 3]
        elif kind == 3 and length == 3:
            wscale = data[pos + 2]
        elif kind == 4 and length == 2:
            sack_ok = True
        elif kind == 5 and length >= 10:
            sacks = tuple(struct.unpack_from("!II", data, p) for p in range(pos + 2, pos + length - 7, 8))
        elif kind == 8 and length == 10:
            ts_val, ts_ecr = struct.unpack_from("!II", data, pos + 2)
        pos += length
    return mss, wscale, sack_ok, sacks, ts_val, ts_ecr
