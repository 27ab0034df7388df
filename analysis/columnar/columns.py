"""The columnar engine's records: one numpy array per field, one element per frame of a chunk.

This module is the contract between the engine's stages (see analysis/columnar/__init__.py):

    chunks.py       file                 -> FrameColumns + data   (decoded headers of a chunk)
    tcp_kernel.py   FrameColumns         -> TcpColumns            (tcp.stream, tcp.analysis.*)
    conn_kernel.py  FrameColumns + Tcp   -> ConnectionTable       (Zeek conn_state / history)
    label_kernel.py FrameColumns + Tcp   -> LabelColumns          (phase, label, direction)
    exch_kernel.py  FrameColumns + Tcp + Label + data -> ExchangeColumns (requests paired)

Every code below is an index into a tuple of names (PROTOS, NETS, vocabulary.PHASES, ...), so a
column of small integers turns back into the per-frame pipeline's strings with one lookup.
`from_frames()` builds FrameColumns from the per-frame decoder's Frame records: the reference
the fast decoder is tested against, and the path for frames the fast decoder leaves alone.
"""
from __future__ import annotations

from socket import AF_INET, AF_INET6, inet_ntop
from typing import NamedTuple

import numpy as np

from analysis import vocabulary
from analysis.decode.checksums import offloaded
from analysis.model import Frame

# --- codes ---------------------------------------------------------------------------------------
# Every closed vocabulary comes from analysis/vocabulary.py, in its order (a test checks that no
# module spells one again).
NETS = tuple(vocabulary.NETS)                         # Frame.net
PROTOS = tuple(vocabulary.PROTOS)                     # Frame.proto
NET_CODE = {name: i for i, name in enumerate(NETS)}
PROTO_CODE = {name: i for i, name in enumerate(PROTOS)}
P_TCP, P_UDP, P_ICMP, P_ICMPV6 = PROTO_CODE["tcp"], PROTO_CODE["udp"], PROTO_CODE["icmp"], PROTO_CODE["icmpv6"]
P_ARP, P_RARP = PROTO_CODE["arp"], PROTO_CODE["rarp"]

# Frame.malformed.code: 1 + its index in vocabulary.MALFORMED, 0 for None (the message stays with
# the per-frame decoder); the TCP codes come first, so "a TCP header cut or invalid" is a range
MALFORMED = tuple(vocabulary.MALFORMED)
MAL_CODE = {name: i + 1 for i, name in enumerate(MALFORMED)}
MAL_NONE = 0
MAL_TCP_OPTIONS = MAL_CODE["tcp-options-cut"]   # tshark prints no SEQ/ACK analysis
MAL_TCP_CUT = MAL_CODE["tcp-cut"]
MAL_TCP_INVALID = MAL_CODE["tcp-invalid"]       # MAL_TCP_OPTIONS..MAL_TCP_INVALID: Zeek skips it
MAL_CUT, MAL_LENGTH, MAL_INVALID = MAL_CODE["cut"], MAL_CODE["length"], MAL_CODE["invalid"]

PHASES = tuple(vocabulary.PHASES)
LABELS = tuple(vocabulary.LABELS)
ANALYSIS_FLAGS = tuple(vocabulary.ANALYSIS_FLAGS)   # bit i of TcpColumns.analysis <-> name i
CONN_STATES = tuple(vocabulary.CONN_STATES)
CONN_ENDS = tuple(vocabulary.CONN_ENDS)
DIRECTIONS = tuple(vocabulary.DIRECTIONS)             # LabelColumns.direction: -1 is None
SIDES = tuple(vocabulary.CLOSERS)                     # ConnectionTable.closed_by: -1 is None
EXCHANGE_KINDS = tuple(vocabulary.EXCHANGE_KINDS)


