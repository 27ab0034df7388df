"""The dissection in the JSON document (`python -m analysis FILE --json --fields`).

schema_version 4 is version 3 (analysis/report/export.py) with, in every entry of `frames`:

    "bytes":  the captured bytes of the frame, in hex ("00105a...")
    "fields": the protocol layers, outermost first, each a field:
              {"name": "tcp", "pos": 34, "size": 32, "value": null, "show": "Transmission ...",
               "children": [{"name": "tcp.srcport", "pos": 34, "size": 2, "value": "e9d0",
                             "show": "59856"}, ...]}
              name: Wireshark's field name; pos, size: the field's bytes in "bytes" (offset and
              length); value: tshark PDML's value (the bytes in hex, or a bit field's masked
              value in upper-case hex; null for a field without bytes, e.g. tcp.len); show:
              PDML's show (the value as tshark prints it); children: omitted when empty.
"""
from __future__ import annotations

from analysis.dissect.fields import Dissection, Field

SCHEMA_VERSION = 4   # 2 was version 1 with the fields


def field_json(field: Field) -> dict:
    out = {"name": field.name, "pos": field.pos, "size": field.size, "value": field.value,
           "show": field.show}
    if field.children:
        out["children"] = [field_json(child) for child in field.children]
    return out


def dissection_json(dissection: Dissection) -> list[dict]:
    """A frame's layers as JSON-ready dicts (the `fields` of a frame entry)."""
    return [field_json(layer) for layer in dissection.layers]


def add_fields(document: dict, analysis) -> dict:
    """`document` (export.to_document of `analysis`) with each frame's `bytes` and `fields`, and
    schema_version 4; the frames are read again from analysis.path."""
    from analysis.dissect.capture import tcp_contexts
    from analysis.dissect.core import dissect
    from analysis.read.reader import iter_records

    wanted = {entry["number"]: entry for entry in document["frames"]}
    contexts = tcp_contexts(analysis.frames)
    for rec in iter_records(analysis.path):
        entry = wanted.get(rec.number)
        if entry is None:
            continue
        d = dissect(rec.data, rec.linktype, number=rec.number, wirelen=rec.wirelen,
                    ts_ns=rec.ts_ns, tcp_context=contexts.get(rec.number))
        entry["bytes"] = bytes(rec.data).hex()
        entry["fields"] = dissection_json(d)
    document["schema_version"] = SCHEMA_VERSION
    return document
