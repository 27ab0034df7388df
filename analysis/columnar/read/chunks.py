"""Read a capture in chunks of decoded columns: the columnar engine's first stage.

    reader = ChunkReader("trace.pcap", verify_checksums=True, chunk_frames=65536)
    for cols, data in reader.chunks():    # FrameColumns of up to chunk_frames frames, in file
        ...                               # order; payload i is data[cols.payload_off[i]:][:cap]
    reader.warnings, reader.linktypes, reader.count, reader.fallback_frames

Mirrors analysis/read/reader.py (CaptureReader: framing, warnings, errors) followed by
analysis/decode/frame.py (decode_frame) and columns.from_frames: the columns are exactly what
`from_frames([decode_frame(r, ...) for r in CaptureReader(path).records()])` gives, except that
payload_off points into this reader's buffer.

Classic pcap takes the fast path: the file is read with readinto() into one reused buffer of a
few MB (memory does not grow with the file), pcap_index.py finds the whole records in it (a
record cut by the end of the buffer is carried over to the next read) and decode_kernel.py
decodes them in place. pcapng is read the same way: pcapng_index.py indexes the enhanced packet
blocks the reader's fast loop would take, and every other block (section and interface blocks,
simple and obsolete packet blocks, a cut or damaged block, a timestamp to clamp, a block to skip)
is handed to CaptureReader.pcapng_block, the reader's own code, so sections, interfaces, errors
and warnings are the reader's word for word. A record the kernel leaves alone is decoded by
decode_frame and filled in with columns.fill_from_frame, its payload copied to the spare area
at the end of the buffer.

A chunk holds fewer than chunk_frames frames at the end of the file, and when its frames' bytes
fill the buffer (`buffer_bytes`; a single larger record grows it). The columns and the buffer
are reused: a chunk is valid until the next one is asked for. Errors are the reference's, raised
once every frame before the failing one has been yielded.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from typing import NamedTuple

import numpy as np

from analysis.columnar.columns import FrameColumns, empty_frames, fill_from_frame, slice_frames
from analysis.columnar.read.ahead import SLOTS, Slots, cores_available, run_ahead
from analysis.columnar.decode.frames import decode_records
from analysis.columnar.read.pcap_index import STOP_ABSURD, STOP_FULL, STOP_PARTIAL, index_records
from analysis.columnar.read.pcapng_index import index_blocks, interface_arrays
from analysis.decode.frame import decode_frame
from analysis.model import RawRecord, Warning
from analysis.read.pcapng_state import PcapngState
from analysis.read.reader import MAX_CAPLEN, PCAP_MAGICS, TS_MAX, TS_MIN, CaptureReader

DEFAULT_CHUNK_FRAMES = 65536
DEFAULT_BUFFER_BYTES = 8 << 20      # read size; a chunk of lab frames (~90 bytes each) fits
PCAP_HEADER = 24


class _Slot(NamedTuple):
    """One chunk's arrays: the columns, and where each row's record is in the read buffer."""

    cols: FrameColumns
    rec_off: np.ndarray
    rec_len: np.ndarray
    rec_wire: np.ndarray
    rec_link: np.ndarray
    fallback: np.ndarray


def _slot(n: int) -> _Slot:
    return _Slot(empty_frames(n), np.zeros(n, np.int64), np.zeros(n, np.int64),
                 np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n, np.uint8))


class ChunkReader:
    """Read a capture in chunks of decoded columns; memory bounded by the chunk size, not the file."""

    def __init__(self, path, *, verify_checksums: bool = True,
                 chunk_frames: int = DEFAULT_CHUNK_FRAMES,
                 buffer_bytes: int = DEFAULT_BUFFER_BYTES, read_ahead: bool | None = None) -> None:
        """read_ahead: read and decode the next chunk on a second thread while the caller works
        on this one (read/ahead.py); None (the default) does so when the process has 2+ CPUs."""
        if chunk_frames < 1 or buffer_bytes < 1:
            raise ValueError("chunk_frames and buffer_bytes must be positive")
        self.path = os.fspath(path)
        self.verify_checksums = verify_checksums
        self.chunk_frames = chunk_frames
        self.buffer_bytes = buffer_bytes
        self.read_ahead = cores_available() > 1 if read_ahead is None else read_ahead
        # the reference reader checks the file header: same errors, raised here as there
        self._reader = CaptureReader(self.path)
        self.warnings: list[Warning] = []
        self.count = 0                 # frames yielded so far
        self._bytes_done = 0           # the file's bytes up to the last chunk yielded
        self.fallback_frames = 0       # frames decoded by decode_frame instead of the kernel
        # the producer's side (one chunk ahead when reading ahead): frames made, bytes up to them
        self._made = self._made_bytes = 0
        # two slots of arrays and two read buffers: the chunk the caller holds is never written
        # while the next one is made (the buffers take turns at each refill, see _carry)
        self._slots = [_slot(chunk_frames) for _ in range(SLOTS)]
        self._holds = Slots(threaded=False)
        self._running = None           # the read-ahead generator of an unfinished chunks()
        self._at = self._given = 0     # slot being made / slot of the chunk yielded last
        self._given_buf = np.empty(0, np.uint8)    # the read buffer that chunk points into
        self._use(0)
        self._limit = buffer_bytes     # bytes of a buffer records are read into; the rest is spare
        self._bufs = [np.empty(0, np.uint8)] * 2
        self._buf = self._bufs[0]
        self._spare = self._limit      # where the next fallback payload goes in the spare area
        cols = self._cols
        self._len_max = min(np.iinfo(cols.caplen.dtype).max, np.iinfo(cols.wirelen.dtype).max)
        self._wscale_max = np.iinfo(cols.wscale.dtype).max
        self._arp_op_max = np.iinfo(cols.arp_op.dtype).max

    @property
    def format(self) -> str:
        return self._reader.format

    @property
    def linktypes(self) -> tuple[int, ...]:
        """Link type of each interface, by interface id (grows as pcapng interfaces are read)."""
        return self._reader.linktypes

    @property
    def bytes_read(self) -> int:
        """Bytes of the file read up to the last chunk yielded (a progress bar's bytes done)."""
        return self._bytes_done

    def chunks(self) -> Iterator[tuple[FrameColumns, np.ndarray]]:
        """(cols, data) per chunk; each call reads the file again from its start."""
        if self._running is not None:      # an earlier chunks() left unfinished: stop its thread
            self._running.close()
        if self._made:
            self._reader = CaptureReader(self.path)
        self.warnings = []
        self.count = self._made = 0
        self._bytes_done = self._made_bytes = PCAP_HEADER if self._reader.format == "pcap" else 0
        self.fallback_frames = 0
        size = self._limit + self._limit // 8 + 64
        self._bufs = [np.empty(size, np.uint8), np.empty(0, np.uint8)]
        self._buf, self._spare = self._bufs[0], self._limit
        self._holds = Slots(threaded=self.read_ahead)
        self._at = 0
        self._use(0)
        made = self._pcap_chunks() if self._reader.format == "pcap" else self._pcapng_chunks()
        return self._give(run_ahead(made, self._holds) if self.read_ahead else made)

    def _give(self, made: Iterator) -> Iterator[tuple[FrameColumns, np.ndarray]]:
        """The caller's side: each chunk as (cols, data), released when the next is asked for."""
        self._running = made if self.read_ahead else None
        try:
            for cols, data, slot, count, done in made:
                self._given, self._given_buf, self.count, self._bytes_done = slot, data, count, done
                yield cols, data
                self._holds.release(slot)
            self.count, self._bytes_done = self._made, self._made_bytes
        finally:
            if self._running is made:
                self._running = None
            made.close()

    def _use(self, slot: int) -> None:
        """Make the next chunk in `slot` (waiting until the caller has released it)."""
        self._holds.claim(slot)
        self._at = slot
        (self._cols, self._rec_off, self._rec_len, self._rec_wire, self._rec_link,
         self._fallback) = self._slots[slot]

    # -- classic pcap: readinto + index kernel -----------------------------------------------

    def _pcap_chunks(self) -> Iterator[tuple[FrameColumns, np.ndarray]]:
        with open(self.path, "rb", buffering=0) as handle:
            magic = handle.read(4)
            order, nanosecond, hdr_len = PCAP_MAGICS[magic]
            big_endian = order == ">"
            frac_mul = 1 if nanosecond else 1000
            for slot in self._slots:
                slot.rec_link[:] = self._reader.interfaces[0].linktype
            handle.seek(PCAP_HEADER)
            state = np.zeros(4, np.int64)
            cols = self._cols
            base = PCAP_HEADER         # file offset of buffer byte 0
            pos = fill = 0             # next record / end of the bytes read
            eof = False
            while True:
                cols = self._cols      # the slot being made (it changes after every chunk)
                index_records(self._buf, pos, fill, hdr_len, big_endian, frac_mul, MAX_CAPLEN,
                              self._made + 1, self.chunk_frames, cols.number, cols.ts_ns,
                              self._rec_off, self._rec_len, self._rec_wire, state)
                n, end, status, need = (int(v) for v in state)
                if status == STOP_PARTIAL and not eof and (pos > 0 or fill < self._limit or n == 0):
                    # more bytes make a fuller chunk: keep the unread tail, grow for a big record
                    if pos:
                        fill = self._carry(pos, fill)
                        base, pos = base + pos, 0
                    if n == 0 and need > self._limit:
                        self._grow(need, fill)
                    fill, eof = self._read(handle, fill)
                    continue
                if n:
                    self._made_bytes = base + end      # the file read up to this chunk's end
                    yield from self._emit(n)
                    pos = end
                if status == STOP_FULL:
                    continue
                # the reader's own error and warning builders: the same messages, word for word
                if status == STOP_ABSURD:
                    raise self._reader._absurd(self._made + 1, need - hdr_len)
                if eof:
                    if fill > pos:
                        self._reader._cut(self._made + 1, base + pos, fill - pos, need)
                    self.warnings = list(self._reader.warnings)
                    return

    def _read(self, handle, fill: int) -> tuple[int, bool]:
        """Fill the read area from the file; (new fill, end of file reached)."""
        view = memoryview(self._buf)
        while fill < self._limit:
            got = handle.readinto(view[fill:self._limit])
            if not got:
                return fill, True
            fill += got
        return fill, False

    def _carry(self, keep: int, fill: int) -> int:
        """Move the unread bytes [keep, fill) to the start of the other read buffer, which
        becomes the one read into; returns the new fill. The chunks the caller holds point into
        this buffer or the other: the other is written only once none points there."""
        at = 1 if self._bufs[0] is self._buf else 0
        other = self._bufs[at]
        if len(other) < len(self._buf):         # grown (or never used): a new one, nobody holds it
            other = np.empty(len(self._buf), np.uint8)
        else:
            self._holds.claim_buffer(other)
        other[:fill - keep] = self._buf[keep:fill]
        self._bufs[at] = self._buf = other
        self._spare = self._limit
        return fill - keep

    def _grow(self, limit: int, keep: int) -> None:
        """A read area of `limit` bytes, keeping the first `keep` bytes (a new array: a chunk the
        caller holds may point into the old one)."""
        old = self._buf
        self._limit = limit
        self._buf = np.empty(limit + limit // 8 + 64, np.uint8)
        self._buf[:keep] = old[:keep]
        self._bufs[0 if self._bufs[0] is old else 1] = self._buf
        self._spare = self._limit

    # -- pcapng: readinto + EPB index kernel, every other block by the reader's own code --------

    def _pcapng_chunks(self) -> Iterator[tuple[FrameColumns, np.ndarray]]:
        reader = self._reader
        st = PcapngState()
        state = np.zeros(2, np.int64)
        clocks, n_clocks, arrays, big_endian = None, 0, (), False
        number = n = 0             # frames so far (the chunk's included) / rows of the chunk
        start = 0                  # buffer offset of the chunk's first row's block
        base = pos = 0             # file offset of buffer byte 0 / the next block
        error: BaseException | None = None
        with open(self.path, "rb", buffering=0) as handle:
            fill, eof = self._read(handle, 0)
            while True:
                if n == self.chunk_frames:
                    self._made_bytes = base + pos
                    yield from self._emit(n)
                    n = 0
                cols = self._cols      # the slot being made (it changes after every chunk)
                if clocks is not st.local_clocks or n_clocks != len(clocks):
                    # a new section or interface: the kernel's per-interface arrays again
                    clocks, n_clocks = st.local_clocks, len(st.local_clocks)
                    arrays, big_endian = interface_arrays(clocks), st.order == ">"
                index_blocks(self._buf, pos, fill, big_endian, *arrays, TS_MIN, TS_MAX, number + 1,
                             self.chunk_frames, cols.number, cols.ts_ns, self._rec_off, self._rec_len,
                             self._rec_wire, self._rec_link, n, state)
                found = int(state[0])
                if found:
                    start = pos if n == 0 else start
                    n, number, pos = n + found, number + found, int(state[1])
                    if n == self.chunk_frames:
                        continue
                # the block the kernel stopped at: the reader decides it, word for word
                try:
                    step = reader.pcapng_block(st, memoryview(self._buf), pos, fill, base, number)
                except Exception as exc:       # the frames before it are yielded first
                    error = exc
                    break
                if step.need:
                    if eof:
                        reader.pcapng_cut(number, base + pos, fill - pos, step.need)
                        break
                    if n and pos - start + step.need > self._limit:
                        self._made_bytes = base + pos
                        yield from self._emit(n)
                        n = 0
                        cols = self._cols
                    # keep the chunk's rows and the unread tail, then read on
                    keep = start if n else pos
                    if keep:
                        fill = self._carry(keep, fill)
                        self._rec_off[:n] -= keep
                        base, pos, start = base + keep, pos - keep, 0
                    if step.need > self._limit:
                        self._grow(step.need, fill)
                    fill, eof = self._read(handle, fill)
                    continue
                if step.damaged:
                    break
                if step.frame is not None:
                    ts, caplen, wirelen, linktype, _iface, data = step.frame
                    start = pos if n == 0 else start
                    cols.number[n] = number = number + 1
                    cols.ts_ns[n] = ts         # fits: the reader clamps timestamps to int64 ns, and warns
                    self._rec_off[n], self._rec_len[n] = data, caplen
                    self._rec_wire[n], self._rec_link[n] = wirelen, linktype
                    n += 1
                pos = step.end
        self._made_bytes = base + pos
        if n:
            yield from self._emit(n)
        if error is not None:
            raise error
        reader.pcapng_done()
        self.warnings = list(reader.warnings)

    # -- decode a chunk and yield it --------------------------------------------------------

    def _emit(self, n: int) -> Iterator[tuple[FrameColumns, np.ndarray]]:
        """Decode rows [0, n) and yield them; a row whose fallback decode raises ends the chunk
        there, and the error is raised once the rows before it are yielded."""
        cols = self._cols
        fallbacks = decode_records(
            self._buf, self._rec_off, self._rec_len, self._rec_wire, self._rec_link, n,
            self.verify_checksums, self._len_max, self._wscale_max, self._arp_op_max,
            *cols[2:], self._fallback)
        done, error = n, None
        if fallbacks:
            done, error = self._fill_fallbacks(n)
        if done:
            self._made += done
            self._holds.hand_over(self._at, self._buf)
            yield ((cols if done == len(cols) else slice_frames(cols, 0, done)), self._buf,
                   self._at, self._made, self._made_bytes)
            self._use((self._at + 1) % SLOTS)
        if error is not None:
            raise error

    def record(self, i: int) -> RawRecord:
        """Row i of the chunk just yielded as the RawRecord it was decoded from (valid until the
        next chunk): for the few rows whose remaining fields only the per-frame decoder gives."""
        return _record(self._slots[self._given], self._given_buf, i)

    def heads(self, rows: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The first `width` captured bytes of rows `rows` of the chunk just yielded, as a
        (rows, width) array; which rows have that many (the others' are zeros); their link types."""
        slot = self._slots[self._given]
        whole = slot.rec_len[rows] >= width
        heads = np.zeros((len(rows), width), np.uint8)
        heads[whole] = self._given_buf[slot.rec_off[rows][whole, None] + np.arange(width)]
        return heads, whole, slot.rec_link[rows]

    def _fill_fallbacks(self, n: int) -> tuple[int, BaseException | None]:
        """Rows the kernel flagged, from decode_frame; (rows done, the error that stopped it).
        Their payloads go to the spare area after the chunks' before them from this buffer."""
        cols = self._cols
        spare = self._spare
        for i in np.flatnonzero(self._fallback[:n]):
            i = int(i)
            rec = _record(self._slots[self._at], self._buf, i)
            try:
                frame = decode_frame(rec, path=self.path, verify_checksums=self.verify_checksums)
                payload = np.frombuffer(frame.payload, np.uint8)
                if spare + len(payload) > len(self._buf):
                    # a longer copy (the caller may hold the old one, which is left as it is)
                    old = self._buf
                    self._buf = np.concatenate([old, np.empty(
                        max(len(payload), len(old) // 2), np.uint8)])
                    self._bufs[0 if self._bufs[0] is old else 1] = self._buf
                self._buf[spare:spare + len(payload)] = payload
                fill_from_frame(cols, i, frame, spare)
            except Exception as exc:
                self._spare = spare
                return i, exc
            spare += len(payload)
            self.fallback_frames += 1
        self._spare = spare
        return n, None


def _record(slot: _Slot, buf: np.ndarray, i: int) -> RawRecord:
    """Row i of a slot as the RawRecord it was decoded from."""
    off, size = int(slot.rec_off[i]), int(slot.rec_len[i])
    return RawRecord(int(slot.cols.number[i]), int(slot.cols.ts_ns[i]), size, int(slot.rec_wire[i]),
                     int(slot.rec_link[i]), 0, buf[off:off + size].tobytes())