class FrameColumns(NamedTuple):
    """The decoded headers of n frames. Absent values: -1 (or 0 where noted)."""

    number: np.ndarray        # int64  1-based frame number
    ts_ns: np.ndarray         # int64  capture time, ns since the epoch
    caplen: np.ndarray        # int32
    wirelen: np.ndarray       # int64  (pcap stores an unsigned 32-bit length)
    net: np.ndarray           # uint8  NETS index
    proto: np.ndarray         # uint8  PROTOS index
    family: np.ndarray        # uint8  4 or 6 when src/dst are IP addresses, else 0
    src_hi: np.ndarray        # uint64 IPv6: first 8 address bytes big-endian; IPv4: 0
    src_lo: np.ndarray        # uint64 IPv6: last 8 bytes; IPv4: the address as a big-endian u32
    dst_hi: np.ndarray        # uint64
    dst_lo: np.ndarray        # uint64
    sport: np.ndarray         # int32  -1: none
    dport: np.ndarray         # int32
    tcp_flags: np.ndarray     # int32  -1: no TCP header (Frame.tcp is None)
    seq: np.ndarray           # int64  raw 32-bit value (0 without TCP)
    ack: np.ndarray           # int64  raw 32-bit value
    window: np.ndarray        # int32  raw window field
    wscale: np.ndarray        # int16  window-scale shift from the options (0-255), -1: none
    payload_len: np.ndarray   # int64  Frame.payload_len (from the IP header, or from a wire
                              #        length of up to 2**32 - 1 when that says 0)
    payload_off: np.ndarray   # int64  where the captured payload starts in the chunk's data
    payload_cap: np.ndarray   # int32  len(Frame.payload): captured payload bytes
    checksum: np.ndarray      # int8   1 ok, 0 bad, 2 bad as checksum offload leaves it
                              #        (checksums.offloaded), -1 not checked (checksum_ok None)
    malformed: np.ndarray     # uint8  MAL_* code
    truncated: np.ndarray     # bool
    arp_op: np.ndarray        # int32  -1: no ARP header (opcodes go to 65535)
    arp_spa: np.ndarray       # uint32 sender IPv4 address (0 unless arp_v4)
    arp_tpa: np.ndarray       # uint32
    arp_v4: np.ndarray        # bool   the ARP header carries IPv4 addresses (Frame.arp.spa != "")
    icmp_type: np.ndarray     # int16  -1: none
    undecoded: np.ndarray     # int32  Frame.undecoded (decode_link.UNDECODED_* code), -1: None
    mss: np.ndarray           # int32  TcpHeader.mss, -1: none (the Info column shows it on SYNs)
    sack_perm: np.ndarray     # bool   TcpHeader.sack_permitted
    ts_val: np.ndarray        # int64  TcpHeader.ts_val, -1: none
    ts_ecr: np.ndarray        # int64  TcpHeader.ts_ecr, -1: none
    sack_blocks: np.ndarray   # uint8  len(TcpHeader.sack_blocks) (the edges: per-frame decoder)

    def __len__(self) -> int:  # type: ignore[override]  - the number of frames, not of fields
        return len(self.number)


_DTYPES = {
    "number": np.int64, "ts_ns": np.int64, "caplen": np.int32, "wirelen": np.int64,
    "net": np.uint8, "proto": np.uint8, "family": np.uint8, "src_hi": np.uint64,
    "src_lo": np.uint64, "dst_hi": np.uint64, "dst_lo": np.uint64, "sport": np.int32,
    "dport": np.int32, "tcp_flags": np.int32, "seq": np.int64, "ack": np.int64,
    "window": np.int32, "wscale": np.int16, "payload_len": np.int64, "payload_off": np.int64,
    "payload_cap": np.int32, "checksum": np.int8, "malformed": np.uint8, "truncated": np.bool_,
    "arp_op": np.int32, "arp_spa": np.uint32, "arp_tpa": np.uint32, "arp_v4": np.bool_,
    "icmp_type": np.int16, "undecoded": np.int32, "mss": np.int32, "sack_perm": np.bool_,
    "ts_val": np.int64, "ts_ecr": np.int64, "sack_blocks": np.uint8,
}
FRAME_DTYPES: dict[str, type] = {name: _DTYPES[name] for name in FrameColumns._fields}


