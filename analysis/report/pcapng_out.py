"""Write a capture again as pcapng with comments added, every original byte and timestamp kept.

    rewrite(source, handle, packet_comment, section_comment) -> frames written

`packet_comment(number)` gives frame `number`'s comment (1-based, as Wireshark counts);
`section_comment` goes into the first section header block.

pcapng in, pcapng out: the file is copied block by block. Interface descriptions, name
resolution, statistics, decryption secrets and unknown blocks are copied byte for byte; an
enhanced (or obsolete) packet block gets one more `opt_comment` (option 1) after the options
it has, so its interface, timestamp ticks, lengths, data, flags and earlier comments stay as
they were. A simple packet block cannot carry options, so it becomes an enhanced packet block
on the section's first interface with timestamp 0 (Wireshark shows an SPB's time as 0 too).
A section header's length field, when it was given, is set to the section's new length.
A file cut in a record, or a block whose trailing length differs from its leading one, ends
where the reader stops (analysis/read/reader.py): the whole frames before it are written.

pcap in: one section, one interface with the file's link type and snaplen, `if_tsresol` 6
(microseconds) or 9 (nanoseconds) as the file had, `if_fcslen` when the link-type field says
the frames end in an FCS; each record becomes an enhanced packet block with the same ticks,
lengths and bytes. The modified-pcap (a1b2cd34) record fields beyond these (interface index,
protocol, packet type) have no pcapng home and are not kept.

Layout follows the pcapng specification (draft-ietf-opsawg-pcapng): a block is type, total
length, body padded to 32 bits, total length again; an option is code, length, value padded.
Why not a library writer (scapy's PcapNgWriter, python-pcapng): they write blocks rebuilt
from parsed records, and what must not change here is every byte they would rebuild.
"""
from __future__ import annotations

import struct
from typing import BinaryIO, Callable

from analysis.errors import CaptureFormatError
from analysis.i18n import N_
from analysis.read.reader import BYTE_ORDER_MAGIC, MAX_CAPLEN, PCAP_MAGICS, PCAPNG_SHB, CaptureReader

SHB, IDB, PB, SPB, EPB = 0x0A0D0D0A, 0x00000001, 0x00000002, 0x00000003, 0x00000006
OPT_ENDOFOPT, OPT_COMMENT, IF_TSRESOL, IF_FCSLEN = 0, 1, 9, 13
_READ = 1 << 20


def _pad(length: int) -> int:
    return -length % 4


def option(code: int, value: bytes, order: str = "<") -> bytes:
    """One pcapng option, its value padded to 32 bits."""
    return struct.pack(order + "HH", code, len(value)) + value + b"\0" * _pad(len(value))


def comment_option(text: str, order: str = "<") -> bytes:
    """opt_comment: UTF-8 text; an option's length field holds at most 65535 bytes."""
    raw = text.encode("utf-8")
    if len(raw) > 0xFFFF:
        raw = raw[:0xFFFF].decode("utf-8", errors="ignore").encode("utf-8")
    return option(OPT_COMMENT, raw, order)


def block(btype: int, body: bytes, order: str = "<") -> bytes:
    """A whole block: `body` must already be a multiple of 4 bytes."""
    total = 12 + len(body)
    return struct.pack(order + "II", btype, total) + body + struct.pack(order + "I", total)


def _with_comment(options: bytes, text: str, order: str, where: dict) -> bytes:
    """`options` (a block's option area, possibly empty) with our comment before its end;
    `where`: the block's file, byte offset and frame (for the error if the options are damaged)."""
    pos = 0
    kept = len(options)
    while pos + 4 <= len(options):
        code, length = struct.unpack_from(order + "HH", options, pos)
        if code == OPT_ENDOFOPT:
            kept = pos
            break
        step = 4 + length + _pad(length)
        if pos + step > len(options):
            raise CaptureFormatError(N_("block at byte offset {offset}: an option runs past the end "
                                        "of its block"), path=where["path"], frame=where.get("frame"),
                                     hint=N_("the file is damaged; tshark reports it too"),
                                     fields={"offset": where["offset"]})
        pos += step
    else:
        kept = pos
    return options[:kept] + comment_option(text, order) + option(OPT_ENDOFOPT, b"", order)


def rewrite(source: str, handle: BinaryIO, packet_comment: Callable[[int], str],
            section_comment: str) -> int:
    """Write `source` (pcap or pcapng) to `handle` as commented pcapng; returns the frame count."""
    with open(source, "rb") as probe:
        magic = probe.read(4)
    if magic in PCAP_MAGICS:
        return _from_pcap(source, handle, packet_comment, section_comment)
    if magic == PCAPNG_SHB:
        return _from_pcapng(source, handle, packet_comment, section_comment)
    raise CaptureFormatError(N_("not a pcap or pcapng capture (starts with bytes {magic})"),
                             path=source, hint=N_("give a file written by tcpdump, dumpcap or Wireshark"),
                             fields={"magic": magic.hex()})


