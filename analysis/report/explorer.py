"""The explorer in report.html: Wireshark's panes for the capture, in one offline page.

The library does the work; the page only shows it. `explorer_data(analysis)` dissects the frames
the page embeds (analysis.dissect: every field with its name, position, size and shown value),
adds the notes and step-mode sentences (explain.py), the conversations and the IO graph's bins
(over the whole capture), and `render_explorer()` writes the HTML section with that JSON and the
page's own script and style (explorer/explorer.js, explorer.css: package data, inlined).

Large captures: the page embeds at most MAX_FRAMES frames and at most MAX_EMBED_BYTES of frame
data (the first frames of the selection), and says so with how to narrow the selection
(--conn, --phase, --frames, --filter); the summary parts of the report still cover every frame.
"""
from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from analysis import vocabulary
from analysis.dissect.core import dissect
from analysis.dissect.capture import tcp_contexts
from analysis.filter.fields import EITHER, FIELD_TYPES
from analysis.report.explain import FIELD_TITLES, ConnectionNotes, shown

MAX_FRAMES = 1000
MAX_EMBED_BYTES = 6_000_000      # of the frames' JSON; the rest of the page stays well under 10 MB
MAX_CONVERSATIONS = 2000
IO_BINS = 200

_PROTOCOLS = {"tcp": "TCP", "udp": "UDP", "arp": "ARP", "rarp": "RARP", "icmp": "ICMP",
              "icmpv6": "ICMPv6", "ipv4": "IPv4", "ipv6": "IPv6", "other": "Ethernet"}


def _tree(field) -> list:
    """A field as the page's compact array: [name, pos, size, show, children...]."""
    node = [field.name, field.pos, field.size, shown(field.name, field.show)]
    if field.children:
        node.append([_tree(child) for child in field.children])
    return node


def _endpoints(frame, dissection) -> tuple[str, str]:
    """The ladder's two columns: IP addresses (ARP: the sender's and target's IP)."""
    if frame.proto in ("arp", "rarp"):
        spa = dissection.find("arp.src.proto_ipv4")
        tpa = dissection.find("arp.dst.proto_ipv4")
        if spa and tpa:
            return spa[0].show, tpa[0].show
    return frame.src, frame.dst


def select_frames(analysis, chosen=None) -> tuple[list, str | None]:
    """The frames the page embeds (of `chosen`, default all) and, when the bound cut some, why."""
    # analysis.frames may be made on demand (analyze()): slice it rather than make every record
    frames = analysis.frames if chosen is None else list(chosen)
    if len(frames) <= MAX_FRAMES:
        return list(frames), None
    return list(frames[:MAX_FRAMES]), f"the first {MAX_FRAMES:,}"


def explorer_data(analysis, chosen=None) -> dict:
    """Everything the page's script shows, as JSON-ready data."""
    from analysis.read.reader import iter_records

    selected = len(analysis.frames if chosen is None else chosen)
    frames, cut = select_frames(analysis, chosen)
    wanted = {f.number: f for f in frames}
    contexts = tcp_contexts(frames)
    notes = ConnectionNotes(analysis)
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
               "tree": [_tree(layer) for layer in d.layers],
               "notes": notes.field_notes(d, f), "step": notes.step(f)}
        size += len(json.dumps(row))
        if size > MAX_EMBED_BYTES:
            cut = f"the first {len(rows):,} (their bytes reach the page's size bound)"
            break
        rows.append(row)
    return {
        "name": Path(analysis.path).name, "total": analysis.frame_count, "selected": selected,
        "cut": None if cut is None else f"This page holds {cut} of the {selected:,} selected "
                                        f"frames ({analysis.frame_count:,} in the capture).",
        "frames": rows, "phases": vocabulary.PHASES, "labels": vocabulary.LABELS,
        "types": FIELD_TYPES, "either": EITHER, "titles": FIELD_TITLES,
        "conversations": conversations(analysis), "io": io_graph(analysis),
    }


def conversations(analysis) -> dict:
    """Wireshark's Statistics > Conversations, TCP tab, over the whole capture (A: the
    originator); packets and frame bytes each way."""
    by_id = {c.id: c for c in analysis.connections}
    counts: dict[int, list[int]] = {}
    for f in analysis.frames:
        conn = by_id.get(f.conn)
        if conn is not None:
            c = counts.setdefault(f.conn, [0, 0, 0, 0])
            side = 0 if (f.src == conn.orig_ip and f.sport == conn.orig_port) else 2
            c[side] += 1
            c[side + 1] += f.len
    first = analysis.frames[0].time if analysis.frames else 0.0
    rows = []
    for conn in analysis.connections[:MAX_CONVERSATIONS]:
        a_pk, a_by, b_pk, b_by = counts.get(conn.id, [0, 0, 0, 0])
        rows.append([conn.id, conn.orig_ip, conn.orig_port, conn.resp_ip, conn.resp_port,
                     a_pk + b_pk, a_by + b_by, a_pk, a_by, b_pk, b_by,
                     round(conn.start - first, 6), round(conn.duration, 6)])
    return {"rows": rows, "total": len(analysis.connections)}


_INTERVALS = (0.001, 0.01, 0.1, 1.0, 10.0, 60.0, 600.0, 3600.0)


def io_graph(analysis) -> dict:
    """Frames and bytes per interval over the whole capture (Statistics > I/O Graphs); the
    interval is the first of 1 ms, 10 ms, ... that gives at most IO_BINS bins."""
    if not analysis.frames:
        return {"interval": 1.0, "frames": [], "bytes": []}
    span = analysis.frames[-1].rel_time
    interval = next((i for i in _INTERVALS if span / i < IO_BINS), _INTERVALS[-1])
    bins = int(span // interval) + 1
    frames, sizes = [0] * bins, [0] * bins
    for f in analysis.frames:
        b = min(max(int(f.rel_time // interval), 0), bins - 1)
        frames[b] += 1
        sizes[b] += f.len
    return {"interval": interval, "frames": frames, "bytes": sizes}


def _asset(name: str) -> str:
    return resources.files("analysis.report").joinpath("explorer", name).read_text(encoding="utf-8")


def _script_json(data) -> str:
    # inside <script>, "</" would end the element; JSON allows "\/" for "/"
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).replace("</", "<\\/")


def render_explorer(analysis, chosen=None) -> str:
    """The explorer's HTML section (with its style, data and script inline)."""
    data = explorer_data(analysis, chosen)
    narrow = ("" if data["cut"] is None else
              f'<p class="warn" id="x-bound">{data["cut"]} To look at others, narrow what the '
              f"page holds: <code>python -m analysis {data['name']} --out DIR</code> with "
              "<code>--conn ID</code>, <code>--phase PHASE</code>, <code>--frames FROM-TO</code> "
              "or <code>--filter 'tcp.port == 2222'</code>. The tables below the explorer cover "
              "the whole capture.</p>")
    return (f'<h2 id="explorer">Explorer</h2>{narrow}<style>{_asset("explorer.css")}</style>'
            + _asset("explorer.html")
            + f'<script type="application/json" id="x-data">{_script_json(data)}</script>'
            + f"<script>{_asset('explorer.js')}</script>")
