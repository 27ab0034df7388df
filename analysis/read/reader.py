"""Read pcap and pcapng files into RawRecords: framing only, no header is decoded here.

    reader = CaptureReader("trace.pcapng")
    for rec in reader.records():        # RawRecord(number, ts_ns, caplen, wirelen, linktype, interface, data)
        ...
    reader.warnings                     # [Warning("truncated-file", ...)] if the file was cut mid-record
    reader.format, reader.linktypes, reader.nanosecond, reader.interfaces

The format is detected by the magic number, never by the file name:
  pcap     a1b2c3d4 (microseconds), a1b23c4d (nanoseconds), a1b2cd34 (Kuznetzov's modified pcap,
           24-byte record headers), each in either byte order;
  pcapng   SHB 0a0d0d0a with byte-order magic 1a2b3c4d (either order), any number of sections;
           IDB (link type, snaplen, if_tsresol in powers of 10 or 2, if_tsoffset), EPB, SPB and the
           obsolete PB; every other block is skipped.

Streaming: the file is read in large chunks and records are cut out with struct.unpack_from, so
memory does not depend on the file size (an mmap would leave every touched page resident).
Nothing seeks: `CaptureReader(None, source=...)` reads a pipe or a growing file
(analysis/read/sources.py), asking each time for exactly the bytes the next record still lacks,
so a record is yielded as soon as its last byte has arrived.
A file cut in the middle of a record yields every whole record and then records a
`truncated-file` Warning; a pcapng block whose trailing total length differs from its leading
one (tshark: "total block lengths ... don't match") ends the file the same way, with a
`damaged-block` Warning: the whole frames before it are kept, nothing after it can be trusted.
A pcapng timestamp outside +-2**62 ns around 1970 (1823-11-12 .. 2116-02-20: a damaged clock, a
huge if_tsoffset) is set to the nearest limit, with one `timestamp-out-of-range` Warning for the
file, so both engines see the same times: the columnar one keeps int64 nanoseconds, and within
these limits the difference of any two (a duration, an RTT) fits one too. Classic pcap's 32-bit
seconds never reach them. A file that is not a capture raises CaptureFormatError (one
line, naming the file, and the frame where one applies).
"""
from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from typing import NamedTuple

from analysis.errors import CaptureFormatError
from analysis.i18n import N_
from analysis.model import RawRecord, Warning, warning
from analysis.read.pcapng_state import BlockStep, PcapngState, ns_scale as _ns_scale
from analysis.read.sources import CHUNK, FileSource

MAX_CAPLEN = 256 << 20           # a larger record length means a corrupt file, not a big frame

PCAP_MAGICS = {                  # first 4 bytes -> (byte order, nanoseconds, record header size)
    b"\xd4\xc3\xb2\xa1": ("<", False, 16), b"\xa1\xb2\xc3\xd4": (">", False, 16),
    b"\x4d\x3c\xb2\xa1": ("<", True, 16), b"\xa1\xb2\x3c\x4d": (">", True, 16),
    b"\x34\xcd\xb2\xa1": ("<", False, 24), b"\xa1\xb2\xcd\x34": (">", False, 24),
}
PCAPNG_SHB = b"\x0a\x0d\x0d\x0a"
BYTE_ORDER_MAGIC = {b"\x4d\x3c\x2b\x1a": "<", b"\x1a\x2b\x3c\x4d": ">"}

BT_IDB, BT_PB, BT_SPB, BT_EPB, BT_SHB = 0x00000001, 0x00000002, 0x00000003, 0x00000006, 0x0A0D0D0A
OPT_END, OPT_IF_TSRESOL, OPT_IF_TSOFFSET = 0, 9, 14
# ns since 1970, 1823-11-12 .. 2116-02-20: half of int64's range, so that differences fit it too
TS_MIN, TS_MAX = -(1 << 62), (1 << 62) - 1

_new_record = tuple.__new__     # RawRecord(...) without the keyword-argument machinery (hot loop)


class Interface(NamedTuple):
    """One capture interface (pcap has exactly one)."""

    linktype: int
    snaplen: int
    ticks_per_second: int        # timestamp resolution: 10**6 us, 10**9 ns, 2**k for binary tsresol
    tsoffset: int                # seconds added to every timestamp (pcapng if_tsoffset)


