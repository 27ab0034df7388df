"""ExchangeColumns -> Exchange records, in ExchangeTracker.finish's order (mirrors the end of
analysis/exchanges.py).

The exchange stage (exch_kernel.py) returns the exchanges of each chunk, then those of finish(),
each part with its own text bytes. ExchangeTracker.finish lists every stream's exchanges in the
order it paired them and sorts the lot stably by (request_frame, conn); the parts, concatenated,
hold each stream's exchanges in that same order, so a stable sort by the same key gives the
same list. Texts are decoded as exchanges._text does (utf-8, errors="backslashreplace"); a kind
the kernel left open (non-ASCII request) is exchanges.exchange_kind of the decoded texts.
"""
from __future__ import annotations

import numpy as np

from analysis.exchanges import exchange_kind
from analysis.model import Exchange

from .columns import EXCHANGE_KINDS, ExchangeColumns

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


def exchanges_from_columns(parts: list[ExchangeColumns]) -> list[Exchange]:
    """ExchangeStage.run() outputs then finish()'s, as ExchangeTracker.finish returns them."""
    cols = concat_exchanges(parts)
    m = len(cols.conn)
    if m == 0:
        return []
    order = np.lexsort((np.arange(m), cols.conn, cols.request_frame)).tolist()
    text = cols.text.tobytes()
    conn, req_frame, resp_frame = (cols.conn.tolist(), cols.request_frame.tolist(),
                                   cols.response_frame.tolist())
    req_time, latency, kinds = cols.request_time.tolist(), cols.latency.tolist(), cols.kind.tolist()
    req_off, req_len = cols.request_off.tolist(), cols.request_len.tolist()
    resp_off, resp_len = cols.response_off.tolist(), cols.response_len.tolist()
    out = []
    for i in order:
        request = text[req_off[i]:req_off[i] + req_len[i]].decode("utf-8", "backslashreplace")
        if resp_frame[i] >= 0:
            response = text[resp_off[i]:resp_off[i] + resp_len[i]].decode("utf-8",
                                                                         "backslashreplace")
            frame, lat = resp_frame[i], latency[i]
        else:
            response, frame, lat = None, None, None
        kind = kinds[i]
        out.append(Exchange(conn=conn[i], request=request, response=response,
                            request_frame=req_frame[i], response_frame=frame,
                            request_time=req_time[i], latency=lat,
                            kind=exchange_kind(request, response) if kind == KIND_UNKNOWN
                            else EXCHANGE_KINDS[kind]))
    return out
