"""Requests paired with responses, over columns: ExchangeTracker (analysis/session/exchanges.py) as
api._Pipeline._feed_exchanges drives it, at millions of frames per second.

    stage = ExchangeStage()
    parts = [stage.run(cols, data, tcp, labels) for cols, data, tcp, labels in chunks]
    parts.append(stage.finish())
    exchanges = exchanges_from_columns(parts)      # == ExchangeTracker.finish()

This module is the thin owner of the state: per-stream rows (36 bytes a stream), the chain
records and byte blocks of exch_pool (partial lines, out-of-order segments, unpaired messages:
about the live bytes, reused through free lists) and the output buffers. Before each kernel
call it grows them (doubling) to upper bounds of what the call can use, so the kernel
(exch_reassembly.py, exch_pairing.py) never runs out of room:

  * a message ends at a newline, at a speaker change (one per frame with payload) or past
    MAX_MESSAGE bytes, so a chunk completes at most newlines + frames + bytes / 64 KiB messages
    (newlines of the chunk's payloads and of the pending segments), and each exchange needs one;
    a turn ends at a speaker change;
  * its text is at most the chunk's payload bytes plus the bytes already stored (a client's
    bytes are stored twice, as lines and as a turn, until the server speaks: twice the bytes);
  * the records and blocks in use at most grow by one per message, turn, pending segment and
    partial line, and by the stored bytes / BLOCK.
"""
from __future__ import annotations

import numpy as np

from analysis.columnar.columns import ExchangeColumns, FrameColumns, LabelColumns, TcpColumns
from analysis.columnar.session.pool import (BLOCK, C_BHW, C_BLIVE, C_BYTES, C_NEX, C_PEND_BYTES, C_PEND_COUNT,
                        C_PEND_NL, C_RHW, C_RLIVE, C_TEXT, REC_FIELDS, grown, new_counters)
from analysis.columnar.session.pairing import (ST_FIELDS, STATE_BYTES_PER_STREAM, T_FLAGS, X_CONN, X_FIELDS, X_KIND,
                           X_REQ_FRAME, X_REQ_LEN, X_REQ_OFF, X_RESP_FRAME, X_RESP_LEN, X_RESP_OFF)
from analysis.columnar.session.reassembly import MAX_MESSAGE, chunk_need, exch_finish_kernel, exch_kernel
from analysis.columnar.session.text import empty_exchanges, exchanges_from_columns

__all__ = ["ExchangeStage", "exchanges_from_columns", "STATE_BYTES_PER_STREAM"]


def _room(array: np.ndarray, rows: int) -> np.ndarray:
    """An output buffer of at least `rows` rows; its old content is not kept."""
    if rows <= len(array):
        return array
    size = max(len(array), 64)
    while size < rows:
        size *= 2
    return np.empty((size,) + array.shape[1:], array.dtype)


