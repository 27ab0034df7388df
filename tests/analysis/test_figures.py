"""The figures: what each one draws, read back from the matplotlib artists (not pixels)."""
from __future__ import annotations

import dataclasses
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure

from analysis import analyze
from analysis.columnar.labeled import LazyFrames
from analysis.figures.render import (PHASE_COLORS, figure_png, figure_svg, ladder, ladder_rows,
                              phase_timeline, phase_title, report_figures, save_figure, time_sequence)
from analysis.figures.common import safe_text
from analysis.figures.timeseq import TICK_BINS, _distinct_ticks
from analysis import vocabulary
from analysis.reference import analyze_reference
from tests.analysis.support.conformance import SHIPPED_CAPTURES, conformance_names



def texts(fig: Figure) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts] + [t.get_text() for t in fig.texts]


def test_every_phase_has_a_colour_and_a_title_from_the_vocabulary():
    assert set(PHASE_COLORS) == set(vocabulary.PHASES)
    assert phase_title("arp") == "ARP exchange"
    assert phase_title("handshake") == "TCP three-way handshake"
    assert "teardown" in phase_title("teardown")


def test_ladder_draws_one_arrow_per_frame_with_flags_seq_ack_and_label(default):
    fig = ladder(default)
    drawn = texts(fig)
    arrows = [t for ax in fig.axes for t in ax.texts if getattr(t, "arrow_patch", None) is not None]
    assert len(arrows) == default.frame_count
    for frame in default.frames:
        assert str(frame.number) in drawn, f"frame {frame.number} has no row"
        if frame.flags:
            ack = f" Ack={frame.ack}" if "ACK" in frame.flags else ""
            kind = frame.label + (f" ({frame.direction})" if frame.direction else "")
            assert f"{frame.flags}  Seq={frame.seq}{ack} Len={frame.payload_len}  [{kind}]" in drawn
    assert any("arp-request (opcode 1)" in t for t in drawn)
    assert any("arp-reply (opcode 2)" in t for t in drawn)


def test_ladder_has_client_server_and_broadcast_lanes_and_names_every_phase(default):
    conn = default.connections[0]
    drawn = texts(default_fig := ladder(default))
    heads = [t for t in drawn if t.startswith(("client", "server", "broadcast"))]
    assert heads[0].startswith("client") and f"{conn.orig_ip}:{conn.orig_port}" in heads[0]
    assert heads[1].startswith("server") and f"{conn.resp_ip}:{conn.resp_port}" in heads[1]
    assert heads[2].startswith("broadcast") and "ff:ff:ff:ff:ff:ff" in heads[2]
    joined = "\n".join(drawn).replace("\n", " ")
    for phase in ("arp", "handshake", "data", "teardown"):
        assert phase_title(phase) in joined
    assert default_fig.get_figwidth() < 13 and default_fig.get_figheight() < 16  # one page


def test_ladder_shows_request_and_response_text_at_the_data_arrows(default):
    drawn = texts(ladder(default))
    for exchange in default.exchanges:
        assert f"“{exchange.request}”" in drawn
        assert f"“{exchange.response}”" in drawn


def test_ladder_marks_retransmissions_and_gives_them_the_repeated_text(lossy):
    drawn = texts(ladder(lossy))
    retransmitted = [f for f in lossy.frames if "retransmission" in f.analysis]
    assert retransmitted
    marked = [t for t in drawn if "[retransmission" in t]
    assert len(marked) == len(retransmitted)
    # each data retransmission repeats the text of the segment it resends
    assert all("“" in t for t, f in zip(marked, retransmitted) if f.payload_len)


def test_ladder_selects_phases_and_frame_ranges(default):
    rows = ladder_rows(default, phases="handshake")
    assert [r.frame.label for r in rows] == ["syn", "syn-ack", "handshake-ack"]
    rows = ladder_rows(default, first=3, last=5)
    assert [r.frame.number for r in rows] == [3, 4, 5]


