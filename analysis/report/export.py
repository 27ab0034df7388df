"""Machine-readable outputs: the JSON document (stable, versioned schema) and frames.csv.

JSON schema, version 3 (additive changes keep the version; a removal or a change of meaning
bumps it; 2 is taken by `--fields`, analysis/dissect/json.py, which is now 4):

    {
      "schema": "reqresp-lab/analysis", "schema_version": 3, "lang": "en" | "id" (of the texts),
      "file": str, "frame_count": int, "linktypes": [int],
      "frames": [ {"number": int (1-based, as Wireshark), "time": float (epoch s),
                   "rel_time": float, "src": str, "dst": str, "sport": int|null, "dport": int|null,
                   "proto": str, "tcp_flags": int (the 12 bits of tshark's tcp.flags; 0 without a
                   TCP header), "flags": str ("SYN,ACK": a view of tcp_flags; "" if not TCP),
                   "len": int (frame length), "payload_len": int, "phase": str, "label": str,
                   "direction": str|null, "analysis": [str], "conn": int|null, "seq": int|null,
                   "ack": int|null, "seq_raw": int|null, "ack_raw": int|null,
                   "window": int|null, "info": str (Wireshark's Info column: a view of the fields),
                   "truncated": bool,
                   "malformed": {"code": str (vocabulary "malformed"), "message": str}|null,
                   "arp": {"opcode": int, "sha": str, "spa": str, "tha": str, "tpa": str}|null,
                   "tcp_options": {"mss": int|null, "wscale": int|null (shift count),
                                   "sack_permitted": bool, "sack_blocks": [[int, int]] (raw
                                   left, right edges), "ts_val": int|null, "ts_ecr": int|null}|null
                                  (null without a TCP header),
                   "icmp_type": int|null, "ip_proto": int|null} ],
      "connections": [ {"id": int, "orig": "ip:port", "resp": "ip:port", "conn_state": str,
                        "history": str, "start": float, "duration": float,
                        "orig_pkts": int, "orig_bytes": int, "resp_pkts": int, "resp_bytes": int,
                        "irtt": float|null, "closed_by": "orig"|"resp"|null, "end": str,
                        "frames": [int], ...} ],
      "exchanges": [ {"conn": int, "request": str, "response": str|null, "request_frame": int,
                      "response_frame": int|null, "request_time": float, "latency": float|null,
                      "kind": str} ],
      "votes": {option: count},
      "warnings": [ {"code": str, "message": str, "frame": int|null, "offset": int|null} ],
      "vocabulary": {"phases": {...}, "labels": {...}, "analysis": {...}, "conn_states": {...},
                     "malformed": {...}, ...}
    }

Version 3 against version 1: a frame's "malformed" is {code, message} (was the message), and
"tcp_flags", "arp", "tcp_options", "icmp_type", "ip_proto" are new. frames.csv keeps every
column it had (malformed: the message) and adds tcp_flags, malformed_code, the ARP fields, the TCP
options, icmp_type and ip_proto at the end.

Names in phase, label, analysis, conn_state, history, end and malformed come from vocabulary.py only.
"""
from __future__ import annotations

import csv
import io
import json
from contextlib import contextmanager
import gc
from typing import IO, Iterable, Iterator

from analysis import vocabulary
from analysis.model import LabeledFrame
from analysis.report.export_rows import FramesHook, csv_blocks, json_and_csv_blocks, json_blocks, record_blocks

SCHEMA = "reqresp-lab/analysis"
SCHEMA_VERSION = 3


