"""Transport layers as Wireshark dissects them: TCP (flags, options), UDP, ICMP / ICMPv6 (type,
code, checksum), and the payload (tcp.payload, udp.payload).

TCP fields that depend on the connection (tcp.stream, the relative tcp.seq / tcp.ack /
tcp.nxtseq, the calculated tcp.window_size, relative SACK edges) come from a TcpContext when the
caller has one (the capture convenience takes it from the analyzer); without one they are left
out rather than guessed.
"""
from __future__ import annotations

from typing import NamedTuple

from analysis.dissect.fields import Field, bits, colon_hex, computed, raw, uint


class TcpContext(NamedTuple):
    """What Wireshark knows of a TCP segment from its connection (tshark's defaults: relative
    sequence numbers, window scaling from the handshake)."""

    stream: int                 # tcp.stream
    seq: int                    # relative sequence number
    ack: int | None             # relative acknowledgement number (None without the ACK flag)
    window: int | None          # calculated (scaled) window size


# tcp.flags.str: one letter per bit, bit 11 first (Wireshark 4.0)
_FLAG_LETTERS = "RRRACEUAPRSF"
_FLAG_BITS = (("tcp.flags.cwr", 7), ("tcp.flags.ece", 6), ("tcp.flags.urg", 5),
              ("tcp.flags.ack", 4), ("tcp.flags.push", 3), ("tcp.flags.reset", 2),
              ("tcp.flags.syn", 1), ("tcp.flags.fin", 0))
_OPTION_NAMES = {0: "tcp.options.eol", 1: "tcp.options.nop", 2: "tcp.options.mss",
                 3: "tcp.options.wscale", 4: "tcp.options.sack_perm", 5: "tcp.options.sack",
                 8: "tcp.options.timestamp"}
_OPTION_LENGTHS = {2: 4, 3: 3, 4: 2, 8: 10}         # kinds of a fixed length


def tcp(data, off: int, seg_len: int, context: TcpContext | None):
    """(tcp layer, payload length, malformed); seg_len: the segment's length on the wire."""
    end = len(data)
    if end - off < 20:
        return None, 0, f"tcp header cut at {max(end - off, 0)} of 20 bytes"
    hlen = (data[off + 12] >> 4) * 4
    flags = int.from_bytes(data[off + 12:off + 14], "big") & 0x0FFF
    payload = max(seg_len - hlen, 0)
    sport = int.from_bytes(data[off:off + 2], "big")
    dport = int.from_bytes(data[off + 2:off + 4], "big")
    seq_raw = int.from_bytes(data[off + 4:off + 8], "big")
    ack_raw = int.from_bytes(data[off + 8:off + 12], "big")
    out = [uint("tcp.srcport", data, off, 2), uint("tcp.dstport", data, off + 2, 2)]
    if context is not None:
        out.append(computed("tcp.stream", off, context.stream))
    out.append(computed("tcp.len", off, payload))
    if context is not None:
        out.append(raw("tcp.seq", data, off + 4, 4, str(context.seq)))
    out.append(uint("tcp.seq_raw", data, off + 4, 4))
    if context is not None:
        nxt = context.seq + payload + (flags & 0x02 != 0) + (flags & 0x01 != 0)
        out.append(computed("tcp.nxtseq", off, nxt))
        if context.ack is not None:
            out.append(raw("tcp.ack", data, off + 8, 4, str(context.ack)))
        elif ack_raw == 0:                    # no ACK flag: Wireshark shows the (zero) field
            out.append(raw("tcp.ack", data, off + 8, 4, "0"))
    out.append(uint("tcp.ack_raw", data, off + 8, 4))
    out.append(Field("tcp.hdr_len", off + 12, 1, f"{data[off + 12]:02x}", str(hlen)))
    letters = "".join(letter if flags >> (11 - i) & 1 else "\u00b7"
                      for i, letter in enumerate(_FLAG_LETTERS))
    flag_fields = [bits("tcp.flags.res", off + 12, 1, flags >> 9, str(int(flags >> 9 != 0))),
                   bits("tcp.flags.ae", off + 12, 1, (flags >> 8) & 1)]
    flag_fields += [bits(name, off + 13, 1, (flags >> bit) & 1) for name, bit in _FLAG_BITS]
    flag_fields.append(raw("tcp.flags.str", data, off + 12, 2, letters))
    out.append(Field("tcp.flags", off + 12, 2, f"{flags:X}", f"0x{flags:04x}", tuple(flag_fields)))
    out.append(uint("tcp.window_size_value", data, off + 14, 2))
    if context is not None and context.window is not None:
        out.append(raw("tcp.window_size", data, off + 14, 2, str(context.window)))
    out.append(uint("tcp.checksum", data, off + 16, 2, hexa=4))
    out.append(uint("tcp.urgent_pointer", data, off + 18, 2))
    reason = None
    if hlen < 20:
        reason = f"tcp header length {hlen} is less than 20"
    elif hlen > 20:
        size = min(hlen, end - off) - 20
        if size > 0:
            options = _options(data, off + 20, off + 20 + size, ack_raw, context)
            out.append(raw("tcp.options", data, off + 20, size, colon_hex(data, off + 20, size),
                           options))
        if end - off < hlen:
            reason = f"tcp header cut at {end - off} of {hlen} bytes"
    start = off + max(hlen, 20)
    # the payload, when captured whole (a RST's payload is Wireshark's tcp.reset_cause instead)
    if reason is None and payload and start + payload <= end and not flags & 0x04:
        out.append(raw("tcp.payload", data, start, payload, colon_hex(data, start, payload)))
    summary = f"Transmission Control Protocol, Src Port: {sport}, Dst Port: {dport}, Len: {payload}"
    return Field("tcp", off, min(max(hlen, 20), end - off), None, summary, tuple(out)), payload, reason


