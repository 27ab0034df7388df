"""Crafted capture files, written at test time.

Small, explicit writers (the test states every byte that matters) for container variants scapy's
writers cannot produce: pcapng with several IDBs, if_tsresol / if_tsoffset, big-endian sections,
SPB / obsolete PB blocks, the modified-pcap magic.  Frame bytes come from scapy in the tests.
"""
from __future__ import annotations

import struct


def pcap_bytes(frames, *, linktype=1, order="<", nano=False, snaplen=65535, modified=False) -> bytes:
    """A classic pcap file.  `frames`: iterable of (ts_ns, data) or (ts_ns, data, wirelen)."""
    magic = 0xA1B2CD34 if modified else (0xA1B23C4D if nano else 0xA1B2C3D4)
    out = [struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype)]
    for frame in frames:
        ts_ns, data = frame[0], bytes(frame[1])
        wirelen = frame[2] if len(frame) > 2 else len(data)
        frac = ts_ns % 10**9 if nano else (ts_ns % 10**9) // 1000
        out.append(struct.pack(order + "IIII", ts_ns // 10**9, frac, len(data), wirelen))
        if modified:
            out.append(struct.pack(order + "iHBx", 3, 0x0800, 0))
        out.append(data)
    return b"".join(out)


def pcapng_block(btype: int, body: bytes, order: str = "<") -> bytes:
    body = body + b"\0" * (-len(body) % 4)
    return struct.pack(order + "II", btype, 12 + len(body)) + body + struct.pack(order + "I", 12 + len(body))


def pcapng_option(code: int, value: bytes, order: str = "<") -> bytes:
    return struct.pack(order + "HH", code, len(value)) + value + b"\0" * (-len(value) % 4)


def pcapng_shb(order: str = "<") -> bytes:
    return pcapng_block(0x0A0D0D0A, struct.pack(order + "IHHq", 0x1A2B3C4D, 1, 0, -1), order)


def pcapng_idb(linktype: int = 1, *, snaplen: int = 262144, tsresol: int | None = None,
               tsoffset: int | None = None, order: str = "<") -> bytes:
    options = b""
    if tsresol is not None:
        options += pcapng_option(9, bytes([tsresol]), order)
    if tsoffset is not None:
        options += pcapng_option(14, struct.pack(order + "q", tsoffset), order)
    if options:
        options += pcapng_option(0, b"", order)
    return pcapng_block(1, struct.pack(order + "HHI", linktype, 0, snaplen) + options, order)


def pcapng_epb(interface: int, ticks: int, data: bytes, wirelen: int | None = None,
               order: str = "<") -> bytes:
    data = bytes(data)
    head = struct.pack(order + "IIIII", interface, ticks >> 32, ticks & 0xFFFFFFFF, len(data),
                       len(data) if wirelen is None else wirelen)
    return pcapng_block(6, head + data, order)