def _long(default):
    """The default session with 400 more data frames in its middle (a plain list of frames)."""
    data = [f for f in default.frames if f.label == "data"]
    extra = [data[i % len(data)] for i in range(400)]
    frames = [f for f in default.frames if f.phase in ("arp", "handshake")] + extra + \
             [f for f in default.frames if f.phase == "teardown"]
    frames = [f._replace(number=i + 1) for i, f in enumerate(frames)]
    return dataclasses.replace(default, frames=frames, frame_count=len(frames))


def test_a_long_capture_is_summarised_keeping_every_frame_accounted_for(default):
    long = _long(default)
    frames = long.frames
    rows = ladder_rows(long, max_rows=40)
    assert len(rows) <= 40
    shown = [r.frame.number for r in rows if r.frame is not None]
    hidden = [f.number for r in rows for f in r.hidden]
    assert sorted(shown + hidden) == [f.number for f in frames]
    assert hidden, "nothing was summarised"
    kept = {f.number for f in frames if f.phase in ("arp", "handshake", "teardown")}
    assert kept <= set(shown)
    fig = ladder(long, max_rows=40)
    assert any("frames not drawn" in t for t in texts(fig))
    assert fig.get_figheight() < 25


@pytest.mark.parametrize("max_rows", [40, 12, 1])     # 12, 1: cut to head, one gap, tail
def test_a_summary_row_says_what_it_stands_for_and_gives_its_frames(default, max_rows):
    rows = ladder_rows(_long(default), max_rows=max_rows)
    summaries = [r.hidden for r in rows if r.frame is None]
    assert summaries
    for hidden in summaries:
        frames = list(hidden)
        assert len(hidden) == len(frames) and hidden == tuple(frames)
        assert (hidden.first, hidden.last) == (frames[0].number, frames[-1].number)
        # what the gap row prints: the count per phase, most first (as Counter.most_common)
        assert hidden.phases == tuple(Counter(f.phase for f in frames).most_common())
        assert hidden[-1] == frames[-1] and hidden[1:3] == frames[1:3]


@pytest.mark.parametrize("name", ["lossy.pcap", "zeek_ftp_ipv4.pcap"])
def test_the_figures_are_the_same_from_lazy_frames_a_list_and_the_reference_engine(name, conformance_dir):
    path = SHIPPED_CAPTURES / name if (SHIPPED_CAPTURES / name).exists() else conformance_dir / "pcaps" / name
    lazy = analyze(path)
    assert isinstance(lazy.frames, LazyFrames)
    engines = (lazy, dataclasses.replace(lazy, frames=list(lazy.frames)), analyze_reference(path))
    conn = lazy.connections[-1].id
    for options in ({}, {"max_rows": 5}, {"max_rows": 1}, {"conn": conn}, {"conn": conn, "max_rows": 3},
                    {"phases": ("data", "teardown"), "max_rows": 4}, {"first": 3, "last": 9}):
        first, *others = (ladder_rows(a, **options) for a in engines)
        assert all(rows == first for rows in others), options
    for draw in (lambda a: ladder(a, max_rows=5), lambda a: phase_timeline(a, max_conns=1),
                 lambda a: phase_timeline(a, max_conns=0)):
        first, *others = (figure_png(draw(a)) for a in engines)
        assert all(png == first for png in others)


def test_the_report_figures_never_make_every_frames_record(lossy, monkeypatch):
    # what keeps a big capture's figures small: rows picked by field (columns), records made
    # only for what is drawn - a pass over every LabeledFrame would hold or make them all
    def every_frame(self):
        raise AssertionError("a figure walked every frame's record")
    monkeypatch.setattr(LazyFrames, "__iter__", every_frame)
    assert [f.name for f in report_figures(lossy)][:2] == ["ladder", "timeline"]


def test_one_connection_of_a_multi_connection_capture(conformance_dir):
    ftp = analyze(conformance_dir / "pcaps" / "zeek_ftp_ipv4.pcap")
    assert len(ftp.connections) > 1
    conn = ftp.connections[1].id
    rows = ladder_rows(ftp, conn=conn)
    assert rows and all(r.frame.conn == conn for r in rows)
    assert len(texts(ladder(ftp, conn=conn))) > len(rows)


