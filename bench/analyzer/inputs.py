"""The benchmark's inputs, generated reproducibly and kept outside git (bench/data/).

    base = capture_base.base_capture(DATA / "base.pcap")[0]   # a real lab capture (bench/analyzer/capture_base.py)
    info = replicate(base, DATA / "bench-2m.pcap", 2_000_000)  # connections replicated, ports/times shifted
    pcapng_copy(info.path, DATA / "bench-2m.pcapng")                # the same frames as pcapng (editcap)

The large files are the base capture's connections replayed again and again: replica k of a TCP
connection keeps every byte of every segment (sequence numbers, options, payload, timing inside
the connection) and changes only the client's endpoint - its port, and once the port space is used
up its address - so every replica is a new connection with its own 4-tuple and tshark's TCP
analysis flags in each replica exactly what it flags in the base (and no reused ports).
Replicas follow each other in time (replica k starts one second after replica k-1 ended).
IPv4 header and TCP checksums are recomputed, so they are valid in every replica even where the
base capture had offloaded (partial) checksums, as loopback captures do.
"""
from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, NamedTuple

DATA = Path(__file__).resolve().parents[1] / "data"

# Replica client ports are drawn from [PORT_LOW, 65535], skipping the base's server ports there
# (a loopback base's server has an ephemeral port), so a replicated client endpoint never equals
# a server endpoint, even where client and server share an address (127.0.0.1).
PORT_LOW = 10000
PORT_SPAN = 65536 - PORT_LOW

_LINK_IP_OFFSET = {1: 14, 113: 16, 276: 20, 101: 0, 228: 0}   # Ethernet, SLL, SLL2, raw, IPv4
_PCAP_MAGIC = {b"\xd4\xc3\xb2\xa1": ("<", 1000), b"\xa1\xb2\xc3\xd4": (">", 1000),
               b"\x4d\x3c\xb2\xa1": ("<", 1), b"\xa1\xb2\x3c\x4d": (">", 1)}


class PcapRecord(NamedTuple):
    ts_ns: int
    wirelen: int
    data: bytes


@dataclass(frozen=True)
class Pcap:
    linktype: int
    snaplen: int
    records: list[PcapRecord]


@dataclass(frozen=True)
class ReplicaInfo:
    """What replicate() wrote."""

    path: Path
    packets: int
    replicas: int
    base_packets: int
    base_connections: int
    connections: int          # base_connections * replicas


def read_pcap(path: str | os.PathLike) -> Pcap:
    """A classic pcap file, whole (the base capture is small). pcapng is refused with a hint."""
    raw = Path(path).read_bytes()
    if len(raw) < 24 or raw[:4] not in _PCAP_MAGIC:
        raise ValueError(f"{path}: not a classic pcap file (convert with `editcap -F pcap`)")
    endian, ns_per_unit = _PCAP_MAGIC[raw[:4]]
    _, _, _, _, snaplen, linktype = struct.unpack_from(endian + "HHiIII", raw, 4)
    rec = struct.Struct(endian + "IIII")
    records, off = [], 24
    while off + 16 <= len(raw):
        sec, frac, caplen, wirelen = rec.unpack_from(raw, off)
        off += 16
        if off + caplen > len(raw):
            break   # a record cut by the end of the file: the base capture was stopped mid-write
        records.append(PcapRecord(sec * 1_000_000_000 + frac * ns_per_unit, wirelen, raw[off:off + caplen]))
        off += caplen
    return Pcap(linktype & 0xFFFF, snaplen, records)


def iter_pcap_records(path: str | os.PathLike, limit: int | None = None) -> Iterator[PcapRecord]:
    """Stream a classic pcap's records (for slicing large files without loading them)."""
    with open(path, "rb") as f:
        head = f.read(24)
        endian, ns_per_unit = _PCAP_MAGIC[head[:4]]
        rec = struct.Struct(endian + "IIII")
        count = 0
        while limit is None or count < limit:
            hdr = f.read(16)
            if len(hdr) < 16:
                return
            sec, frac, caplen, wirelen = rec.unpack(hdr)
            data = f.read(caplen)
            if len(data) < caplen:
                return
            count += 1
            yield PcapRecord(sec * 1_000_000_000 + frac * ns_per_unit, wirelen, data)


def pcap_header(linktype: int, snaplen: int = 262144) -> bytes:
    # nanosecond-resolution pcap, little-endian: the replicas keep the base's timestamps exactly
    return struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, snaplen, linktype)