def _options(data, pos: int, end: int, ack_raw: int, context: TcpContext | None):
    out = []
    while pos < end:
        kind = data[pos]
        name = _OPTION_NAMES.get(kind)
        if kind in (0, 1):
            out.append(raw(name, data, pos, 1, f"{kind:02x}", (uint("tcp.option_kind", data, pos, 1),)))
            pos += 1
            continue
        if pos + 1 >= end:
            break
        length = data[pos + 1]
        if length < 2:
            break                             # Wireshark stops at an option length below 2
        size = min(length, end - pos)
        if name is not None:
            children = [uint("tcp.option_kind", data, pos, 1), uint("tcp.option_len", data, pos + 1, 1)]
            if _OPTION_LENGTHS.get(kind, length) == length and pos + length <= end:
                children += _option_values(kind, data, pos, length, ack_raw, context)
            out.append(raw(name, data, pos, size, colon_hex(data, pos, size), children))
        pos += length
    return tuple(out)


def _option_values(kind: int, data, pos: int, length: int, ack_raw: int, context):
    if kind == 2:
        return [uint("tcp.options.mss_val", data, pos + 2, 2)]
    if kind == 3:
        shift = data[pos + 2]
        return [uint("tcp.options.wscale.shift", data, pos + 2, 1),
                raw("tcp.options.wscale.multiplier", data, pos + 2, 1, str(1 << min(shift, 14)))]
    if kind == 8:
        return [uint("tcp.options.timestamp.tsval", data, pos + 2, 4),
                uint("tcp.options.timestamp.tsecr", data, pos + 6, 4)]
    if kind == 5:
        # SACK edges, relative to the peer's initial sequence number as tcp.ack is
        base = 0
        if context is not None and context.ack is not None:
            base = (ack_raw - context.ack) & 0xFFFFFFFF
        out = []
        for edge in range(pos + 2, pos + length - 7, 8):
            for name, at in (("tcp.options.sack_le", edge), ("tcp.options.sack_re", edge + 4)):
                number = int.from_bytes(data[at:at + 4], "big")
                out.append(raw(name, data, at, 4, str((number - base) & 0xFFFFFFFF)))
        return out
    return []


def udp(data, off: int, wire_len: int):
    end = len(data)
    if end - off < 8:
        return None, f"udp header cut at {max(end - off, 0)} of 8 bytes"
    sport = int.from_bytes(data[off:off + 2], "big")
    dport = int.from_bytes(data[off + 2:off + 4], "big")
    length = int.from_bytes(data[off + 4:off + 6], "big")
    out = [uint("udp.srcport", data, off, 2), uint("udp.dstport", data, off + 2, 2),
           uint("udp.length", data, off + 4, 2), uint("udp.checksum", data, off + 6, 2, hexa=4)]
    payload = min(length, wire_len) - 8
    if payload > 0 and off + 8 + payload <= end:
        out.append(raw("udp.payload", data, off + 8, payload, colon_hex(data, off + 8, payload)))
    summary = f"User Datagram Protocol, Src Port: {sport}, Dst Port: {dport}"
    return Field("udp", off, 8, None, summary, tuple(out)), None


def icmp(name: str, data, off: int):
    end = len(data)
    if end - off < 4:
        return None, f"{name} header cut at {max(end - off, 0)} of 4 bytes"
    out = (uint(f"{name}.type", data, off, 1), uint(f"{name}.code", data, off + 1, 1),
           uint(f"{name}.checksum", data, off + 2, 2, hexa=4))
    title = "Internet Control Message Protocol" + ("v6" if name == "icmpv6" else "")
    return Field(name, off, end - off, None, title, out), None