def frame_dict(frame: LabeledFrame) -> dict:
    """A frame's JSON entry: its fields, with the text views (flags, info) where version 1 had them."""
    options = frame.tcp_options
    return {
        "number": frame.number, "time": frame.time, "rel_time": frame.rel_time,
        "src": frame.src, "dst": frame.dst, "sport": frame.sport, "dport": frame.dport,
        "proto": frame.proto, "tcp_flags": frame.tcp_flags, "flags": frame.flags, "len": frame.len,
        "payload_len": frame.payload_len, "phase": frame.phase, "label": frame.label,
        "direction": frame.direction, "analysis": list(frame.analysis), "conn": frame.conn,
        "seq": frame.seq, "ack": frame.ack, "seq_raw": frame.seq_raw, "ack_raw": frame.ack_raw,
        "window": frame.window, "info": frame.info, "truncated": frame.truncated,
        "malformed": frame.malformed._asdict() if frame.malformed is not None else None,
        "arp": frame.arp._asdict() if frame.arp is not None else None,
        "tcp_options": None if options is None else dict(
            options._asdict(), sack_blocks=[list(block) for block in options.sack_blocks]),
        "icmp_type": frame.icmp_type, "ip_proto": frame.ip_proto,
    }


def to_document(analysis, frames: Iterable[LabeledFrame] | None = None, lang: str = "en") -> dict:
    """The JSON document for an Analysis (frames may be given separately, e.g. filtered); its
    texts (warning messages, vocabulary explanations) in `lang`, which "lang" records."""
    return _document(analysis, frames, lang, rows=True)


def _document(analysis, frames: Iterable[LabeledFrame] | None, lang: str, rows: bool) -> dict:
    """to_document's; without its rows (frames, connections, exchanges: []) if not `rows`."""
    from analysis.i18n import translation
    t = translation(lang)
    chosen = (analysis.frames if frames is None else list(frames)) if rows else []
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "lang": lang,
        "file": analysis.path,
        "frame_count": analysis.frame_count,
        "linktypes": list(analysis.linktypes),
        "frames": [frame_dict(f) for f in chosen],
        "connections": [dict(c._asdict(), frames=list(c.frames)) for c in analysis.connections]
                       if rows else [],
        "exchanges": [e._asdict() for e in analysis.exchanges] if rows else [],
        "votes": dict(analysis.votes),
        "warnings": [{"code": w.code, "message": w.text(t), "frame": w.frame, "offset": w.offset}
                     for w in analysis.warnings],
        "vocabulary": {
            "phases": _said(vocabulary.PHASES, t), "phase_filters": vocabulary.PHASE_FILTERS,
            "labels": _said(vocabulary.LABELS, t), "analysis": _said(vocabulary.ANALYSIS_FLAGS, t),
            "conn_states": _said(vocabulary.CONN_STATES, t), "history": _said(vocabulary.HISTORY_LETTERS, t),
            "ends": _said(vocabulary.CONN_ENDS, t), "malformed": _said(vocabulary.MALFORMED, t),
        },
    }


def _said(explanations: dict, t) -> dict:
    """A vocabulary's explanations in t's language (keys stay: they are the names)."""
    return {name: t.gettext(text) if isinstance(text, str) else text for name, text in explanations.items()}


# the long arrays: one entry a line, made a chunk at a time as json.dumps would write each entry
# (export_rows.py); indent= would send the whole document through json's pure-Python encoder, and
# building it whole would hold every frame's dict at once
_ROW_ARRAYS = ("frames", "connections", "exchanges")


def write_json(analysis, out: IO[str], frames: Iterable[LabeledFrame] | None = None,
               lang: str = "en") -> None:
    """The JSON document (to_document's, one entry a line in the long arrays) to `out`; the
    frames' entries are made a chunk at a time from their fields (export_rows: frame_dict's text)."""
    with _no_cycle_collection():
        _write_json(analysis, out, json_blocks(analysis.frames if frames is None else frames), lang)


def write_json_and_csv(analysis, json_out: IO[str], csv_out: IO[str], lang: str = "en",
                       on_frames: FramesHook | None = None) -> None:
    """write_json(analysis, json_out, lang=lang) and write_csv(analysis.frames, csv_out) in one
    pass over the frames (their fields read and Info made once for both): what `make analyze`
    writes, analysis.json and frames.csv. on_frames: told each block's frame count."""
    _write_csv_header(csv_out)

    def frame_blocks() -> Iterator[str]:
        for json_block, csv_block in json_and_csv_blocks(analysis.frames, CSV_COLUMNS, on_frames):
            csv_out.write(csv_block)
            yield json_block

    with _no_cycle_collection():
        _write_json(analysis, json_out, frame_blocks(), lang)


