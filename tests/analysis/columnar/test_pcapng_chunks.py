"""ChunkReader's pcapng fast path (analysis/columnar/read/pcapng_index.py between runs of
CaptureReader.pcapng_block) against the per-frame reference: sections in both byte orders,
interfaces of every kind of resolution, the blocks the kernel leaves to the reader, blocks cut by
the buffer's edge, clamped timestamps, damaged and cut ends, and errors after the frames before
them. The comparison is test_chunks.py's: every column, the payload bytes, the warnings, the link
types and the error equal the reference's."""
from __future__ import annotations

import random
import struct

import pytest

from analysis.columnar.read import pcapng_index
from analysis.columnar.read.chunks import ChunkReader
from analysis.errors import CaptureFormatError
from analysis.read.reader import TS_MAX, CaptureReader
from tests.analysis.columnar.support.crafted_frames import NETWORK, ethernet
from tests.analysis.columnar.support.chunk_compare import PLAIN, check
from tests.analysis.support.pcapfiles import pcapng_block, pcapng_epb, pcapng_idb, pcapng_shb

FRAMES = [ethernet(et, net) for et, net in NETWORK] + [PLAIN]

# (tsresol option byte or None, if_tsoffset seconds or None): decimal and binary resolutions,
# seconds (mul 10**9), picoseconds and 2**-40 (mul * div past int64: every packet to the
# reader), an offset, an offset too large for the kernel's int64 sum
INTERFACES = [(None, None), (9, None), (0x80 | 20, None), (0, None), (12, None), (0x80 | 40, None),
              (6, 1_700_000_000), (9, -(1 << 40))]


def pcapng_pb(interface: int, ticks: int, data: bytes, order: str = "<") -> bytes:
    """The obsolete Packet Block: 16-bit interface id, a drops count, then as an EPB."""
    head = struct.pack(order + "HHIIII", interface, 0, ticks >> 32, ticks & 0xFFFFFFFF, len(data), len(data))
    return pcapng_block(2, head + data, order)


def pcapng_spb(data: bytes, order: str = "<") -> bytes:
    return pcapng_block(3, struct.pack(order + "I", len(data)) + data, order)