def empty_frames(n: int) -> FrameColumns:
    """Columns for n frames, every value 'absent' (the defaults documented on FrameColumns)."""
    cols = {}
    for name, dtype in FRAME_DTYPES.items():
        fill = -1 if name in ("sport", "dport", "tcp_flags", "wscale", "checksum", "arp_op",
                              "icmp_type", "undecoded", "mss", "ts_val", "ts_ecr") else 0
        cols[name] = np.full(n, fill, dtype=dtype)
    return FrameColumns(**cols)


class TcpColumns(NamedTuple):
    """What TcpAnalyzer gives per frame (TcpInfo), for n frames; -1 where a frame has no TCP."""

    stream: np.ndarray        # int64  tcp.stream (-1: not TCP)
    seq_rel: np.ndarray       # int64
    ack_rel: np.ndarray       # int64
    next_rel: np.ndarray      # int64
    analysis: np.ndarray      # uint16 bit i = ANALYSIS_FLAGS[i], exactly TcpInfo.analysis
    window: np.ndarray        # int64  TcpInfo.window (scaled)
    from_client: np.ndarray   # bool
    irtt_ns: np.ndarray       # int64  -1: None
    scalefactor: np.ndarray   # int32  0: None, -1, -2, else the multiplier


class LabelColumns(NamedTuple):
    """FrameLabeler's Label per frame, plus who the labeller takes for the client."""

    phase: np.ndarray         # uint8  PHASES index
    label: np.ndarray         # uint8  LABELS index
    direction: np.ndarray     # int8   DIRECTIONS index, -1: None
    client_is_src: np.ndarray  # bool  TCP frames: after this frame, the labeller's client of the
                               # stream is (src, sport) of this frame (FrameLabeler.client_of)


class ExchangeColumns(NamedTuple):
    """Exchanges (request paired with response), m of them; text is bytes in `text`."""

    conn: np.ndarray            # int64
    request_frame: np.ndarray   # int64
    response_frame: np.ndarray  # int64  -1: no response
    request_time: np.ndarray    # float64 epoch seconds
    latency: np.ndarray         # float64 NaN: no response
    kind: np.ndarray            # uint8  EXCHANGE_KINDS index
    request_off: np.ndarray     # int64  request text = text[request_off:request_off+request_len]
    request_len: np.ndarray     # int64
    response_off: np.ndarray    # int64  -1: no response
    response_len: np.ndarray    # int64
    text: np.ndarray            # uint8  the raw bytes (decode utf-8 with backslashreplace)


class ConnectionTable(NamedTuple):
    """ConnectionTracker.finish() as columns, one row per connection, ordered by id."""

    id: np.ndarray              # int64
    family: np.ndarray          # uint8 4 / 6
    orig_hi: np.ndarray         # uint64 (as FrameColumns.src_hi)
    orig_lo: np.ndarray         # uint64
    orig_port: np.ndarray       # int32
    resp_hi: np.ndarray
    resp_lo: np.ndarray
    resp_port: np.ndarray
    conn_state: np.ndarray      # uint8 CONN_STATES index
    history: np.ndarray         # object array of str (Zeek history letters)
    start_ns: np.ndarray        # int64
    duration_ns: np.ndarray     # int64
    orig_pkts: np.ndarray       # int64
    orig_bytes: np.ndarray      # int64
    resp_pkts: np.ndarray       # int64
    resp_bytes: np.ndarray      # int64
    irtt_ns: np.ndarray         # int64 -1: None
    closed_by: np.ndarray       # int8 SIDES index, -1: None
    end: np.ndarray             # uint8 CONN_ENDS index
    frames: np.ndarray          # int64 number of frames of the connection (len(Connection.frames))


# --- addresses -----------------------------------------------------------------------------------
def ip_words(text: str) -> tuple[int, int, int]:
    """'10.0.0.1' -> (4, 0, 0x0a000001); an IPv6 text -> (6, hi, lo)."""
    import ipaddress

    addr = ipaddress.ip_address(text)
    value = int(addr)
    if addr.version == 4:
        return 4, 0, value
    return 6, value >> 64, value & 0xFFFFFFFFFFFFFFFF


