"""Capture files built by hypothesis from their structure, and both engines' verdict on a file.

    from tests.analysis.support.fuzz_captures import capture_files, outcome
    @given(capture_files())
    def test(blob): ...
    outcome(path, engine)        # what analysis.analyze / analysis.scan made of the file

`capture_files()` draws classic pcap files (either byte order, micro/nanosecond, Kuznetzov's
modified headers, any link type, timestamps over the whole 32-bit range) and pcapng files
(sections of either byte order, IDBs with if_tsresol in powers of 10 and 2 and any if_tsoffset,
EPB/SPB/PB/unknown blocks with options, 64-bit timestamps over their whole range), made of
real frames (crafted_frames: every layer the decoder knows) that are cut and mutated; then the
file itself may get a length field overwritten, a trailing block length that differs from the
leading one, or a cut anywhere. Structurally valid-ish: most of a file parses, so the damage
lands deep in the readers and decoders rather than at the magic number.

`outcome()` is a comparable value: ("ok", frame count, per-frame rows, connections, warnings)
or ("error", class name, one-line message). Anything that is not an AnalysisError propagates:
a traceback is what the fuzz tests exist to find.
"""
from __future__ import annotations

import struct
from pathlib import Path

from hypothesis import strategies as st

from analysis.reference import analyze_reference as analyze
from analysis.columnar.conn.kernel import connections_from_table
from analysis.columnar.engine import Scan
from analysis.columnar.frames_view import collect, row_of
from analysis.errors import AnalysisError
from tests.analysis.columnar.support.crafted_frames import LINKTYPES, T0, link_frames

I64_MAX = 2**63 - 1
U32, U64 = 2**32 - 1, 2**64 - 1
FRAMES = {lt: link_frames(lt) for lt in LINKTYPES}
ODD_LINKTYPES = [147, 65535, 1 | 0x10000000, 113 | 0x04000000]   # unknown, FCS bits set
# values a damaged length or count field tends to hold
NASTY_U32 = [0, 1, 3, 4, 11, 12, 13, 16, 27, 28, 31, 32, 0x7FFFFFFF, 0x80000000, U32, 0x10000000]


# -- pieces --------------------------------------------------------------------------------------

def mostly(common: st.SearchStrategy, rare: st.SearchStrategy, odds: int = 9) -> st.SearchStrategy:
    """`common` `odds` times out of `odds + 1`: damage everywhere at once would stop every file
    at its first block."""
    return st.integers(0, odds).flatmap(lambda k: rare if k == 0 else common)


@st.composite
def frame_bytes(draw, linktype: int) -> bytes:
    """A frame of this link type, maybe with bytes overwritten and maybe cut."""
    pool = FRAMES.get(linktype & 0xFFFF) or FRAMES[1]
    data = bytearray(draw(st.sampled_from(pool)))
    if draw(st.booleans()):
        for _ in range(draw(st.integers(1, 4))):
            if data:
                pos = draw(st.integers(0, min(len(data) - 1, 64)))
                data[pos] = draw(st.sampled_from([0, 1, 4, 5, 6, 0x11, 0x3A, 0x45, 0x60, 0x80, 0xFF])
                                 | st.integers(0, 255))
    if draw(st.integers(0, 4)) == 0:
        data = data[:draw(st.integers(0, len(data)))]
    return bytes(data)


def wire_length(draw, caplen: int) -> int:
    return draw(mostly(st.sampled_from([caplen, caplen, caplen + 1000, max(caplen - 3, 0)]),
                       st.sampled_from(NASTY_U32)))


def linktypes():
    return mostly(st.sampled_from(LINKTYPES), st.sampled_from(ODD_LINKTYPES) | st.integers(0, U32))


