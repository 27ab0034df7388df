"""The explorer's data without a browser: its passes over every frame (the conversations, the IO
graph, ConnectionNotes' previous frames and FINs) read a few fields with numpy; here they are
checked against the plain loop over the records they replace, on every conformance capture and
the shipped ones, from both engines; and the explorer never makes every frame's record.
"""
from __future__ import annotations

import pytest

from analysis import analyze
from analysis.columnar.labeled import LazyFrames
from analysis.model import FIN
from analysis.reference import analyze_reference
from analysis.report import explorer
from analysis.report.explain import ConnectionNotes
from tests.analysis.support.conformance import CONFORMANCE_DIR, SHIPPED_CAPTURES, conformance_names

CAPTURES = [CONFORMANCE_DIR / "pcaps" / name for name in conformance_names] + [
    SHIPPED_CAPTURES / name for name in ("reqresp.pcap", "lossy.pcap", "refused.pcap")]


@pytest.fixture(scope="module", params=CAPTURES, ids=lambda p: p.name)
def engines(request):
    return analyze(request.param), analyze_reference(request.param)


# -- the loops the passes replace (the explorer's code before it read columns) ------------------

def _loop_conversations(analysis) -> dict:
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
    for conn in analysis.connections[:explorer.MAX_CONVERSATIONS]:
        a_pk, a_by, b_pk, b_by = counts.get(conn.id, [0, 0, 0, 0])
        rows.append([conn.id, conn.orig_ip, conn.orig_port, conn.resp_ip, conn.resp_port,
                     a_pk + b_pk, a_by + b_by, a_pk, a_by, b_pk, b_by,
                     round(conn.start - first, 6), round(conn.duration, 6)])
    return {"rows": rows, "total": len(analysis.connections)}


def _loop_io_graph(analysis) -> dict:
    if not analysis.frames:
        return {"interval": 1.0, "frames": [], "bytes": []}
    span = analysis.frames[-1].rel_time
    interval = next((i for i in explorer._INTERVALS if span / i < explorer.IO_BINS), explorer._INTERVALS[-1])
    bins = int(span // interval) + 1
    frames, sizes = [0] * bins, [0] * bins
    for f in analysis.frames:
        b = min(max(int(f.rel_time // interval), 0), bins - 1)
        frames[b] += 1
        sizes[b] += f.len
    return {"interval": interval, "frames": frames, "bytes": sizes}


def _loop_notes(analysis):
    """(previous of the connection, previous of the side, first FIN's seq) per frame, by loop."""
    notes = ConnectionNotes(analysis)
    prev, same, fins, last, last_side = {}, {}, {}, {}, {}
    for f in analysis.frames:
        if f.conn is None or f.seq is None:
            continue
        side = notes.from_client(f)
        if f.tcp_flags & FIN:
            fins.setdefault((f.conn, side), f.seq + f.payload_len)
        prev[f.number], same[f.number] = last.get(f.conn), last_side.get((f.conn, side))
        last[f.conn] = last_side[(f.conn, side)] = f
    return prev, same, fins


def test_the_conversations_and_io_graph_are_the_loops(engines):
    for analysis in engines:
        assert explorer.conversations(analysis) == _loop_conversations(analysis)
        assert explorer.io_graph(analysis) == _loop_io_graph(analysis)


def test_connection_notes_find_the_previous_frames_and_fins_the_loop_finds(engines):
    for analysis in engines:
        prev, same, fins = _loop_notes(analysis)
        frames = list(analysis.frames)
        every_third = frames[2::3]          # their previous frames are mostly not among them
        for asked in ((), frames, every_third):
            notes = ConnectionNotes(analysis, frames=asked)
            for f in asked or frames:
                assert notes.previous(f) == (prev.get(f.number), same.get(f.number)), f.number
        conns = {f.conn for f in frames if f.conn is not None}
        assert {(c, s): notes.fin_seq(c, s) for c in conns for s in (True, False)} == {
            (c, s): fins.get((c, s)) for c in conns for s in (True, False)}


def test_both_engines_give_the_same_explorer_data(engines):
    columnar, reference = engines
    for chosen in (None, slice(2, None, 3), slice(-7, None)):
        picked = [None, None] if chosen is None else [list(a.frames)[chosen] for a in engines]
        assert explorer.explorer_data(columnar, picked[0], "id") == explorer.explorer_data(
            reference, picked[1], "id")


def test_the_explorer_never_makes_every_frames_record(monkeypatch):
    """analyze()'s frames are made on demand; the explorer reads their columns and slices them
    (the page's own frames, at most MAX_FRAMES, are made: a bound below the capture's 30 here)."""
    monkeypatch.setattr(explorer, "MAX_FRAMES", 12)
    analysis = analyze(SHIPPED_CAPTURES / "lossy.pcap")
    expected = explorer.explorer_data(analysis)

    def refused(self):
        raise AssertionError("a pass over every frame's record")

    monkeypatch.setattr(LazyFrames, "__iter__", refused)
    assert explorer.explorer_data(analysis) == expected