def ip_text(family: int, hi: int, lo: int) -> str:
    """The inverse of ip_words, in the per-frame decoder's spelling: inet_ntop's, as tshark's
    (::ffff:10.0.0.1 and ::10.0.0.1 keep their IPv4 part dotted; ipaddress would not)."""
    if family == 4:
        return inet_ntop(AF_INET, (int(lo) & 0xFFFFFFFF).to_bytes(4, "big"))
    return inet_ntop(AF_INET6, int(hi).to_bytes(8, "big") + int(lo).to_bytes(8, "big"))


def malformed_name(code: int) -> str | None:
    """The vocabulary.MALFORMED name of a FrameColumns.malformed code (None for 0)."""
    return MALFORMED[code - 1] if code else None


def _ipv4_int(text: str) -> int:
    a, b, c, d = (int(x) for x in text.split("."))
    return (a << 24) | (b << 16) | (c << 8) | d


def fill_from_frame(cols: FrameColumns, i: int, frame: Frame, payload_off: int) -> None:
    """Row i of `cols` from a per-frame decoder Frame (its payload is at data[payload_off:])."""
    cols.number[i] = frame.number
    cols.ts_ns[i] = frame.ts_ns
    cols.caplen[i] = frame.caplen
    cols.wirelen[i] = frame.wirelen
    cols.net[i] = NET_CODE[frame.net]
    cols.proto[i] = PROTO_CODE[frame.proto]
    if frame.net in ("ipv4", "ipv6") and frame.src is not None and frame.dst is not None:
        fam, hi, lo = ip_words(frame.src)
        cols.family[i], cols.src_hi[i], cols.src_lo[i] = fam, hi, lo
        _, hi, lo = ip_words(frame.dst)
        cols.dst_hi[i], cols.dst_lo[i] = hi, lo
    else:
        cols.family[i] = 0
        cols.src_hi[i] = cols.src_lo[i] = cols.dst_hi[i] = cols.dst_lo[i] = 0
    cols.sport[i] = -1 if frame.sport is None else frame.sport
    cols.dport[i] = -1 if frame.dport is None else frame.dport
    tcp = frame.tcp
    if tcp is not None:
        cols.tcp_flags[i] = tcp.flags
        cols.seq[i] = tcp.seq
        cols.ack[i] = tcp.ack
        cols.window[i] = tcp.window
        cols.wscale[i] = -1 if tcp.wscale is None else tcp.wscale
        cols.mss[i] = -1 if tcp.mss is None else tcp.mss
        cols.sack_perm[i] = tcp.sack_permitted
        cols.ts_val[i] = -1 if tcp.ts_val is None else tcp.ts_val
        cols.ts_ecr[i] = -1 if tcp.ts_ecr is None else tcp.ts_ecr
        cols.sack_blocks[i] = min(len(tcp.sack_blocks), 255)
    else:
        cols.tcp_flags[i] = -1
        cols.seq[i] = cols.ack[i] = cols.window[i] = 0
        cols.wscale[i] = -1
        cols.mss[i] = -1
        cols.sack_perm[i] = False
        cols.ts_val[i] = cols.ts_ecr[i] = -1
        cols.sack_blocks[i] = 0
    cols.payload_len[i] = frame.payload_len
    cols.payload_off[i] = payload_off
    cols.payload_cap[i] = len(frame.payload)
    ok = frame.checksum_ok
    cols.checksum[i] = -1 if ok is None else 1 if ok else 2 if offloaded(frame) else 0
    cols.malformed[i] = MAL_NONE if frame.malformed is None else MAL_CODE[frame.malformed.code]
    cols.truncated[i] = frame.truncated
    arp = frame.arp
    if arp is not None:
        cols.arp_op[i] = arp.opcode
        cols.arp_v4[i] = bool(arp.spa)
        cols.arp_spa[i] = _ipv4_int(arp.spa) if arp.spa else 0
        cols.arp_tpa[i] = _ipv4_int(arp.tpa) if arp.tpa else 0
    else:
        cols.arp_op[i] = -1
        cols.arp_v4[i] = False
        cols.arp_spa[i] = cols.arp_tpa[i] = 0
    cols.icmp_type[i] = -1 if frame.icmp_type is None else frame.icmp_type
    cols.undecoded[i] = -1 if frame.undecoded is None else frame.undecoded


