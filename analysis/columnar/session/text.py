"""ExchangeColumns -> Exchange records, in ExchangeTracker.finish's order (mirrors the end of
analysis/session/exchanges.py).

The exchange stage (exch_kernel.py) returns the exchanges of each chunk, then those of finish(),
each part with its own text bytes. ExchangeTracker.finish lists every stream's exchanges in the
order it paired them and sorts the lot stably by (request_frame, conn); the parts, concatenated,
hold each stream's exchanges in that same order, so a stable sort by the same key gives the
same list. Texts are decoded as exchanges._text does (utf-8, errors="backslashreplace"); a kind
the kernel left open (non-ASCII request) is exchanges.exchange_kind of the decoded texts.
"""
from __future__ import annotations

import numpy as np

from analysis.session.exchanges import exchange_kind
from analysis.model import Exchange

from analysis.columnar.columns import EXCHANGE_KINDS, ExchangeColumns

KIND_UNKNOWN = 255


def empty_exchanges() -> ExchangeColumns:
    i64, f64 = np.empty(0, np.int64), np.empty(0, np.float64)
    return ExchangeColumns(conn=i64, request_frame=i64, response_frame=i64, request_time=f64,
                           latency=f64, kind=np.empty(0, np.uint8), request_off=i64,
                           request_len=i64, response_off=i64, response_len=i64,
                           text=np.empty(0, np.uint8))


def concat_exchanges(parts: list[ExchangeColumns]) -> ExchangeColumns:
    """The parts as one ExchangeColumns (text offsets rebased onto the joined text)."""
    parts = [p for p in parts if len(p.conn)]
    if not parts:
        return empty_exchanges()
    bases = np.cumsum([0] + [len(p.text) for p in parts[:-1]])
    fields = {name: np.concatenate([getattr(p, name) for p in parts])
              for name in ExchangeColumns._fields if name != "text"}
    shift = np.concatenate([np.full(len(p.conn), base, np.int64) for p, base in zip(parts, bases)])
    fields["request_off"] = fields["request_off"] + shift
    fields["response_off"] = np.where(fields["response_off"] >= 0,
                                      fields["response_off"] + shift, -1)
    return ExchangeColumns(text=np.concatenate([p.text for p in parts]), **fields)


def _texts(text: bytes, offs: list[int], lens: list[int]) -> list[str | None]:
    """exchanges._text of each text[off:off+len] (None where off < 0: no response)."""
    if text.isascii():                      # the usual case: decode once, slice the str
        whole = text.decode("ascii")
        return [whole[o:o + n] if o >= 0 else None for o, n in zip(offs, lens)]
    return [text[o:o + n].decode("utf-8", "backslashreplace") if o >= 0 else None
            for o, n in zip(offs, lens)]


def exchanges_from_columns(parts: list[ExchangeColumns]) -> list[Exchange]:
    """ExchangeStage.run() outputs then finish()'s, as ExchangeTracker.finish returns them."""
    cols = concat_exchanges(parts)
    m = len(cols.conn)
    if m == 0:
        return []
    order = np.lexsort((np.arange(m), cols.conn, cols.request_frame))
    text = cols.text.tobytes()
    requests = _texts(text, cols.request_off[order].tolist(), cols.request_len[order].tolist())
    responses = _texts(text, cols.response_off[order].tolist(),
                       cols.response_len[order].tolist())
    answered = (cols.response_frame[order] >= 0).tolist()
    response_frames = [f if a else None
                       for f, a in zip(cols.response_frame[order].tolist(), answered)]
    latencies = [x if a else None for x, a in zip(cols.latency[order].tolist(), answered)]
    kinds = [EXCHANGE_KINDS[k] if k != KIND_UNKNOWN else exchange_kind(q, r)
             for k, q, r in zip(cols.kind[order].tolist(), requests, responses)]
    return list(map(Exchange, cols.conn[order].tolist(), requests, responses,
                    cols.request_frame[order].tolist(), response_frames,
                    cols.request_time[order].tolist(), latencies, kinds))
