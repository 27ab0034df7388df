"""The explorer in report.html: Wireshark's panes for the capture, in one offline page.

The library does the work; the page only shows it. `explorer_data(analysis)` dissects the frames
the page embeds (analysis.dissect: every field with its name, position, size and shown value),
adds the notes and step-mode sentences (explain.py), the conversations and the IO graph's bins
(over the whole capture), and `render_explorer()` writes the HTML section with that JSON and the
page's own script and style (explorer/explorer.js, explorer.css: package data, inlined).

Large captures: the page embeds at most MAX_FRAMES frames and at most MAX_EMBED_BYTES of frame
data (the first frames of the selection), and says so with how to narrow the selection
(--conn, --phase, --frames, --filter); the summary parts of the report still cover every frame.

Languages: every text of the page is in the report's language (`lang`): the sentences and the
field titles are translated here, the script's own messages are embedded as its catalog
(explorer_words.script_catalog, read by the script's gettext()); the data stays the same.
"""
from __future__ import annotations

import gc
import gettext
import html
import json
from importlib import resources
from pathlib import Path
from string import Template

import numpy as np

from analysis import vocabulary
from analysis.dissect.core import dissect
from analysis.dissect.capture import tcp_contexts
from analysis.filter.fields import EITHER, FIELD_TYPES
from analysis.frame_fields import field_chunks
from analysis.i18n import translation
from analysis.report.conn_arrays import Originators, objects
from analysis.report.explain import ConnectionNotes, shown
from analysis.report.explorer_words import field_titles, page_texts, script_catalog

MAX_FRAMES = 1000
MAX_EMBED_BYTES = 6_000_000      # of the frames' JSON; the rest of the page stays well under 10 MB
MAX_CONVERSATIONS = 2000
IO_BINS = 200

_PROTOCOLS = {"tcp": "TCP", "udp": "UDP", "arp": "ARP", "rarp": "RARP", "icmp": "ICMP",
              "icmpv6": "ICMPv6", "ipv4": "IPv4", "ipv6": "IPv6", "other": "Ethernet"}


def _tree(field, t) -> list:
    """A field as the page's compact array: [name, pos, size, show, children...]."""
    node = [field.name, field.pos, field.size, shown(field.name, field.show, t)]
    if field.children:
        node.append([_tree(child, t) for child in field.children])
    return node


def _layer(layer, t) -> list:
    """A layer's tree, its line in t's language where the line is a sentence of ours (the frame's
    sizes, the trailing data); a protocol's line ("Transmission Control Protocol, Src Port: ...")
    is Wireshark's summary and stays as Wireshark writes it, as the Info column does."""
    node = _tree(layer, t)
    values = {child.name: child.show for child in layer.children}
    if layer.name == "frame":
        wire, captured = int(values["frame.len"]), int(values["frame.cap_len"])
        node[3] = t.gettext("Frame {number}: {wire}, {captured}").format(
            number=values.get("frame.number", "?"),
            wire=t.ngettext("{count} byte on wire", "{count} bytes on wire", wire).format(count=wire),
            captured=t.ngettext("{count} byte captured", "{count} bytes captured", captured).format(count=captured))
    elif layer.name == "data" and "data.len" in values:
        size = int(values["data.len"])
        node[3] = t.ngettext("Data ({count} byte)", "Data ({count} bytes)", size).format(count=size)
    return node


def _endpoints(frame, dissection) -> tuple[str, str]:
    """The ladder's two columns: IP addresses (ARP: the sender's and target's IP)."""
    if frame.proto in ("arp", "rarp"):
        spa = dissection.find("arp.src.proto_ipv4")
        tpa = dissection.find("arp.dst.proto_ipv4")
        if spa and tpa:
            return spa[0].show, tpa[0].show
    return frame.src, frame.dst


def select_frames(analysis, chosen=None) -> tuple[list, bool]:
    """The frames the page embeds (of `chosen`, default all) and whether the bound cut some."""
    # analysis.frames may be made on demand (analyze()): slice it rather than make every record
    frames = analysis.frames if chosen is None else list(chosen)
    if len(frames) <= MAX_FRAMES:
        return list(frames), False
    return list(frames[:MAX_FRAMES]), True


def grouped(n: int, lang: str) -> str:
    """A count with its thousands grouped as the language writes them (1,000 / 1.000)."""
    return f"{n:,}".replace(",", ".") if lang == "id" else f"{n:,}"