def from_frames(frames: list[Frame]) -> tuple[FrameColumns, np.ndarray]:
    """FrameColumns and the data buffer (the frames' payloads, back to back) for Frame records."""
    cols = empty_frames(len(frames))
    data = np.frombuffer(b"".join(bytes(f.payload) for f in frames), dtype=np.uint8).copy()
    off = 0
    for i, frame in enumerate(frames):
        fill_from_frame(cols, i, frame, off)
        off += len(frame.payload)
    return cols, data


def slice_frames(cols: FrameColumns, start: int, stop: int) -> FrameColumns:
    """Rows [start, stop) (views; the payload offsets still point into the same data)."""
    return FrameColumns(*(c[start:stop] for c in cols))


# --- adapters from the per-frame pipeline's records (reference values for tests, fallbacks) ---
_FLAG_BIT = {name: 1 << i for i, name in enumerate(ANALYSIS_FLAGS)}


def analysis_bits(names: tuple[str, ...]) -> int:
    """TcpInfo.analysis names -> TcpColumns.analysis bits."""
    bits = 0
    for name in names:
        bits |= _FLAG_BIT[name]
    return bits


def analysis_names(bits: int) -> tuple[str, ...]:
    return tuple(name for i, name in enumerate(ANALYSIS_FLAGS) if bits >> i & 1)


def tcp_from_infos(infos) -> TcpColumns:
    """TcpColumns from a list of TcpInfo-or-None (one per frame), as TcpAnalyzer gives them."""
    n = len(infos)
    out = TcpColumns(stream=np.full(n, -1, np.int64), seq_rel=np.full(n, -1, np.int64),
                     ack_rel=np.full(n, -1, np.int64), next_rel=np.full(n, -1, np.int64),
                     analysis=np.zeros(n, np.uint16), window=np.full(n, -1, np.int64),
                     from_client=np.zeros(n, np.bool_), irtt_ns=np.full(n, -1, np.int64),
                     scalefactor=np.zeros(n, np.int32))
    for i, info in enumerate(infos):
        if info is None:
            continue
        out.stream[i], out.seq_rel[i], out.ack_rel[i] = info.stream, info.seq_rel, info.ack_rel
        out.next_rel[i], out.analysis[i] = info.next_seq_rel, analysis_bits(info.analysis)
        out.window[i], out.from_client[i] = info.window, info.from_client
        out.irtt_ns[i] = -1 if info.irtt_ns is None else info.irtt_ns
        out.scalefactor[i] = 0 if info.scalefactor is None else info.scalefactor
    return out


def slice_tcp(tcp: TcpColumns, start: int, stop: int) -> TcpColumns:
    return TcpColumns(*(c[start:stop] for c in tcp))


def slice_labels(labels: LabelColumns, start: int, stop: int) -> LabelColumns:
    return LabelColumns(*(c[start:stop] for c in labels))


def labels_from(frames, infos, labels, clients) -> LabelColumns:
    """LabelColumns from the reference: per frame its Frame, TcpInfo-or-None, Label and
    FrameLabeler.client_of(stream) right after labelling it (None for non-TCP frames)."""
    n = len(frames)
    out = LabelColumns(phase=np.zeros(n, np.uint8), label=np.zeros(n, np.uint8),
                       direction=np.full(n, -1, np.int8), client_is_src=np.zeros(n, np.bool_))
    for i, (frame, info, label, client) in enumerate(zip(frames, infos, labels, clients)):
        out.phase[i] = PHASES.index(label.phase)
        out.label[i] = LABELS.index(label.label)
        out.direction[i] = -1 if label.direction is None else DIRECTIONS.index(label.direction)
        out.client_is_src[i] = info is not None and client == (frame.src, frame.sport)
    return out
