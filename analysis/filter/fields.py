"""The fields a display filter may name: every field analysis.dissect shows (and the protocol
layers), Wireshark's either-way fields (tcp.port, ip.addr, ...), and our own `phase` and `label`.
What a literal means depends on the field's type, as in Wireshark: `tcp.port == 80` an integer,
`ip.addr == 10.0.0.0/8` an IPv4 network, `eth.src == 02:00:00:00:00:01` a MAC address,
`tcp.payload contains "Echo"` bytes, `tcp.flags.syn == 1` (or True) a flag bit.
"""
from __future__ import annotations

import ipaddress
import re

from analysis.errors import FilterError
from analysis.i18n import N_

# `data` is not among them: our data layer holds the bytes *we* do not dissect, Wireshark's the
# bytes no dissector of its own claims (an ICMP echo's payload, MPTCP's): the same name would
# select other frames
PROTOCOLS = frozenset({"frame", "eth", "vlan", "sll", "null", "loop", "arp", "ip", "ipv6", "tcp",
                       "udp", "icmp", "icmpv6"})

_BOOL = {"tcp.flags.ae", "tcp.flags.cwr", "tcp.flags.ece", "tcp.flags.urg", "tcp.flags.ack",
         "tcp.flags.push", "tcp.flags.reset", "tcp.flags.syn", "tcp.flags.fin", "tcp.flags.res",
         "ip.flags.rb", "ip.flags.df", "ip.flags.mf"}
_IPV4 = {"ip.src", "ip.dst", "ip.addr", "arp.src.proto_ipv4", "arp.dst.proto_ipv4"}
_IPV6 = {"ipv6.src", "ipv6.dst", "ipv6.addr"}
_ETHER = {"eth.src", "eth.dst", "eth.addr", "arp.src.hw_mac", "arp.dst.hw_mac", "sll.src.eth"}
_BYTES = {"tcp.options", "tcp.options.mss", "tcp.options.nop", "tcp.options.wscale",
          "tcp.options.sack_perm", "tcp.options.sack", "tcp.options.timestamp", "tcp.options.eol",
          "tcp.payload", "udp.payload", "sll.unused"}
_STRING = {"tcp.flags.str", "phase", "label"}
_FLOAT = {"frame.time_epoch"}
_UINT = {"frame.number", "frame.len", "frame.cap_len", "eth.type", "vlan.priority", "vlan.dei",
         "vlan.id", "vlan.etype", "sll.pkttype", "sll.hatype", "sll.halen", "sll.etype",
         "sll.ifindex", "null.family", "loop.family", "arp.hw.type", "arp.proto.type", "arp.hw.size",
         "arp.proto.size", "arp.opcode", "ip.version", "ip.hdr_len", "ip.dsfield",
         "ip.dsfield.dscp", "ip.dsfield.ecn", "ip.len", "ip.id", "ip.flags", "ip.frag_offset",
         "ip.ttl", "ip.proto", "ip.checksum", "ipv6.version", "ipv6.tclass", "ipv6.tclass.dscp",
         "ipv6.tclass.ecn", "ipv6.flow", "ipv6.plen", "ipv6.nxt", "ipv6.hlim", "tcp.srcport",
         "tcp.dstport", "tcp.port", "tcp.stream", "tcp.len", "tcp.seq", "tcp.seq_raw",
         "tcp.nxtseq", "tcp.ack", "tcp.ack_raw", "tcp.hdr_len", "tcp.flags",
         "tcp.window_size_value", "tcp.window_size", "tcp.checksum", "tcp.urgent_pointer",
         "tcp.option_kind", "tcp.option_len", "tcp.options.mss_val", "tcp.options.wscale.shift",
         "tcp.options.wscale.multiplier", "tcp.options.timestamp.tsval",
         "tcp.options.timestamp.tsecr", "tcp.options.sack_le", "tcp.options.sack_re",
         "udp.srcport", "udp.dstport", "udp.port", "udp.length", "udp.checksum",
         "icmp.type", "icmp.code", "icmp.checksum", "icmpv6.type", "icmpv6.code",
         "icmpv6.checksum"}