def _cut_notice(t, lang: str, held: int, selected: int, total: int, by_size: bool) -> str:
    fields = {"held": grouped(held, lang), "selected": grouped(selected, lang), "total": grouped(total, lang)}
    if by_size:
        return t.ngettext(
            "This page holds the first {held} (their bytes reach the page's size bound) of the {selected} "
            "selected frame ({total} in the capture).",
            "This page holds the first {held} (their bytes reach the page's size bound) of the {selected} "
            "selected frames ({total} in the capture).", selected).format(**fields)
    return t.ngettext("This page holds the first {held} of the {selected} selected frame ({total} in the capture).",
                      "This page holds the first {held} of the {selected} selected frames ({total} in the capture).",
                      selected).format(**fields)


def explorer_data(analysis, chosen=None, lang: str = "en") -> dict:
    """Everything the page's script shows, as JSON-ready data, its texts in `lang`."""
    t = translation(lang)
    selected = len(analysis.frames if chosen is None else chosen)
    frames, cut = select_frames(analysis, chosen)
    # The rows are some hundred thousand small containers (the fields' tuples, the trees' lists):
    # made with the cyclic collector on, its passes over the caller's objects took most of the
    # time. They hold no cycles, so it waits until they are made.
    enabled = gc.isenabled()
    gc.disable()
    try:
        rows, by_size = _rows(analysis, frames, t)
    finally:
        if enabled:
            gc.enable()
    cut = cut or by_size
    return {
        "name": Path(analysis.path).name, "total": analysis.frame_count, "selected": selected,
        "cut": _cut_notice(t, lang, len(rows), selected, analysis.frame_count, by_size) if cut else None,
        "frames": rows, "phases": _translated(vocabulary.PHASES, t), "labels": _translated(vocabulary.LABELS, t),
        "types": FIELD_TYPES, "either": EITHER, "titles": field_titles(t), "i18n": script_catalog(t),
        "conversations": conversations(analysis), "io": io_graph(analysis),
    }


def _rows(analysis, frames: list, t) -> tuple[list[dict], bool]:
    """The page's frames, dissected, with their notes and steps; and whether the byte bound cut."""
    from analysis.read.reader import iter_records

    wanted = {f.number: f for f in frames}
    contexts = tcp_contexts(frames)
    notes = ConnectionNotes(analysis, t, frames)
    rows, size = [], 0
    last = max(wanted, default=0)
    for rec in iter_records(analysis.path) if wanted else ():
        if rec.number > last:
            break
        f = wanted.get(rec.number)
        if f is None:
            continue
        d = dissect(rec.data, rec.linktype, number=rec.number, wirelen=rec.wirelen,
                    ts_ns=rec.ts_ns, tcp_context=contexts.get(rec.number))
        src, dst = _endpoints(f, d)
        row = {"n": f.number, "t": round(f.rel_time, 6), "src": f.src, "dst": f.dst,
               "proto": _PROTOCOLS.get(f.proto, f.proto.upper()), "len": f.len, "info": f.info,
               "phase": f.phase, "label": f.label, "flags": list(f.analysis), "conn": f.conn,
               "client": notes.from_client(f) if f.conn is not None else None,
               "lad": [src, dst], "hex": bytes(rec.data).hex(),
               "tree": [_layer(layer, t) for layer in d.layers],
               "notes": notes.field_notes(d, f), "step": notes.step(f)}
        size += len(json.dumps(row))
        if size > MAX_EMBED_BYTES:
            return rows, True
        rows.append(row)
    return rows, False


def _translated(explanations: dict[str, str], t) -> dict[str, str]:
    return {key: t.gettext(text) for key, text in explanations.items()}