def mutate_file(draw, blob: bytes) -> bytes:
    """Maybe overwrite 4 bytes somewhere with a damaged-length value; maybe cut the file."""
    out = bytearray(blob)
    for _ in range(draw(mostly(st.just(0), st.integers(1, 2), odds=2))):
        if len(out) >= 28:      # past the magic always, the file header mostly: records matter
            pos = draw(mostly(st.integers(24, len(out) - 4), st.integers(4, len(out) - 4), 5))
            if draw(st.booleans()):
                pos &= ~3
            value = draw(st.sampled_from(NASTY_U32) | st.integers(0, U32))
            out[pos:pos + 4] = struct.pack(draw(st.sampled_from("<>")) + "I", value)
    if len(out) > 2 and draw(st.integers(0, 4)) == 0:     # a cut: somewhere in the last half, mostly
        out = out[:draw(mostly(st.integers(len(out) // 2, len(out) - 1), st.integers(1, len(out) - 1), 3))]
    return bytes(out)


# -- classic pcap ------------------------------------------------------------------------------

@st.composite
def pcap_files(draw) -> bytes:
    order = draw(st.sampled_from("<>"))
    kind = draw(st.sampled_from(["us", "ns", "modified"]))
    linktype = draw(linktypes())
    magic = {"us": 0xA1B2C3D4, "ns": 0xA1B23C4D, "modified": 0xA1B2CD34}[kind]
    out = [struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0,
                       draw(st.sampled_from([65535, 262144, 0, 96])), linktype)]
    for _ in range(draw(st.integers(0, 10))):
        data = draw(frame_bytes(linktype))
        sec = draw(st.sampled_from([0, T0 // 10**9, U32]) | st.integers(0, U32))
        frac = draw(mostly(st.integers(0, 999_999_999 if kind == "ns" else 999_999),
                           st.integers(0, U32)))
        out.append(struct.pack(order + "IIII", sec, frac, len(data), wire_length(draw, len(data))))
        if kind == "modified":
            out.append(struct.pack(order + "iHBx", 3, 0x0800, 0))
        out.append(data)
    return mutate_file(draw, b"".join(out))


# -- pcapng --------------------------------------------------------------------------------------

def block(draw, btype: int, body: bytes, order: str) -> bytes:
    """A pcapng block; sometimes its trailing total length differs from the leading one."""
    body += b"\0" * (-len(body) % 4)
    blen = 12 + len(body)
    tail = blen
    if draw(st.integers(0, 39)) == 0:
        tail = draw(st.sampled_from([blen + 4, blen - 4, 0, U32]) | st.integers(0, U32))
    return struct.pack(order + "II", btype, blen) + body + struct.pack(order + "I", tail)


def options(draw, order: str, allowed: list[tuple[int, st.SearchStrategy]]) -> bytes:
    out = b""
    for _ in range(draw(st.integers(0, 3))):
        code, values = draw(st.sampled_from(allowed))
        value = draw(values)
        out += struct.pack(order + "HH", code, len(value)) + value + b"\0" * (-len(value) % 4)
    if out and draw(st.booleans()):
        out += struct.pack(order + "HH", 0, 0)
    return out


def idb_options(order: str):
    tsresol = (st.integers(0, 9) | st.sampled_from([0x80 | 10, 0x80 | 20, 0x80 | 30, 0x80 | 63])
               | st.integers(0, 255)).map(lambda v: bytes([v]))
    tsoffset = (st.sampled_from([0, -1, 1, 10**9, 2**62, -(2**62), I64_MAX, -I64_MAX - 1])
                | st.integers(-I64_MAX - 1, I64_MAX)).map(lambda v: struct.pack(order + "q", v))
    comment = st.binary(max_size=9)
    return [(9, tsresol), (14, tsoffset), (1, comment), (2, comment)]


def timestamp_ticks():
    return (st.sampled_from([0, 1, T0 // 1000, T0, 0x400000 << 32, I64_MAX, U64])
            | st.integers(0, U64))


@st.composite
def pcapng_files(draw) -> bytes:
    out = []
    for _ in range(draw(st.integers(1, 2))):          # sections
        order = draw(st.sampled_from("<>"))
        shb = struct.pack(order + "IHHq", 0x1A2B3C4D, 1, 0, draw(st.sampled_from([-1, 0, 1 << 40])))
        out.append(block(draw, 0x0A0D0D0A, shb, order))
        links = []
        for _ in range(draw(mostly(st.integers(1, 3), st.just(0), odds=7))):
            linktype = draw(linktypes()) & 0xFFFF
            links.append(linktype)
            body = struct.pack(order + "HHI", linktype, 0, draw(st.sampled_from([0, 65535, 262144, 40])))
            out.append(block(draw, 1, body + options(draw, order, idb_options(order)), order))
        for _ in range(draw(st.integers(0, 8))):
            kind = draw(st.sampled_from(["epb", "epb", "epb", "epb", "spb", "pb", "other", "idb"]))
            iface = draw(mostly(st.integers(0, max(len(links) - 1, 0)), st.integers(0, 5)))
            linktype = links[iface] if iface < len(links) else 1
            data = draw(frame_bytes(linktype))
            ticks = draw(timestamp_ticks())
            wire = wire_length(draw, len(data))
            if kind == "epb":
                head = struct.pack(order + "IIIII", iface, ticks >> 32, ticks & U32, len(data), wire)
                opts = options(draw, order, [(1, st.binary(max_size=9)), (2, st.binary(max_size=4))])
                out.append(block(draw, 6, head + data + b"\0" * (-len(data) % 4) + opts, order))
            elif kind == "pb":
                head = struct.pack(order + "HHIIII", iface & 0xFFFF, 0, ticks >> 32, ticks & U32,
                                   len(data), wire)
                out.append(block(draw, 2, head + data, order))
            elif kind == "spb":
                out.append(block(draw, 3, struct.pack(order + "I", wire) + data, order))
            elif kind == "idb":
                links.append(1)
                out.append(block(draw, 1, struct.pack(order + "HHI", 1, 0, 0)
                                 + options(draw, order, idb_options(order)), order))
            else:   # name resolution, interface statistics, custom, unknown: skipped by readers
                btype = draw(st.sampled_from([4, 5, 0xBAD, 0x40000BAD, 0x80000001]))
                out.append(block(draw, btype, draw(st.binary(max_size=24)), order))
    return mutate_file(draw, b"".join(out))


def capture_files():
    """A pcap or pcapng file's bytes (pcapng twice as often: it has more structure to get wrong)."""
    return st.one_of(pcap_files(), pcapng_files(), pcapng_files())


# -- what each engine made of a file ---------------------------------------------------------

def outcome(path, engine: str):
    """A comparable verdict of one engine ("per-frame" or "columnar") on the file at `path`."""
    try:
        if engine == "per-frame":
            result = analyze(path)
            rows = [row_of(f) for f in result.frames]
            conns = [c._replace(frames=()) for c in result.connections]
            return ("ok", result.frame_count, rows, conns, result.warnings)
        scan = Scan(path, chunk_frames=3)              # small chunks: state crosses chunk ends
        table = collect(scan)
        summary = scan.summary()
        return ("ok", summary.frame_count, list(table.rows()),
                connections_from_table(summary.connections), summary.warnings)
    except AnalysisError as error:
        return ("error", type(error).__name__, error.one_line())


def check_engines_agree(path: Path) -> tuple:
    """Both engines on one file: the same frames, connections and warnings, or the same one-line
    error, never a traceback; returns the per-frame outcome."""
    ours, theirs = outcome(path, "columnar"), outcome(path, "per-frame")
    assert ours[:2] == theirs[:2], (ours[:3], theirs[:3])
    if theirs[0] == "error":
        assert ours == theirs
        assert "\n" not in theirs[2] and theirs[2].startswith(str(path))
        return theirs
    count, rows, conns, warnings = theirs[1:]
    assert ours[1] == count and len(ours[2]) == len(rows) == count
    for mine, want in zip(ours[2], rows):
        assert mine == want, f"frame {want.number}"
    assert ours[3] == conns
    assert ours[4] == warnings
    assert all("\n" not in w.message for w in warnings)
    return theirs