# sorted by name: the sets' order changes from process to process, and report.html embeds this
FIELD_TYPES: dict[str, str] = dict(sorted({
    **{name: "uint" for name in _UINT}, **{name: "bool" for name in _BOOL},
    **{name: "ipv4" for name in _IPV4}, **{name: "ipv6" for name in _IPV6},
    **{name: "ether" for name in _ETHER}, **{name: "bytes" for name in _BYTES},
    **{name: "string" for name in _STRING}, **{name: "float" for name in _FLOAT},
    **{name: "protocol" for name in PROTOCOLS},
}.items()))
# Wireshark's either-way fields: the values of both of these
EITHER = {"tcp.port": ("tcp.srcport", "tcp.dstport"), "udp.port": ("udp.srcport", "udp.dstport"),
          "ip.addr": ("ip.src", "ip.dst"), "ipv6.addr": ("ipv6.src", "ipv6.dst"),
          "eth.addr": ("eth.src", "eth.dst")}

_IP_KINDS = {"ipv4": (ipaddress.IPv4Network, ipaddress.IPv4Address, "IPv4"),
             "ipv6": (ipaddress.IPv6Network, ipaddress.IPv6Address, "IPv6")}
_MAC = re.compile(r"^[0-9A-Fa-f]{2}([:\-.]?[0-9A-Fa-f]{2}){5}$")
_HEX_BYTES = re.compile(r"^[0-9A-Fa-f]{2}([:\-.]?[0-9A-Fa-f]{2})*$")


def field_type(name: str, *, text: str, column: int) -> str:
    kind = FIELD_TYPES.get(name)
    if kind is None:
        raise FilterError(N_("{name!r} is not a field we dissect"), text=text, column=column,
                          hint=N_("see analysis/filter/fields.py FIELD_TYPES for the names"),
                          fields={"name": name})
    return kind


def typed(kind: str, show: str):
    """A dissected field's value, from its PDML `show` (or `value` hex for bytes)."""
    if kind in ("uint", "bool"):
        return int(show, 16) if show.startswith("0x") else int(show)
    if kind == "ipv4":
        return ipaddress.IPv4Address(show)
    if kind == "ipv6":
        return ipaddress.IPv6Address(show)
    if kind == "ether":
        return bytes.fromhex(show.replace(":", ""))
    if kind == "bytes":
        return bytes.fromhex(show.replace(":", ""))
    if kind == "float":
        return float(show)
    return show


def literal(kind: str, lit, *, field: str, text: str):
    """What literal `lit` means for a field of this kind; FilterError if it means nothing."""
    value = lit.text
    # every refusal names the value, the field and the column, and says what the field takes
    where = {"text": text, "column": lit.column, "fields": {"value": value, "field": field}}

    if kind in ("uint", "bool"):
        if kind == "bool" and value in ("True", "False"):
            return int(value == "True")
        try:
            if re.fullmatch(r"0[0-7]+", value):
                return int(value, 8)            # a leading 0 is octal, as Wireshark reads it
            return int(value, 0)
        except ValueError:
            raise FilterError(N_("{value!r} is not an integer (for {field})"), **where) from None
    if kind in _IP_KINDS:
        network, address, version = _IP_KINDS[kind]
        where["fields"]["version"] = version
        if lit.quoted:
            raise FilterError(N_("{value!r} is not an {version} address (write it without quotes) "
                                 "(for {field})"), **where)
        try:
            return network(value, strict=False) if "/" in value else address(value)
        except ValueError:
            raise FilterError(N_("{value!r} is not an {version} address or network (for {field})"),
                              **where) from None
    if kind == "ether":
        if not _MAC.match(value):
            raise FilterError(N_("{value!r} is not a MAC address (for {field})"), **where)
        return bytes.fromhex(re.sub(r"[:\-.]", "", value))
    if kind == "bytes":
        if lit.quoted:
            return value.encode()
        if not _HEX_BYTES.match(value):
            raise FilterError(N_("{value!r} is not bytes (01:02:03) or a quoted string (for {field})"),
                              **where)
        return bytes.fromhex(re.sub(r"[:\-.]", "", value))
    if kind == "float":
        try:
            return float(value)
        except ValueError:
            raise FilterError(N_("{value!r} is not a number (for {field})"), **where) from None
    if kind == "protocol":
        raise FilterError(N_("{field!r} is a protocol: it can only be tested for presence"), **where)
    return value
