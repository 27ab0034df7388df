"""dissect(): one frame's bytes -> a Dissection, its fields named, placed and shown as tshark's
PDML has them.  Never raises on bad bytes: what cannot be dissected is a `_ws.malformed` field
(and Dissection.malformed), and bytes after the last layer we dissect are a `data` layer."""
from __future__ import annotations

from analysis.decode.link import ETH_ARP, ETH_IPV4, ETH_IPV6, ETH_RARP
from analysis.dissect.fields import Dissection, Field, colon_hex, computed, malformed, raw
from analysis.dissect.link import LINK_DISSECTORS
from analysis.dissect.net import FRAGMENT, arp, ipv4, ipv6
from analysis.dissect.transport import TcpContext, icmp, tcp, udp

_IP_TCP, _IP_UDP, _IP_ICMP, _IP_ICMPV6 = 6, 17, 1, 58


def dissect(data, linktype: int = 1, *, number: int | None = None, wirelen: int | None = None,
            ts_ns: int | None = None, tcp_context: TcpContext | None = None) -> Dissection:
    """The field tree of one frame (`data`: its captured bytes, `linktype`: LINKTYPE_*).

    `number`, `wirelen`, `ts_ns` fill the frame layer (frame.number, frame.len,
    frame.time_epoch) when known; `tcp_context` the TCP fields that need the connection."""
    data = bytes(data)
    wire = len(data) if wirelen is None else wirelen
    frame = [computed("frame.number", 0, number)] if number is not None else []
    if ts_ns is not None:
        frame.append(computed("frame.time_epoch", 0, f"{ts_ns // 10**9}.{ts_ns % 10**9:09d}"))
    frame += [computed("frame.len", 0, wire), computed("frame.cap_len", 0, len(data))]
    title = f"Frame {number if number is not None else '?'}: {wire} bytes on wire, {len(data)} bytes captured"
    layers: list[Field] = [Field("frame", 0, len(data), None, title, tuple(frame))]
    reason = None
    link = LINK_DISSECTORS.get(linktype)
    if link is None:
        reason, off = f"link type {linktype} is not dissected", 0
    else:
        found, ethertype, off, reason = link(data)
        layers += found
        if reason is None and ethertype is not None:
            reason, off = _network(data, ethertype, off, tcp_context, layers)
    if reason is not None:
        layers.append(Field("_ws.malformed", off, 0, None, "Malformed Packet",
                            (malformed(off, reason),)))
    elif off < len(data) and not _ends_in_payload(layers):
        size = len(data) - off
        layers.append(Field("data", off, size, None, f"Data ({size} bytes)", (
            raw("data.data", data, off, size, colon_hex(data, off, size)),
            computed("data.len", off, size))))
    return Dissection(number, tuple(layers), reason)


def _ends_in_payload(layers) -> bool:
    # TCP/UDP/ICMP/ARP layers account for their bytes; what follows is padding or payload
    return layers[-1].name in ("tcp", "udp", "icmp", "icmpv6", "arp")


def _network(data, ethertype: int, off: int, context, layers):
    """Append the network and transport layers; (malformed reason or None, where data begins)."""
    if ethertype in (ETH_ARP, ETH_RARP):
        layer, reason = arp(data, off)
        if layer is not None:
            layers.append(layer)
        return reason, off + (layer.size if layer is not None else 0)
    if ethertype == ETH_IPV4:
        layer, proto, start, seg_len, reason = ipv4(data, off)
        icmp_name = "icmp"
    elif ethertype == ETH_IPV6:
        layer, proto, start, seg_len, reason = ipv6(data, off)
        icmp_name = "icmpv6"
    else:
        return None, off                  # an ethertype we do not dissect: its bytes are data
    if layer is not None:
        layers.append(layer)
    if reason is not None or proto is None:
        return reason, start
    if proto == FRAGMENT:
        return None, len(data)
    if proto == _IP_TCP:
        found, _, reason = tcp(data, start, seg_len, context)
    elif proto == _IP_UDP:
        found, reason = udp(data, start, seg_len)
    elif proto == (_IP_ICMP if icmp_name == "icmp" else _IP_ICMPV6):
        found, reason = icmp(icmp_name, data, start)
    else:
        return None, start
    if found is not None:
        layers.append(found)
    return reason, start + (found.size if found is not None else 0)