def ticks_for(rng: random.Random, tsresol: int | None) -> int:
    """Timestamps around now in that resolution, some at the edges of the int64 nanoseconds
    (TS_MAX itself, one tick past it) and some with the 64-bit tick count's high bit set."""
    per_second = 10**6 if tsresol is None else (2 ** (tsresol & 0x7F) if tsresol & 0x80 else 10**tsresol)
    choice = rng.random()
    if choice < 0.05:
        return min(TS_MAX * per_second // 10**9 + rng.choice((0, 1)), (1 << 64) - 1)
    if choice < 0.08:
        return rng.randrange(1 << 63, 1 << 64)
    return min(rng.randrange(1_600_000_000, 1_800_000_000) * per_second + rng.randrange(per_second),
               (1 << 64) - 1)


def section(rng: random.Random, order: str, frames: int) -> bytes:
    """A section: its interfaces, then packets on them mixed with the blocks the kernel stops at."""
    body = [pcapng_shb(order)]
    body += [pcapng_idb(1, tsresol=r, tsoffset=o, order=order) for r, o in INTERFACES]
    for _ in range(frames):
        iface = rng.randrange(len(INTERFACES))
        data = rng.choice(FRAMES)
        kind = rng.random()
        if kind < 0.04:
            body.append(pcapng_spb(data, order))
        elif kind < 0.07:
            body.append(pcapng_pb(iface, ticks_for(rng, INTERFACES[iface][0]), data, order))
        elif kind < 0.10:       # name resolution, interface statistics, a custom block: skipped
            body.append(pcapng_block(rng.choice((4, 5, 0x00000BAD)), b"skip me" * rng.randrange(3), order))
        else:
            body.append(pcapng_epb(iface, ticks_for(rng, INTERFACES[iface][0]), data, order=order))
    return b"".join(body)


def sections_file(tmp_path, seed: int = 0):
    rng = random.Random(seed)
    path = tmp_path / f"sections{seed}.pcapng"
    path.write_bytes(section(rng, "<", 150) + section(rng, ">", 150) + section(rng, "<", 100))
    return path


@pytest.mark.parametrize("buffer_bytes", [None, 1, 61, 300, 4096])
@pytest.mark.parametrize("chunk_frames", [1, 3, 1000])
def test_sections_interfaces_and_blocks_in_both_byte_orders(tmp_path, chunk_frames, buffer_bytes):
    path = sections_file(tmp_path)
    ours = check(path, True, chunk_frames, buffer_bytes)
    assert ours.error is None and len(ours.cols) > 350
    assert len(ours.linktypes) == 3 * len(INTERFACES)
    assert [w.code for w in ours.warnings] == ["timestamp-out-of-range"]


@pytest.mark.parametrize("seed", range(1, 4))
def test_every_buffer_edge(tmp_path, seed):
    """Blocks cut by the end of the buffer at every offset: the reads carry them over."""
    path = sections_file(tmp_path, seed)
    for buffer_bytes in range(40, 400, 13):
        check(path, True, 7, buffer_bytes)


def test_the_kernel_takes_the_plain_packets(tmp_path, monkeypatch):
    """The reader's block path sees the section and interface blocks, one stop per chunk and
    per buffer refill, not the packets: the fast path is taken."""
    path = tmp_path / "plain.pcapng"
    path.write_bytes(pcapng_shb() + pcapng_idb(1, tsresol=9)
                     + b"".join(pcapng_epb(0, 1_700_000_000_000_000_000 + i, PLAIN) for i in range(5000)))
    calls = []
    block = CaptureReader.pcapng_block
    monkeypatch.setattr(CaptureReader, "pcapng_block", lambda *a: calls.append(1) or block(*a))
    reader = ChunkReader(path, chunk_frames=1000)
    assert sum(len(cols) for cols, _ in reader.chunks()) == 5000
    assert len(calls) <= 4 and reader.fallback_frames == 0
    check(path, True, 1000)


def test_clamped_timestamps_warn_once_like_the_reader(tmp_path):
    path = tmp_path / "clamp.pcapng"
    path.write_bytes(pcapng_shb() + pcapng_idb(1, tsresol=0) + pcapng_idb(1, tsoffset=-(1 << 40))
                     + pcapng_epb(0, 1_700_000_000, PLAIN) + pcapng_epb(0, 5 * 10**9, PLAIN)
                     + pcapng_epb(1, 10, PLAIN) + pcapng_epb(0, 1_700_000_001, PLAIN))
    for chunk_frames, buffer_bytes in ((1, None), (1000, None), (1000, 90)):
        ours = check(path, True, chunk_frames, buffer_bytes)
        assert [w.code for w in ours.warnings] == ["timestamp-out-of-range"]
        assert "2 frames, the first frame 2" in ours.warnings[0].message


@pytest.mark.parametrize("order", ["<", ">"])
def test_big_endian_and_cut_or_damaged_ends(tmp_path, order):
    body = (pcapng_shb(order) + pcapng_idb(1, tsresol=9, order=order)
            + b"".join(pcapng_epb(0, 1_700_000_000_000_000_000 + i, PLAIN, order=order) for i in range(20)))
    last = pcapng_epb(0, 1_700_000_000_000_000_999, PLAIN, order=order)
    for cut in range(1, len(last)):       # a path each: check() keeps the reference of a path
        path = tmp_path / f"cut{cut}.pcapng"
        path.write_bytes(body + last[:cut])
        ours = check(path, True, 6)
        assert len(ours.cols) == 20 and [w.code for w in ours.warnings] == ["truncated-file"]
    damaged = bytearray(last)
    damaged[-4:] = struct.pack(order + "I", len(last) + 4)
    path = tmp_path / "damaged.pcapng"
    path.write_bytes(body + bytes(damaged) + last)
    for chunk_frames, buffer_bytes in ((6, None), (1000, 100)):
        ours = check(path, True, chunk_frames, buffer_bytes)
        assert len(ours.cols) == 20 and [w.code for w in ours.warnings] == ["damaged-block"]


def test_errors_come_after_the_frames_before_them(tmp_path):
    head = pcapng_shb() + pcapng_idb(1) + b"".join(pcapng_epb(0, i, PLAIN) for i in range(10))
    too_long = bytearray(pcapng_epb(0, 11, PLAIN))
    struct.pack_into("<I", too_long, 20, len(PLAIN) + 8)           # caplen past its block
    odd = struct.pack("<II", 0x0BAD, 13) + bytes(8)                  # a length not a multiple of 4
    for name, bad in (("interface", pcapng_epb(3, 11, PLAIN)), ("caplen", bytes(too_long)),
                      ("length", odd)):
        path = tmp_path / f"{name}.pcapng"
        path.write_bytes(head + bad + pcapng_epb(0, 12, PLAIN))
        for chunk_frames, buffer_bytes in ((1, None), (4, None), (1000, 150)):
            ours = check(path, True, chunk_frames, buffer_bytes)
            assert isinstance(ours.error, CaptureFormatError) and len(ours.cols) == 10, name


def test_interface_arrays_leave_what_int64_cannot_hold_to_the_reader():
    mul, div, off, link, fast, qmax = pcapng_index.interface_arrays(
        [(1000, 1, 0, 1, 0), (10**9, 10**12, 0, 1, 1), (1, 1, 1 << 63, 1, 2), (10**9, 1 << 20, 5, 113, 3)])
    assert list(fast) == [1, 0, 0, 1] and list(link) == [1, 1, 1, 113]
    assert qmax[0] * mul[0] < 1 << 62 and qmax[3] * mul[3] < 1 << 62