def _from_pcap(source: str, handle: BinaryIO, packet_comment, section_comment: str) -> int:
    reader = CaptureReader(source)
    with open(source, "rb") as raw:
        head = raw.read(24)
    order = PCAP_MAGICS[head[:4]][0]
    linkfield = struct.unpack(order + "I", head[20:24])[0]
    options = option(IF_TSRESOL, bytes([9 if reader.nanosecond else 6]))
    if linkfield & 0x04000000:          # the F bit: frames end in an FCS of (bits 28-31) 16-bit words
        options += option(IF_FCSLEN, bytes([((linkfield >> 28) & 0xF) * 2]))
    options += option(OPT_ENDOFOPT, b"")
    shb_body = struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1) + comment_option(section_comment) \
        + option(OPT_ENDOFOPT, b"")
    start = handle.tell()
    handle.write(block(SHB, shb_body))
    handle.write(block(IDB, struct.pack("<HHI", linkfield & 0xFFFF, 0, reader.snaplen) + options))
    per_tick = 1 if reader.nanosecond else 1000
    frames = 0
    for rec in reader.records():
        ticks = rec.ts_ns // per_tick
        data = bytes(rec.data)
        body = struct.pack("<IIIII", 0, ticks >> 32, ticks & 0xFFFFFFFF, rec.caplen, rec.wirelen) \
            + data + b"\0" * _pad(len(data)) + comment_option(packet_comment(rec.number)) \
            + option(OPT_ENDOFOPT, b"")
        handle.write(block(EPB, body))
        frames = rec.number
    _patch_section_length(handle, start, keep_unknown=False)
    return frames


def _patch_section_length(handle: BinaryIO, shb_start: int, *, keep_unknown: bool,
                          order: str = "<") -> None:
    """Set a section header's length field to the bytes that follow it in its section (the
    field is -1, "not given", when the writer did not know; we keep -1 where the input had it)."""
    if keep_unknown:
        return
    end = handle.tell()
    handle.seek(shb_start + 4)
    (shb_len,) = struct.unpack(order + "I", handle.read(4))
    handle.seek(shb_start + 16)
    handle.write(struct.pack(order + "q", end - shb_start - shb_len))
    handle.seek(end)


class _Blocks:
    """The blocks of a pcapng file in order, as (offset, byte order, type, bytes); stops, as the
    reader does, at a block cut by the end of the file or whose two lengths differ."""

    def __init__(self, source: str) -> None:
        self.source = source

    def __iter__(self):
        order = "<"
        offset = 0
        with open(self.source, "rb") as raw:
            while True:
                head = raw.read(12)
                if len(head) < 12:
                    return
                if head[:4] == PCAPNG_SHB:
                    if head[8:12] not in BYTE_ORDER_MAGIC:
                        raise CaptureFormatError(
                            N_("section header block at byte offset {offset} has no valid "
                               "byte-order magic"), path=self.source, hint=N_("the file is damaged"),
                            fields={"offset": offset})
                    order = BYTE_ORDER_MAGIC[head[8:12]]
                btype, length = struct.unpack_from(order + "II", head)
                if length < 12 or length % 4:
                    raise CaptureFormatError(
                        N_("block at byte offset {offset} has an invalid length {length}"),
                        path=self.source, hint=N_("the file is damaged"),
                        fields={"offset": offset, "length": length})
                if length > MAX_CAPLEN + 1024:
                    raise CaptureFormatError(N_("block at byte offset {offset} is {length} bytes long"),
                                             path=self.source, hint=N_("the file is corrupt"),
                                             fields={"offset": offset, "length": length})
                data = head + raw.read(length - 12)
                if len(data) < length or struct.unpack_from(order + "I", data, length - 4)[0] != length:
                    return
                yield offset, order, btype, data
                offset += length


def _from_pcapng(source: str, handle: BinaryIO, packet_comment, section_comment: str) -> int:
    frames = 0
    section_start: int | None = None       # where the open section's SHB is in the output
    section_order = "<"
    section_unknown = True
    first_interface: list[int] = []       # per section: whether it has an interface yet (SPB)
    for offset, order, btype, data in _Blocks(source):
        where = {"path": source, "offset": offset}
        if btype == SHB:
            if section_start is not None:
                _patch_section_length(handle, section_start, keep_unknown=section_unknown,
                                      order=section_order)
            section_start, section_order = handle.tell(), order
            section_unknown = struct.unpack_from(order + "q", data, 16)[0] == -1
            first_interface = []
            if frames == 0 and handle.tell() == 0:   # the summary goes into the first section
                data = block(SHB, data[8:24] + _with_comment(data[24:-4], section_comment, order,
                                                              where), order)
            handle.write(data)
        elif btype in (EPB, PB):
            frames += 1
            caplen = struct.unpack_from(order + "I", data, 20)[0]
            opts_at = 28 + caplen + _pad(caplen)
            if opts_at > len(data) - 4:
                raise CaptureFormatError(N_("captured length {caplen} does not fit in its block"),
                                         path=source, frame=frames, hint=N_("the file is damaged"),
                                         fields={"caplen": caplen})
            body = data[8:opts_at] + _with_comment(data[opts_at:-4], packet_comment(frames), order,
                                                   {**where, "frame": frames})
            handle.write(block(btype, body, order))
        elif btype == SPB:
            frames += 1
            if not first_interface:
                raise CaptureFormatError(N_("a simple packet block comes before any interface"),
                                         path=source, frame=frames, hint=N_("the file is damaged"))
            (wirelen,) = struct.unpack_from(order + "I", data, 8)
            caplen = min(wirelen, len(data) - 16, first_interface[0] or wirelen)
            packet = data[12:12 + caplen]
            body = struct.pack(order + "IIIII", 0, 0, 0, caplen, wirelen) + packet \
                + b"\0" * _pad(caplen) + comment_option(packet_comment(frames), order) \
                + option(OPT_ENDOFOPT, b"", order)
            handle.write(block(EPB, body, order))
        else:
            if btype == IDB:
                first_interface.append(struct.unpack_from(order + "I", data, 12)[0])   # snaplen
            handle.write(data)
    if section_start is None:
        raise CaptureFormatError(N_("no section header block"), path=source, hint=N_("the file is damaged"))
    _patch_section_length(handle, section_start, keep_unknown=section_unknown, order=section_order)
    return frames