def write_slice(src: str | os.PathLike, dst: str | os.PathLike, packets: int) -> int:
    """The first `packets` records of `src` as their own pcap (for the slow peers)."""
    linktype = read_pcap_linktype(src)
    n = 0
    with open(dst, "wb") as out:
        out.write(pcap_header(linktype))
        for r in iter_pcap_records(src, packets):
            out.write(struct.pack("<IIII", r.ts_ns // 1_000_000_000, r.ts_ns % 1_000_000_000,
                                  len(r.data), r.wirelen) + r.data)
            n += 1
    return n


def read_pcap_linktype(path: str | os.PathLike) -> int:
    with open(path, "rb") as f:
        head = f.read(24)
    endian, _ = _PCAP_MAGIC[head[:4]]
    return struct.unpack_from(endian + "I", head, 20)[0] & 0xFFFF


# --- ones' complement arithmetic (RFC 1071), for checksums built from precomputed partial sums ---

def _sum16(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    return sum(struct.unpack(f"!{len(data) // 2}H", data))


def _fold(total: int) -> int:
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


class _Template(NamedTuple):
    """One base frame, ready to be stamped with a replica's client endpoint."""

    offset_ns: int            # time since the base capture's first frame
    wirelen: int
    data: bytes
    conn: int                 # index of its TCP connection in the base, -1 for non-TCP frames
    ip_off: int               # where the IPv4 header starts
    tcp_off: int              # where the TCP header starts
    client_ip_off: int        # byte offset of the client address (src or dst) in the frame
    client_port_off: int      # byte offset of the client port (sport or dport) in the frame
    ip_sum: int               # IP header ones' complement sum without checksum and client address
    tcp_sum: int | None       # same for TCP + pseudo-header; None when the segment is cut short
    client_ip: int            # the base client address (32-bit) and port
    client_port: int


def _templates(base: Pcap) -> tuple[list[_Template], int, frozenset[int]]:
    """Parse the base once: which frames are IPv4/TCP, who the client of each connection is, and
    the checksum partial sums that do not depend on the client endpoint; and the server ports."""
    ip_off = _LINK_IP_OFFSET.get(base.linktype)
    if ip_off is None:
        raise ValueError(f"linktype {base.linktype} not supported by the replicator")
    if not base.records:
        raise ValueError("the base capture has no frames")
    t0 = base.records[0].ts_ns
    conns: dict[tuple, tuple[int, tuple[int, int]]] = {}   # endpoint pair -> (index, client endpoint)
    out: list[_Template] = []
    server_ports: set[int] = set()
    for rec in base.records:
        d = rec.data
        tpl = _Template(rec.ts_ns - t0, rec.wirelen, d, -1, 0, 0, 0, 0, 0, None, 0, 0)
        ethertype_ok = base.linktype in (101, 228) or (
            len(d) >= ip_off and d[ip_off - 2:ip_off] in (b"\x08\x00", b"\x86\xdd"))
        if not ethertype_ok or len(d) < ip_off + 20:
            out.append(tpl)
            continue
        version, ihl = d[ip_off] >> 4, (d[ip_off] & 0x0F) * 4
        if version == 6 and len(d) > ip_off + 6 and d[ip_off + 6] == 6:
            raise ValueError("the base capture has IPv6 TCP; the replicator rewrites IPv4 only")
        if version != 4 or d[ip_off + 9] != 6 or len(d) < ip_off + ihl + 20:
            out.append(tpl)
            continue
        tcp_off = ip_off + ihl
        src, dst = struct.unpack_from("!II", d, ip_off + 12)
        sport, dport = struct.unpack_from("!HH", d, tcp_off)
        flags = d[tcp_off + 13]
        key = frozenset(((src, sport), (dst, dport)))
        if key not in conns:
            # the SYN's sender is the client; a SYN-ACK's receiver; else the higher port's side
            if flags & 0x12 == 0x12 or (not flags & 0x02 and dport > sport):
                client = (dst, dport)
            else:
                client = (src, sport)
            conns[key] = (len(conns), client)
        index, (cip, cport) = conns[key]
        is_src = (src, sport) == (cip, cport)
        server_ports.add(dport if is_src else sport)
        total_len = struct.unpack_from("!H", d, ip_off + 2)[0]
        ip_hdr = bytearray(d[ip_off:ip_off + ihl])
        ip_hdr[10:12] = b"\0\0"
        ip_hdr[12 if is_src else 16:(12 if is_src else 16) + 4] = b"\0\0\0\0"
        tcp_sum = None
        if len(d) >= ip_off + total_len:      # whole segment captured: the checksum is computable
            seg = bytearray(d[tcp_off:ip_off + total_len])
            seg[16:18] = b"\0\0"
            seg[0 if is_src else 2:(0 if is_src else 2) + 2] = b"\0\0"
            other_ip = dst if is_src else src
            tcp_sum = _sum16(bytes(seg)) + (other_ip >> 16) + (other_ip & 0xFFFF) + 6 + len(seg)
        out.append(_Template(rec.ts_ns - t0, rec.wirelen, d, index, ip_off, tcp_off,
                             ip_off + (12 if is_src else 16), tcp_off + (0 if is_src else 2),
                             _sum16(bytes(ip_hdr)), tcp_sum, cip, cport))
    return out, len(conns), frozenset(server_ports)


def replica_endpoint(client_ip: int, g: int, reserved: tuple[int, ...] = ()) -> tuple[int, int]:
    """The client endpoint of replicated connection number `g` (0, 1, 2, ... over all replicas):
    a port in [PORT_LOW, 65535] other than the `reserved` ones (the base's server ports there,
    ascending), and after every span of those ports the next /24 block of client addresses
    (third octet + 1), which keeps each 4-tuple unique for millions of connections without ever
    producing the server's address (it stays in block 0)."""
    block, port_index = divmod(g, PORT_SPAN - len(reserved))
    if block > 255:
        raise ValueError("more than 16 million replicated connections")
    port = PORT_LOW + port_index
    for skipped in reserved:        # ascending: each one at or below the port moves it up one
        if skipped > port:
            break
        port += 1
    return (client_ip + (block << 8)) & 0xFFFFFFFF, port


def replicate(base_path: str | os.PathLike, out_path: str | os.PathLike, packets: int) -> ReplicaInfo:
    """Write whole replicas of `base_path` until at least `packets` frames (rounded up to a replica)."""
    base = read_pcap(base_path)
    templates, nconns, server_ports = _templates(base)
    reserved = tuple(sorted(p for p in server_ports if p >= PORT_LOW))
    replicas = max(1, -(-packets // len(templates)))
    span_ns = templates[-1].offset_ns + 1_000_000_000
    t0 = base.records[0].ts_ns
    rec_hdr = struct.Struct("<IIII")
    pack_into = struct.pack_into
    written = 0
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    with open(out_path, "wb") as f:
        f.write(pcap_header(base.linktype, max(base.snaplen, 65535)))
        for k in range(replicas):
            chunks = []
            start = t0 + k * span_ns
            g0 = k * nconns
            for t in templates:
                ts = start + t.offset_ns
                if t.conn < 0:
                    data = t.data
                else:
                    ip, port = replica_endpoint(t.client_ip, g0 + t.conn, reserved)
                    buf = bytearray(t.data)
                    pack_into("!I", buf, t.client_ip_off, ip)
                    pack_into("!H", buf, t.client_port_off, port)
                    ip_part = (ip >> 16) + (ip & 0xFFFF)
                    pack_into("!H", buf, t.ip_off + 10, ~_fold(t.ip_sum + ip_part) & 0xFFFF)
                    if t.tcp_sum is not None:
                        csum = ~_fold(t.tcp_sum + ip_part + port) & 0xFFFF
                        pack_into("!H", buf, t.tcp_off + 16, csum)
                    data = bytes(buf)
                chunks.append(rec_hdr.pack(ts // 1_000_000_000, ts % 1_000_000_000, len(data), t.wirelen))
                chunks.append(data)
            f.write(b"".join(chunks))
            written += len(templates)
    return ReplicaInfo(Path(out_path), written, replicas, len(templates), nconns, nconns * replicas)


def count_pcap_records(path: str | os.PathLike) -> int:
    """How many whole records a classic pcap holds (the loopback captures' frame count)."""
    return sum(1 for _ in iter_pcap_records(path))


def pcapng_copy(src: str | os.PathLike, dst: str | os.PathLike) -> Path:
    """`src` (classic pcap) again as pcapng, by Wireshark's editcap (every frame, byte and
    timestamp kept; the same tool the peers' tshark comes with), written under a temporary name
    and renamed, so a stopped run never leaves half a file to be taken for the copy."""
    import shutil
    import subprocess

    editcap = shutil.which("editcap")
    if editcap is None:
        raise RuntimeError("editcap (Wireshark's, beside tshark) is needed for the pcapng copy")
    dst = Path(dst)
    partial = dst.with_name(dst.name + ".part")
    done = subprocess.run([editcap, "-F", "pcapng", str(src), str(partial)], capture_output=True,
                          text=True, timeout=1800)
    if done.returncode != 0:
        partial.unlink(missing_ok=True)
        raise RuntimeError(f"editcap -F pcapng {src} failed: {(done.stderr or done.stdout).strip()[-300:]}")
    partial.replace(dst)
    return dst