def _write_json(analysis, out: IO[str], frame_blocks: Iterator[str], lang: str) -> None:
    document = _document(analysis, [], lang, rows=False)
    # each array's entries in blocks joined by ",\n  " (json.dumps of to_document's entries)
    rows = {"frames": frame_blocks,
            "connections": record_blocks(list(analysis.connections)),
            "exchanges": record_blocks(list(analysis.exchanges))}
    marks = {key: json.dumps(f"\x00{key}\x00") for key in _ROW_ARRAYS}
    text = json.dumps({**document, **{key: f"\x00{key}\x00" for key in _ROW_ARRAYS}},
                      indent=1, ensure_ascii=False)
    for key in _ROW_ARRAYS:
        head, text = text.split(marks[key], 1)
        out.write(head)
        out.write("[")
        written = False
        for entry in rows[key]:
            out.write(",\n  " if written else "\n  ")
            out.write(entry)
            written = True
        out.write("\n ]" if written else "]")
    out.write(text)
    out.write("\n")


# version 1's columns first, in their order; the structured fields after them
CSV_COLUMNS = ("number", "time", "rel_time", "src", "dst", "sport", "dport", "proto", "flags", "len",
               "payload_len", "phase", "label", "direction", "analysis", "conn", "seq", "ack",
               "seq_raw", "ack_raw", "window", "info", "truncated", "malformed",
               "tcp_flags", "malformed_code", "arp_opcode", "arp_sha", "arp_spa", "arp_tha",
               "arp_tpa", "mss", "wscale", "sack_permitted", "sack_blocks", "ts_val", "ts_ecr",
               "icmp_type", "ip_proto")


def csv_row(frame: LabeledFrame) -> list:
    """The CSV cells of a frame, in CSV_COLUMNS order ("" for None)."""
    mal, arp, opts = frame.malformed, frame.arp, frame.tcp_options
    row = [frame.number, frame.time, frame.rel_time, frame.src, frame.dst, frame.sport, frame.dport,
           frame.proto, frame.flags, frame.len, frame.payload_len, frame.phase, frame.label,
           frame.direction, ";".join(frame.analysis), frame.conn, frame.seq, frame.ack,
           frame.seq_raw, frame.ack_raw, frame.window, frame.info, frame.truncated,
           None if mal is None else mal.message,
           frame.tcp_flags, None if mal is None else mal.code]
    row += [None] * 5 if arp is None else list(arp)
    if opts is None:
        row += [None] * 6
    else:
        row += [opts.mss, opts.wscale, opts.sack_permitted,
                ";".join(f"{left}-{right}" for left, right in opts.sack_blocks), opts.ts_val, opts.ts_ecr]
    row += [frame.icmp_type, frame.ip_proto]
    return ["" if value is None else value for value in row]


def write_csv(frames: Iterable[LabeledFrame], out: IO[str]) -> None:
    """frames.csv: the header and csv_row of every frame, as the csv writer writes them; the rows
    made a chunk at a time from the frames' fields (export_rows)."""
    _write_csv_header(out)
    with _no_cycle_collection():
        for block in csv_blocks(frames, CSV_COLUMNS):
            out.write(block)


def _write_csv_header(out: IO[str]) -> None:
    csv.writer(out, lineterminator="\n").writerow(CSV_COLUMNS)


@contextmanager
def _no_cycle_collection():
    """The cyclic collector off while the rows are made: each chunk's tens of thousands of texts
    and tuples would run it over and over (each pass scanning the whole process's objects, most
    of the writers' time); they hold no cycles, and it runs again after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def csv_text(frames: Iterable[LabeledFrame]) -> str:
    buffer = io.StringIO()
    write_csv(frames, buffer)
    return buffer.getvalue()