def iter_records(path) -> Iterator[RawRecord]:
    """Every record of the capture at `path` (warnings are dropped; use CaptureReader to see them)."""
    return CaptureReader(path).records()


class CaptureReader:
    """One capture file.  `records()` streams it; `warnings` is complete once iteration ends."""

    def __init__(self, path, *, source=None) -> None:
        """`path` names a capture file; or give `source` (analysis.read.sources: a pipe, a growing
        file), whose name errors then carry. A live source is read once, from where it is."""
        self.warnings: list[Warning] = []
        self.interfaces: list[Interface] = []   # pcapng: filled as IDBs are read (global ids)
        self.snaplen: int | None = None          # pcap file header snaplen
        self.frames = 0                          # records yielded so far
        self._clamped = 0                        # frames whose timestamp was set to TS_MIN/TS_MAX
        self._first_clamped: tuple[int, int] = (0, 0)   # (frame, byte offset) of the first
        self._source = source
        self._opened = None                      # the source records() reads (bytes_read)
        self.path = source.name if source is not None else os.fspath(path)
        try:
            if source is None:
                with open(self.path, "rb") as handle:
                    head = handle.read(24)
            else:
                # the header, and whatever came with it: kept for records(), nothing is re-read
                head = self._pending = source.fill(24)
        except OSError as exc:
            raise CaptureFormatError(N_("cannot open: {reason}"), path=self.path,
                                     hint=N_("check the path"), fields={"reason": exc.strerror}) from None
        if not head:
            raise CaptureFormatError(N_("empty file (0 bytes), not a capture"), path=self.path,
                                     hint=N_("capture again; tcpdump may have been stopped before writing"))
        if head[:4] in PCAP_MAGICS:
            self.format = "pcap"
            order, self.nanosecond, self._rec_header = PCAP_MAGICS[head[:4]]
            self._order = order
            if len(head) < 24:
                raise CaptureFormatError(N_("pcap file header cut at {have} of 24 bytes"),
                                         path=self.path, hint=N_("the file is not a whole capture"),
                                         fields={"have": len(head)})
            _, _, _, _, snaplen, linktype = struct.unpack(order + "HHiIII", head[4:24])
            self.snaplen = snaplen
            # the upper bits of the link-type field carry FCS information, not the type
            self.interfaces.append(Interface(linktype & 0xFFFF, snaplen,
                                             10**9 if self.nanosecond else 10**6, 0))
        elif head[:4] == PCAPNG_SHB:
            self.format = "pcapng"
            self.nanosecond = False                # set when an IDB has a finer resolution than us
            if len(head) < 12 or head[8:12] not in BYTE_ORDER_MAGIC:
                raise CaptureFormatError(N_("pcapng section header block has no valid byte-order magic"),
                                         path=self.path, hint=N_("the file is damaged or not pcapng"))
        else:
            raise CaptureFormatError(
                N_("not a pcap or pcapng capture (starts with bytes {magic})"), fields={"magic": head[:4].hex()},
                path=self.path, hint=N_("give a file written by tcpdump, dumpcap or Wireshark"))

    @property
    def linktypes(self) -> tuple[int, ...]:
        """Link type of each interface, by interface id."""
        return tuple(iface.linktype for iface in self.interfaces)

    @property
    def bytes_read(self) -> int:
        """Bytes of the file read so far by records() (a progress bar's bytes done; 0 for a
        live source, whose size is not known)."""
        return getattr(self._opened, "bytes_read", 0)

    def records(self) -> Iterator[RawRecord]:
        if self.format == "pcap":
            return self._pcap_records()
        return self._pcapng_records()

    def _open(self):
        """(source, its first bytes from offset 0): a file is opened afresh, a live source goes
        on from the bytes __init__ read."""
        if self._source is None:
            source = self._opened = FileSource(self.path)
            return source, source.fill(CHUNK)
        pending, self._pending = self._pending, b""
        return self._source, pending

    # -- helpers ---------------------------------------------------------------------------

    def _cut(self, number: int, offset: int, have: int, need: int) -> None:
        self.warnings.append(warning(
            "truncated-file",
            N_("{path}: file ends inside frame {number} at byte offset {offset} ({have} of "
               "{need} bytes present); the {whole} whole frames before it were read"),
            frame=number, offset=offset, path=self.path, number=number, have=have, need=need,
            whole=number - 1))

    def _damaged(self, number: int, offset: int, lead: int, trail: int) -> None:
        self.warnings.append(warning(
            "damaged-block",
            N_("{path}: the block at byte offset {offset} is damaged: its total length is "
               "{lead} at its start and {trail} at its end (tshark: total block lengths don't "
               "match); the {whole} whole frames before it were read, nothing after it"),
            frame=number, offset=offset, path=self.path, lead=lead, trail=trail, whole=number - 1))

    def _clamp(self, number: int, offset: int, ts: int) -> int:
        """`ts` set to the nearest int64 nanosecond; counted for the one warning per file."""
        if not self._clamped:
            self._first_clamped = (number, offset)
        self._clamped += 1
        return TS_MAX if ts > TS_MAX else TS_MIN

    def _clamped_warning(self) -> None:
        if not self._clamped:
            return
        number, offset = self._first_clamped
        self.warnings.append(warning(
            "timestamp-out-of-range",
            N_("{path}: frame {number} (byte offset {offset}) has a timestamp outside "
                "1823-11-12 .. 2116-02-20 (what the analyzer's nanosecond times hold), set to the "
                "nearest of those limits: times and durations involving it are wrong (the "
                "capture's clock or an interface's if_tsoffset is damaged)") if self._clamped == 1 else
            N_("{path}: {count} frames, the first frame {number} (byte offset {offset}), have a "
                "timestamp outside 1823-11-12 .. 2116-02-20 (what the analyzer's nanosecond times "
                "hold), set to the nearest of those limits: times and durations involving it are "
                "wrong (the capture's clock or an interface's if_tsoffset is damaged)"),
            frame=number, offset=offset, path=self.path, number=number, count=self._clamped))

    def _absurd(self, number: int, caplen: int) -> CaptureFormatError:
        return CaptureFormatError(
            N_("record length {caplen} is larger than {limit} bytes"), path=self.path,
            frame=number, hint=N_("the file is corrupt"), fields={"caplen": caplen, "limit": MAX_CAPLEN})

    # -- pcap ------------------------------------------------------------------------------

    def _pcap_records(self) -> Iterator[RawRecord]:
        header = struct.Struct(self._order + "IIII")
        hlen = self._rec_header
        frac_mul = 1 if self.nanosecond else 1000
        linktype = self.interfaces[0].linktype
        unpack_from = header.unpack_from
        new_record = _new_record
        number = 0
        source, buf = self._open()
        try:
            base = 0                   # file offset of buf[0]
            pos = 24
            size = len(buf)
            while True:
                # inner loop: every record wholly inside the buffer, nothing but the record
                while True:
                    start = pos + hlen
                    if start > size:
                        break
                    sec, frac, caplen, wirelen = unpack_from(buf, pos)
                    end = start + caplen
                    if end > size:
                        break
                    number += 1
                    yield new_record(RawRecord, (number, sec * 1_000_000_000 + frac * frac_mul,
                                                 caplen, wirelen, linktype, 0, buf[start:end]))
                    pos = end
                self.frames = number
                # the next record (or its header) runs past the buffer: read on, or find the cut
                need = hlen
                if size - pos >= hlen:
                    caplen = unpack_from(buf, pos)[2]
                    if caplen > MAX_CAPLEN:
                        raise self._absurd(number + 1, caplen)
                    need = hlen + caplen
                # ask for exactly what is missing: a pipe then hands on each record at once
                buf = buf[pos:] + source.fill(need - (size - pos))
                base += pos
                pos = 0
                size = len(buf)
                if size < need:
                    if size:
                        self._cut(number + 1, base, size, need)
                    break
        finally:
            source.close()

    # -- pcapng ----------------------------------------------------------------------------

    def _pcapng_records(self) -> Iterator[RawRecord]:
        yield from self._pcapng_blocks()
        self.pcapng_done()

    def _pcapng_blocks(self) -> Iterator[RawRecord]:
        number = 0
        st = PcapngState()
        source, buf = self._open()
        try:
            base = 0
            pos = 0
            size = len(buf)
            ts_min, ts_max = TS_MIN, TS_MAX    # locals: the fast loop tests every timestamp
            new_record = _new_record
            while True:
                # fast loop: enhanced packet blocks wholly inside the buffer, on a known interface;
                # anything else (or anything odd) falls through to the block-by-block path below
                epb_whole, tail, local_clocks = st.epb_whole, st.tail, st.local_clocks
                while size - pos >= 28:
                    btype, blen, lid, ts_hi, ts_lo, caplen, wirelen = epb_whole.unpack_from(buf, pos)
                    end = pos + blen
                    if (btype != BT_EPB or end > size or blen & 3 or 32 + caplen > blen
                            or lid >= len(local_clocks) or tail.unpack_from(buf, end - 4)[0] != blen):
                        break
                    mul, div, offset_ns, linktype, iface = local_clocks[lid]
                    ticks = (ts_hi << 32) | ts_lo
                    ts = ticks * mul + offset_ns if div == 1 else ticks * mul // div + offset_ns
                    number += 1
                    if ts > ts_max or ts < ts_min:
                        ts = self._clamp(number, base + pos, ts)
                    yield new_record(RawRecord, (number, ts, caplen, wirelen, linktype, iface,
                                                 buf[pos + 28:pos + 28 + caplen]))
                    pos = end
                self.frames = number
                step = self.pcapng_block(st, buf, pos, size, base, number)
                if step.need:
                    # ask for exactly what is missing: a pipe then hands on each block at once
                    buf = buf[pos:] + source.fill(step.need - (size - pos))
                    base += pos
                    pos = 0
                    size = len(buf)
                    if size < step.need:
                        self.pcapng_cut(number, base, size, step.need)
                        break
                    continue
                if step.damaged:
                    break
                if step.frame is not None:
                    ts, caplen, wirelen, linktype, iface, data = step.frame
                    number += 1
                    self.frames = number
                    yield _new_record(RawRecord, (number, ts, caplen, wirelen, linktype, iface,
                                                  buf[data:data + caplen]))
                pos = step.end
        finally:
            source.close()

    def pcapng_cut(self, number: int, offset: int, have: int, need: int) -> None:
        """The file ends `have` bytes into the block at `offset` that needs `need`: the warning
        (none when the file ends exactly at a block boundary)."""
        if have:
            self._cut(number + 1, offset, have, need)

    def pcapng_block(self, st: PcapngState, buf, pos: int, size: int, base: int,
                     number: int) -> BlockStep:
        """The pcapng block at buf[pos:size] (buf: bytes or a memoryview; base: the file offset of
        buf[0]; number: frames before it), block by block: the one place where sections,
        interfaces, packet blocks, errors and warnings are decided (CaptureReader and the
        columnar ChunkReader, whose index kernel stops at every block this must see)."""
        if size - pos < 12:
            return BlockStep(pos, 12, False, None)
        if buf[pos:pos + 4] == PCAPNG_SHB:
            magic = bytes(buf[pos + 8:pos + 12])
            if magic not in BYTE_ORDER_MAGIC:
                raise CaptureFormatError(
                    N_("section header block at byte offset {offset} has no valid "
                       "byte-order magic"), path=self.path, hint=N_("the file is damaged"),
                    fields={"offset": base + pos})
            st.new_section(BYTE_ORDER_MAGIC[magic])
        order = st.order
        btype, blen = st.block_head.unpack_from(buf, pos)
        if blen < 12 or blen % 4:
            raise CaptureFormatError(
                N_("block at byte offset {offset} has an invalid length {length}"),
                path=self.path, frame=number + 1, hint=N_("the file is damaged"),
                fields={"offset": base + pos, "length": blen})
        end = pos + blen
        if end > size:
            if blen > MAX_CAPLEN:
                raise self._absurd(number + 1, blen)
            return BlockStep(pos, blen, False, None)
        trailing = st.tail.unpack_from(buf, end - 4)[0]
        if trailing != blen:
            self._damaged(number + 1, base + pos, blen, trailing)
            return BlockStep(end, 0, True, None)
        section, clocks = st.section, st.clocks
        if btype == BT_EPB or btype == BT_PB:
            if btype == BT_EPB:
                local, ts_hi, ts_lo, caplen, wirelen = st.epb.unpack_from(buf, pos + 8)
            else:   # the obsolete Packet Block: 16-bit interface id, then a drops count
                local, _drops, ts_hi, ts_lo, caplen, wirelen = struct.unpack_from(
                    order + "HHIIII", buf, pos + 8)
            if local >= len(section):
                raise self._bad_interface(number + 1, local)
            if 28 + caplen > blen - 4:
                raise self._bad_block(number + 1, base + pos, caplen)
            iface = section[local]
            mul, div, offset_ns, linktype, _ = clocks[iface]
            ticks = (ts_hi << 32) | ts_lo
            ts = ticks * mul // div + offset_ns if div != 1 else ticks * mul + offset_ns
            if ts > TS_MAX or ts < TS_MIN:
                ts = self._clamp(number + 1, base + pos, ts)
            return BlockStep(end, 0, False, (ts, caplen, wirelen, linktype, iface, pos + 28))
        if btype == BT_SPB:
            if not section:
                raise self._bad_interface(number + 1, 0)
            (wirelen,) = struct.unpack_from(order + "I", buf, pos + 8)
            _, _, _, linktype, snaplen = clocks[section[0]]
            caplen = min(wirelen, blen - 16, snaplen or wirelen)
            # a simple packet block has no timestamp: Wireshark shows it as 0
            return BlockStep(end, 0, False, (0, caplen, wirelen, linktype, section[0], pos + 12))
        if btype == BT_IDB:
            iface = self._read_idb(buf, pos, blen, order)
            section.append(len(self.interfaces))
            self.interfaces.append(iface)
            mul, div = _ns_scale(iface.ticks_per_second)
            clocks.append((mul, div, iface.tsoffset * 1_000_000_000, iface.linktype, iface.snaplen))
            st.local_clocks.append((mul, div, iface.tsoffset * 1_000_000_000, iface.linktype,
                                    len(self.interfaces) - 1))
            if iface.ticks_per_second > 10**6:
                self.nanosecond = True
        return BlockStep(end, 0, False, None)

    def pcapng_done(self) -> None:
        """The end of a pcapng file read to its end: the warnings that are the file's."""
        self._clamped_warning()

    def _read_idb(self, buf: bytes, pos: int, blen: int, order: str) -> Interface:
        linktype, _reserved, snaplen = struct.unpack_from(order + "HHI", buf, pos + 8)
        ticks, tsoffset = 10**6, 0
        opt, opt_end = pos + 16, pos + blen - 4
        while opt + 4 <= opt_end:
            code, length = struct.unpack_from(order + "HH", buf, opt)
            if code == OPT_END:
                break
            value = buf[opt + 4:opt + 4 + length]
            if code == OPT_IF_TSRESOL and length >= 1:
                # high bit clear: 10**-v seconds; set: 2**-(v & 0x7f) seconds
                ticks = 2 ** (value[0] & 0x7F) if value[0] & 0x80 else 10 ** value[0]
            elif code == OPT_IF_TSOFFSET and length >= 8:
                (tsoffset,) = struct.unpack_from(order + "q", value)
            opt += 4 + ((length + 3) & ~3)
        return Interface(linktype, snaplen, ticks, tsoffset)

    def _bad_interface(self, number: int, local: int) -> CaptureFormatError:
        return CaptureFormatError(
            N_("packet refers to interface {local}, which no interface description block defined"),
            path=self.path, frame=number, hint=N_("the file is damaged"), fields={"local": local})

    def _bad_block(self, number: int, offset: int, caplen: int) -> CaptureFormatError:
        return CaptureFormatError(
            N_("captured length {caplen} does not fit in its block at byte offset {offset}"),
            path=self.path, frame=number, hint=N_("the file is damaged"),
            fields={"caplen": caplen, "offset": offset})