def conversations(analysis) -> dict:
    """Wireshark's Statistics > Conversations, TCP tab, over the whole capture (A: the
    originator); packets and frame bytes each way."""
    originators = Originators(analysis.connections)
    ids = len(originators.ids)
    packets, sizes = np.zeros(2 * ids, np.int64), np.zeros(2 * ids, np.int64)
    for part in field_chunks(analysis.frames, ("conn", "src", "sport", "len")):
        conn = objects(part["conn"])
        pick = np.flatnonzero(conn != None)                   # noqa: E711 (elementwise)
        pos, known = originators.find(conn[pick].astype(np.int64))
        pick, pos = pick[known], pos[known]
        # per connection, [A packets, B packets] side by side: 2 * its index + (0 if A else 1)
        slot = 2 * pos + ~originators.sent_by(pos, objects(part["src"])[pick], objects(part["sport"])[pick])
        packets += np.bincount(slot, minlength=2 * ids)
        sizes += np.bincount(slot, weights=np.asarray(part["len"], np.int64)[pick],
                             minlength=2 * ids).astype(np.int64)       # exact: sums far below 2**53
    first = analysis.frames[:1]
    first = first[0].time if first else 0.0
    rows = []
    shown = analysis.connections[:MAX_CONVERSATIONS]
    pos, _ = originators.find(np.array([conn.id for conn in shown], np.int64))
    for conn, i in zip(shown, pos.tolist()):
        a_pk, b_pk = packets[2 * i:2 * i + 2].tolist()
        a_by, b_by = sizes[2 * i:2 * i + 2].tolist()
        rows.append([conn.id, conn.orig_ip, conn.orig_port, conn.resp_ip, conn.resp_port,
                     a_pk + b_pk, a_by + b_by, a_pk, a_by, b_pk, b_by,
                     round(conn.start - first, 6), round(conn.duration, 6)])
    return {"rows": rows, "total": len(analysis.connections)}


_INTERVALS = (0.001, 0.01, 0.1, 1.0, 10.0, 60.0, 600.0, 3600.0)


def io_graph(analysis) -> dict:
    """Frames and bytes per interval over the whole capture (Statistics > I/O Graphs); the
    interval is the first of 1 ms, 10 ms, ... that gives at most IO_BINS bins."""
    last = analysis.frames[-1:]          # a slice: analyze()'s frames make only that record
    if not last:
        return {"interval": 1.0, "frames": [], "bytes": []}
    span = last[0].rel_time
    interval = next((i for i in _INTERVALS if span / i < IO_BINS), _INTERVALS[-1])
    bins = int(span // interval) + 1
    frames, sizes = np.zeros(bins, np.int64), np.zeros(bins, np.int64)
    for part in field_chunks(analysis.frames, ("rel_time", "len")):
        # numpy's // of floats is Python's (floor of the divmod quotient), clipped before int()
        b = np.clip(np.asarray(part["rel_time"], np.float64) // interval, 0, bins - 1).astype(np.int64)
        frames += np.bincount(b, minlength=bins)
        sizes += np.bincount(b, weights=np.asarray(part["len"], np.int64), minlength=bins).astype(np.int64)
    return {"interval": interval, "frames": frames.tolist(), "bytes": sizes.tolist()}


def _asset(name: str) -> str:
    return resources.files("analysis.report").joinpath("explorer", name).read_text(encoding="utf-8")


def _script_json(data) -> str:
    # inside <script>, "</" would end the element; JSON allows "\/" for "/"
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).replace("</", "<\\/")


def _narrow_notice(data: dict, t: gettext.NullTranslations) -> str:
    """The bound's notice: what the page holds and how to choose other frames (the options and the
    command stay as typed)."""
    code = {key: f"<code>{html.escape(text)}</code>" for key, text in (
        ("command", f"python -m analysis {data['name']} --out DIR"), ("conn", "--conn ID"),
        ("phase", "--phase PHASE"), ("frames", "--frames FROM-TO"), ("filter", "--filter 'tcp.port == 2222'"))}
    how = html.escape(t.gettext("To look at others, narrow what the page holds: {command} with {conn}, {phase}, "
                                "{frames} or {filter}. The tables below the explorer cover the whole capture."))
    return f'<p class="warn" id="x-bound">{html.escape(data["cut"])} {how.format(**code)}</p>'


def render_explorer(analysis, chosen=None, lang: str = "en") -> str:
    """The explorer's HTML section (with its style, data and script inline), in `lang`."""
    t = translation(lang)
    data = explorer_data(analysis, chosen, lang)
    narrow = "" if data["cut"] is None else _narrow_notice(data, t)
    return (f'<h2 id="explorer">{html.escape(t.gettext("Explorer"))}</h2>{narrow}'
            f'<style>{_asset("explorer.css")}</style>'
            + Template(_asset("explorer.html")).substitute(page_texts(t))
            + f'<script type="application/json" id="x-data">{_script_json(data)}</script>'
            + f"<script>{_asset('explorer.js')}</script>")