def test_time_sequence_marks_retransmissions_only_where_there_are_some(default, lossy):
    clean = texts(time_sequence(default, default.connections[0].id))
    assert not any("retransmitted" in t for t in clean)
    noted = [t for t in texts(time_sequence(lossy, lossy.connections[0].id)) if "retransmitted" in t]
    expected = {f.number for f in lossy.frames
                if set(f.analysis) & {"retransmission", "fast-retransmission", "spurious-retransmission"}}
    assert noted and {int(t.split()[1].rstrip(":")) for t in noted} <= expected
    assert len(noted) == min(len(expected), 6)


def test_time_sequence_plots_each_segment_from_seq_to_seq_plus_len(default):
    fig = time_sequence(default, default.connections[0].id)
    top = fig.axes[0]
    bars = [line for line in top.lines if len(line.get_xdata()) == 2
            and line.get_xdata()[0] == line.get_xdata()[1]]
    requests = [f for f in default.frames if f.direction == "request"]
    assert sorted((b.get_ydata()[0], b.get_ydata()[1]) for b in bars) == \
        sorted((f.seq, f.seq + f.payload_len) for f in requests)


def test_phase_timeline_has_a_row_for_arp_and_each_connection(default):
    fig = phase_timeline(default)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels[0] == "ARP"
    assert any(label.startswith("conn 0") for label in labels)


def test_png_and_svg_output(default, tmp_path):
    fig = ladder(default)
    png = figure_png(fig)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    svg = figure_svg(fig)
    assert svg.lstrip().startswith(("<?xml", "<svg")) and "Hello Server" in svg  # text stays text
    assert save_figure(fig, tmp_path / "l.svg").read_text().count("<svg") == 1
    assert save_figure(fig, tmp_path / "l.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError):
        save_figure(fig, tmp_path / "l.gif")


def test_capture_text_cannot_break_the_drawing():
    assert safe_text("cost $5 or $6\x00") == r"cost \$5 or \$6·"


@pytest.mark.parametrize("name", conformance_names)
def test_every_conformance_capture_draws(name, conformance_dir):
    result = analyze(conformance_dir / "pcaps" / name)
    for fig in (ladder(result), phase_timeline(result)):
        assert isinstance(fig, Figure)
        assert figure_png(fig)[:4] == b"\x89PNG"


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 4 * TICK_BINS), st.integers(0, 2**32 - 1), st.integers(1, 10_000),
       st.floats(1e-6, 1e4))
def test_timeline_ticks_are_thinned_only_within_a_tenth_of_a_pixel(frames, seed, distinct, span):
    # a row's frame times: `distinct` different times (so many frames share one), in any order
    rng = np.random.default_rng(seed)
    times = rng.choice(rng.uniform(0, span, distinct), frames)
    lo, width = float(times.min()), float(np.ptp(times)) or 1e-9
    kept = _distinct_ticks(times, lo, width)
    if frames <= TICK_BINS:
        assert kept.tolist() == times.tolist()
        return
    assert len(kept) <= TICK_BINS + 1
    # kept is a subsequence of the times, in their order
    at = iter(times.tolist())
    assert all(any(t == k for t in at) for k in kept.tolist())
    # and every frame's time is within one bin (1/TICK_BINS of the axis) of a drawn tick
    drawn = np.sort(kept)
    i = np.clip(np.searchsorted(drawn, times), 1, len(drawn) - 1)
    nearest = np.minimum(np.abs(times - drawn[i - 1]), np.abs(times - drawn[i]))
    assert (nearest < width / TICK_BINS).all(), "a frame's tick is dropped with no drawn tick near it"


def test_timeline_draws_every_frame_of_a_lab_capture(default):
    fig = phase_timeline(default)
    ticks = sum(len(line.get_xdata()) for line in fig.axes[0].lines if line.get_marker() == "|")
    assert ticks == default.frame_count