class ExchangeStage:
    """ExchangeTracker over columns (mirrors exchanges.py as api._Pipeline._feed_exchanges
    drives it): one instance per capture, chunks in order, then finish()."""

    STATE_BYTES_PER_STREAM = STATE_BYTES_PER_STREAM

    def __init__(self) -> None:
        self.st = np.full((1024, ST_FIELDS), -1, np.int32)
        self.st[:, T_FLAGS] = 0
        records, blocks = 256, 256
        self.rec = np.empty((records, REC_FIELDS), np.int32)
        self.rmeta = np.empty((records, 2), np.int64)          # frame number, ts_ns
        self.pool = np.empty((blocks, BLOCK), np.uint8)
        self.bnext = np.empty(blocks, np.int32)
        self.ctr = new_counters()
        self.ox = np.empty((0, X_FIELDS), np.int64)
        self.of = np.empty((0, 2), np.float64)                 # request_time, latency
        self.otext = np.empty(0, np.uint8)

    # --- sizing -----------------------------------------------------------------------------------
    def _reserve_streams(self, streams: int) -> None:
        old = len(self.st)
        if streams > old:
            self.st = grown(self.st, streams, -1)
            self.st[old:, T_FLAGS] = 0

    def _reserve(self, messages: int, text: int, new_records: int) -> None:
        ctr = self.ctr
        records = max(int(ctr[C_RHW]), int(ctr[C_RLIVE]) + new_records) + 1
        if records > len(self.rec):
            self.rec = grown(self.rec, records)
            self.rmeta = grown(self.rmeta, records)
        # bytes stored at once: what is stored now, the new bytes, and one pending segment being
        # moved to its direction (its copy and itself); each chain wastes less than a block
        stored = int(ctr[C_BYTES]) + text + 2 * 65536
        blocks = max(int(ctr[C_BHW]), stored // BLOCK + int(ctr[C_RLIVE]) + new_records) + 1
        if blocks > len(self.pool):
            self.pool = grown(self.pool, blocks)
            self.bnext = grown(self.bnext, blocks)
        self.ox = _room(self.ox, messages)
        self.of = _room(self.of, messages)
        self.otext = _room(self.otext, text + int(ctr[C_BYTES]))
        ctr[C_NEX] = ctr[C_TEXT] = 0

    def _output(self) -> ExchangeColumns:
        m, t = int(self.ctr[C_NEX]), int(self.ctr[C_TEXT])
        ox, of = self.ox[:m], self.of[:m]
        return ExchangeColumns(
            conn=ox[:, X_CONN].copy(), request_frame=ox[:, X_REQ_FRAME].copy(),
            response_frame=ox[:, X_RESP_FRAME].copy(), request_time=of[:, 0].copy(),
            latency=of[:, 1].copy(), kind=ox[:, X_KIND].astype(np.uint8),
            request_off=ox[:, X_REQ_OFF].copy(), request_len=ox[:, X_REQ_LEN].copy(),
            response_off=ox[:, X_RESP_OFF].copy(), response_len=ox[:, X_RESP_LEN].copy(),
            text=self.otext[:t].copy())

    # --- the stage --------------------------------------------------------------------------------
    def run(self, cols: FrameColumns, data: np.ndarray, tcp: TcpColumns,
            labels: LabelColumns) -> ExchangeColumns:
        """The exchanges paired while processing this chunk (text copied: `data` may be reused)."""
        if len(cols) == 0:
            return empty_exchanges()
        data = np.ascontiguousarray(data, dtype=np.uint8)
        top, frames, total, newlines = chunk_need(tcp.stream, cols.tcp_flags, cols.payload_off,
                                                  cols.payload_cap, data)
        if frames == 0 and top == 0:
            return empty_exchanges()
        self._reserve_streams(top)
        ctr = self.ctr
        stored = int(ctr[C_BYTES]) + total
        messages = (newlines + int(ctr[C_PEND_NL]) + frames + stored // MAX_MESSAGE + 2)
        new_records = messages + 3 * frames + int(ctr[C_PEND_COUNT]) + 2   # + a turn a frame
        # a client's bytes are kept twice (lines and turn) until the server speaks
        self._reserve(messages, 2 * total, new_records)
        exch_kernel(tcp.stream, cols.tcp_flags, cols.seq, cols.number, cols.ts_ns,
                    cols.payload_off, cols.payload_cap, tcp.from_client, labels.client_is_src,
                    data, self.st, self.rec, self.rmeta, self.pool, self.bnext, ctr, self.ox,
                    self.of, self.otext)
        return self._output()

    def finish(self) -> ExchangeColumns:
        """What ExchangeTracker.finish adds at the end (the stage is then empty)."""
        ctr = self.ctr
        stored = int(ctr[C_BYTES])
        messages = (int(ctr[C_PEND_NL]) + 2 * int(ctr[C_PEND_COUNT]) + 2 * int(ctr[C_RLIVE])
                    + stored // MAX_MESSAGE + 2)
        self._reserve(messages, stored, messages)      # pending bytes may be kept twice
        exch_finish_kernel(self.st, self.rec, self.rmeta, self.pool, self.bnext, ctr, self.ox,
                           self.of, self.otext)
        return self._output()

    # --- memory -----------------------------------------------------------------------------------
    def live(self) -> dict[str, int]:
        """What the stage holds now: chains (records), blocks and their bytes, pending ones."""
        ctr = self.ctr
        return {"records": int(ctr[C_RLIVE]), "blocks": int(ctr[C_BLIVE]),
                "bytes": int(ctr[C_BYTES]), "pending": int(ctr[C_PEND_COUNT]),
                "pending_bytes": int(ctr[C_PEND_BYTES])}

    def pool_bytes(self) -> int:
        """Bytes of the record and block arrays (both reused through free lists)."""
        return sum(a.nbytes for a in (self.rec, self.rmeta, self.pool, self.bnext))
