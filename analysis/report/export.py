"""Machine-readable outputs: the JSON document (stable, versioned schema) and frames.csv.

JSON schema, version 1 (additive changes keep the version; a removal or a change of meaning
bumps it):

    {
      "schema": "reqresp-lab/analysis", "schema_version": 1, "lang": "en" | "id" (of the texts),
      "file": str, "frame_count": int, "linktypes": [int],
      "frames": [ {"number": int (1-based, as Wireshark), "time": float (epoch s),
                   "rel_time": float, "src": str, "dst": str, "sport": int|null, "dport": int|null,
                   "proto": str, "flags": str ("SYN,ACK"; "" if not TCP), "len": int (frame length),
                   "payload_len": int, "phase": str, "label": str, "direction": str|null,
                   "analysis": [str], "conn": int|null, "seq": int|null, "ack": int|null,
                   "seq_raw": int|null, "ack_raw": int|null, "window": int|null, "info": str,
                   "truncated": bool, "malformed": str|null} ],
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
      "vocabulary": {"phases": {...}, "labels": {...}, "analysis": {...}, "conn_states": {...}}
    }

Names in phase, label, analysis, conn_state, history and end come from vocabulary.py only.
"""
from __future__ import annotations

import csv
import io
import json
from typing import IO, Iterable

from analysis import vocabulary
from analysis.model import LabeledFrame

SCHEMA = "reqresp-lab/analysis"
SCHEMA_VERSION = 1


def frame_dict(frame: LabeledFrame) -> dict:
    row = frame._asdict()
    row["analysis"] = list(frame.analysis)
    return row


def to_document(analysis, frames: Iterable[LabeledFrame] | None = None, lang: str = "en") -> dict:
    """The JSON document for an Analysis (frames may be given separately, e.g. filtered); its
    texts (warning messages, vocabulary explanations) in `lang`, which "lang" records."""
    from analysis.i18n import translation
    t = translation(lang)
    chosen = analysis.frames if frames is None else list(frames)
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "lang": lang,
        "file": analysis.path,
        "frame_count": analysis.frame_count,
        "linktypes": list(analysis.linktypes),
        "frames": [frame_dict(f) for f in chosen],
        "connections": [dict(c._asdict(), frames=list(c.frames)) for c in analysis.connections],
        "exchanges": [e._asdict() for e in analysis.exchanges],
        "votes": dict(analysis.votes),
        "warnings": [{"code": w.code, "message": w.text(t), "frame": w.frame, "offset": w.offset}
                     for w in analysis.warnings],
        "vocabulary": {
            "phases": _said(vocabulary.PHASES, t), "phase_filters": vocabulary.PHASE_FILTERS,
            "labels": _said(vocabulary.LABELS, t), "analysis": _said(vocabulary.ANALYSIS_FLAGS, t),
            "conn_states": _said(vocabulary.CONN_STATES, t), "history": _said(vocabulary.HISTORY_LETTERS, t),
            "ends": _said(vocabulary.CONN_ENDS, t),
        },
    }


def _said(explanations: dict, t) -> dict:
    """A vocabulary's explanations in t's language (keys stay: they are the names)."""
    return {name: t.gettext(text) if isinstance(text, str) else text for name, text in explanations.items()}


def write_json(analysis, out: IO[str], frames: Iterable[LabeledFrame] | None = None,
               lang: str = "en") -> None:
    json.dump(to_document(analysis, frames, lang), out, indent=1, ensure_ascii=False)
    out.write("\n")


CSV_COLUMNS = LabeledFrame._fields


def write_csv(frames: Iterable[LabeledFrame], out: IO[str]) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for frame in frames:
        row = list(frame)
        row[CSV_COLUMNS.index("analysis")] = ";".join(frame.analysis)
        writer.writerow(["" if value is None else value for value in row])


def csv_text(frames: Iterable[LabeledFrame]) -> str:
    buffer = io.StringIO()
    write_csv(frames, buffer)
    return buffer.getvalue()
