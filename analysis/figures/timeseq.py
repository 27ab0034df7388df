"""Figures over real time: the time-sequence (Stevens) graph and the phase timeline.

The time-sequence graph is Wireshark's Statistics > TCP Stream Graphs > Stevens, per direction
of one connection: each data segment a vertical bar from its first to its last relative sequence
number at the time it was sent, the peer's ACKs as a step line under it (and the advertised
window's edge above it), retransmissions marked - a retransmitted segment is a bar that goes back
down to sequence numbers already sent.

The phase timeline shows the whole capture: one row per TCP connection (and one for ARP, one for
other traffic), each frame a tick coloured by phase, each phase's span shaded.
"""
from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from analysis.figures.common import (PHASE_CODES, PHASE_COLORS, TROUBLE_COLOR, conn_ids, new_figure,
                                     phase_codes, phase_title, retransmissions)
from analysis.frame_fields import field_chunks
from analysis.i18n import translation
from analysis.model import ACK, FIN, SYN, LabeledFrame
from analysis.tcp.measures import is_retransmission

_PHASE_NAMES = tuple(PHASE_CODES)
_MAX_NOTES = 6      # retransmissions named by frame number on a graph; the rest only marked


def _time_unit(span: float) -> tuple[float, str]:
    """Milliseconds for a lab session (a few ms), seconds for anything longer."""
    return (1000.0, "ms") if span < 2.0 else (1.0, "s")


# --- time-sequence ------------------------------------------------------------------------------

class _CompressedTime:
    """Real time -> x axis, with long idle gaps cut to a narrow band marked as skipped.

    A lab session is a few milliseconds of traffic with, under loss, a one-second retransmission
    timeout in the middle; on a linear axis every data segment would fall on one vertical line.
    A gap is cut when it is over a tenth of the span and 30 times the typical gap."""

    def __init__(self, times: list[float]) -> None:
        points = sorted(set(times)) or [0.0]
        self.start = points[0]
        span = points[-1] - points[0]
        positive = sorted(b - a for a, b in zip(points, points[1:]) if b > a)
        typical = positive[len(positive) // 2] if positive else 0.0
        self.cuts = [(a, b) for a, b in zip(points, points[1:])
                     if span > 0 and b - a > 0.1 * span and b - a > 30 * typical]
        kept = span - sum(b - a for a, b in self.cuts)
        self.band = kept * 0.12 if kept > 0 else max(span, 1e-6) * 0.05

    def x(self, t: float) -> float:
        shift = 0.0
        for a, b in self.cuts:
            if t >= b:
                shift += (b - a) - self.band
            elif t > a:     # inside a cut: squeeze proportionally into the band
                return a - self.start - shift + (t - a) / (b - a) * self.band
        return t - self.start - shift

    def t(self, x: float) -> float | None:
        """The real time (since start) at x, None inside a skipped band."""
        for a, b in self.cuts:
            xa = self.x(a)
            if x <= xa:
                break
            if x < xa + self.band:
                return None
        shift = sum((b - a) - self.band for a, b in self.cuts if self.x(b) <= x)
        return x + shift

    def mark(self, ax, scale: float, unit: str) -> None:
        from matplotlib.ticker import FuncFormatter

        def label(x, _pos):
            real = self.t(x / scale)
            return "" if real is None else f"{real * scale:.4g}"
        ax.xaxis.set_major_formatter(FuncFormatter(label))
        for a, b in self.cuts:
            left = self.x(a) * scale
            ax.axvspan(left, left + self.band * scale, color="#eeeeee", hatch="//", ec="#cccccc",
                       lw=0, zorder=0)
            ax.text(left + self.band * scale / 2, 0.5, f"{(b - a) * scale:.4g} {unit} skipped",
                    rotation=90, ha="center", va="center", fontsize=7.5, color="#666666",
                    transform=ax.get_xaxis_transform())


def time_sequence(analysis, conn: int, *, title: str | None = None, lang: str = "en") -> Figure:
    """Stevens graph of connection `conn`: client -> server on top, server -> client below."""
    t = translation(lang)
    connection = analysis.connection(conn)
    frames = analysis.frames_of(conn)
    client = (connection.orig_ip, connection.orig_port)
    server = (connection.resp_ip, connection.resp_port)
    axis = _CompressedTime([f.rel_time for f in frames])
    span = max((f.rel_time for f in frames), default=0.0) - axis.start
    scale, unit = _time_unit(span)

    fig = new_figure(10, 7.2)
    axes = fig.subplots(2, 1, sharex=True)
    drawn: set[str] = set()
    for ax, sender, receiver, name in (
            (axes[0], client, server, t.gettext("requests")), (axes[1], server, client, t.gettext("responses"))):
        drawn |= _stevens(ax, frames, sender, receiver, axis, scale, t)
        ax.set_title(f"{sender[0]}:{sender[1]} → {receiver[0]}:{receiver[1]} ({name})",
                     fontsize=10, loc="left")
        ax.set_ylabel(t.gettext("relative sequence number (bytes)"))
        ax.grid(True, color="#e5e5e5", lw=0.6)
        axis.mark(ax, scale, unit)
    axes[1].set_xlabel(t.gettext("time since the connection's first frame ({unit})").format(unit=unit))
    legend = {
        "data": Line2D([], [], color=PHASE_COLORS["data"], lw=2.5, label=t.gettext("data segment (seq … seq+len)")),
        "retransmission": Line2D([], [], color=TROUBLE_COLOR, lw=2.5, marker="x", label=t.gettext("retransmission")),
        "syn": Line2D([], [], color=PHASE_COLORS["handshake"], marker="^", ls="", label="SYN"),
        "fin": Line2D([], [], color=PHASE_COLORS["teardown"], marker="v", ls="", label="FIN"),
        "ack": Line2D([], [], color="#2ca02c", drawstyle="steps-post", label=t.gettext("ACK from the peer")),
        "window": Line2D([], [], color="#aaaaaa", ls=":", drawstyle="steps-post",
                         label=t.gettext("ACK + window (receiver's limit)")),
    }
    handles = [handle for key, handle in legend.items() if key in drawn]
    fig.legend(handles=handles, loc="lower center", ncol=3, fontsize=8, frameon=False)
    retrans = sum(1 for f in frames if is_retransmission(f))
    fig.suptitle(title or t.ngettext(
        "{name}: time-sequence graph (Stevens), connection {conn} - {count} retransmission",
        "{name}: time-sequence graph (Stevens), connection {conn} - {count} retransmissions",
        retrans).format(name=Path(analysis.path).name, conn=conn, count=retrans),
                 fontsize=11, weight="bold")
    fig.subplots_adjust(left=0.09, right=0.97, top=0.9, bottom=0.17, hspace=0.3)
    return fig


def _stevens(ax, frames: list[LabeledFrame], sender, receiver, axis: _CompressedTime,
             scale: float, tr=None) -> set[str]:
    """Draw one direction; return what was drawn (for the legend); texts in the language of `tr`."""
    tr = translation("en") if tr is None else tr
    sent = [f for f in frames if (f.src, f.sport) == sender]
    acks = [f for f in frames if (f.src, f.sport) == receiver and f.tcp_flags & ACK]
    drawn: set[str] = set()
    notes: list[tuple[float, float]] = []
    right = axis.x(max((f.rel_time for f in frames), default=0.0)) * scale
    for frame in sent:
        t = axis.x(frame.rel_time) * scale
        seq = frame.seq or 0
        trouble = is_retransmission(frame)
        if frame.payload_len > 0:
            color = TROUBLE_COLOR if trouble else PHASE_COLORS["data"]
            ax.plot([t, t], [seq, seq + frame.payload_len], color=color, lw=2.5,
                    marker="_", markersize=7, solid_capstyle="butt", zorder=3)
            drawn.add("data")
        flags = frame.tcp_flags
        if flags & (SYN | FIN):
            marker, phase = ("^", "handshake") if flags & SYN else ("v", "teardown")
            ax.plot([t], [seq], marker=marker, ls="", zorder=3, markersize=7,
                    color=TROUBLE_COLOR if trouble else PHASE_COLORS[phase])
            drawn.add("syn" if flags & SYN else "fin")
        if trouble:
            drawn.add("retransmission")
            top = seq + frame.payload_len
            ax.plot([t], [top], marker="x", color=TROUBLE_COLOR, markersize=8, mew=2, zorder=4)
            if len(notes) < _MAX_NOTES:
                # Stack the notes of retransmissions that land on the same spot.
                stack = sum(1 for nt, ny in notes if abs(nt - t) < 0.05 * max(right, 1e-9) and ny == top)
                near_right = right > 0 and t > 0.75 * right
                ax.annotate(tr.gettext("frame {frame}: {label} retransmitted").format(
                    frame=frame.number, label=frame.label), (t, top),
                            xytext=(-6 if near_right else 6, 6 + 11 * stack), textcoords="offset points",
                            fontsize=7.5, color=TROUBLE_COLOR, ha="right" if near_right else "left")
                notes.append((t, top))
    if acks:
        times = [axis.x(f.rel_time) * scale for f in acks]
        ax.plot(times, [f.ack for f in acks], drawstyle="steps-post", color="#2ca02c", lw=1.2, zorder=2)
        drawn.add("ack")
        top = max(((f.seq or 0) + f.payload_len for f in sent), default=0)
        # The window's edge is usually far above a lab's few hundred bytes: draw it only where
        # it fits on the graph, so the segments stay readable.
        ceiling = max(top * 1.6, top + 40)
        edge = [(t, f.ack + f.window) for t, f in zip(times, acks)
                if f.window is not None and f.window >= 0 and f.ack + f.window <= ceiling]
        if edge:
            ax.plot([t for t, _ in edge], [w for _, w in edge], drawstyle="steps-post",
                    color="#aaaaaa", ls=":", lw=1.0, zorder=1)
            drawn.add("window")
    if not sent:
        ax.text(0.5, 0.5, tr.gettext("no segments in this direction"), transform=ax.transAxes, ha="center",
                color="#666666")
    return drawn


# --- phase timeline -----------------------------------------------------------------------------

class _Sweep(NamedTuple):
    """What the timeline needs of every frame, read in one pass of a few fields (field_chunks:
    the lazy frames' columns, no record made) into arrays, one value per frame."""

    time: np.ndarray            # rel_time
    phase: np.ndarray           # PHASE_CODES
    conn: np.ndarray            # the connection id, -1 for none
    bad: np.ndarray             # a retransmission
    end: float                  # the last frame's time
    session: tuple[float, float] | None     # first and last time of a frame not "other"
    present: set[str]           # the phases seen
    retransmission: bool        # whether any frame is a retransmission


def _sweep(analysis) -> _Sweep:
    parts: list[tuple[np.ndarray, ...]] = []
    for part in field_chunks(analysis.frames, ("rel_time", "phase", "conn", "analysis")):
        parts.append((np.asarray(part["rel_time"], np.float64), phase_codes(part["phase"]),
                      conn_ids(part["conn"]), retransmissions(part["analysis"])))
    time, phase, conn, bad = (np.concatenate(column) for column in zip(*parts)) if parts else (
        np.zeros(0), np.zeros(0, np.int8), np.zeros(0, np.int64), np.zeros(0, bool))
    session = time[phase != PHASE_CODES["other"]]
    return _Sweep(time, phase, conn, bad, float(time.max()) if len(time) else 0.0,
                  (float(session.min()), float(session.max())) if len(session) else None,
                  {_PHASE_NAMES[code] for code in np.unique(phase).tolist()}, bool(bad.any()))


def _rows(analysis, sweep: _Sweep, max_conns: int, t) -> list[tuple[str, np.ndarray]]:
    """(label, the row's frames as indexes into the sweep's arrays, in the row's order)."""
    rows: list[tuple[str, np.ndarray]] = []
    arp = np.flatnonzero(sweep.phase == PHASE_CODES["arp"])
    if len(arp):
        rows.append(("ARP", arp))
    connections = analysis.connections
    # each frame's connection's place in analysis.connections (-1: none, or not listed)
    rank = np.full(max([c.id for c in connections] + [int(sweep.conn.max(initial=-1))]) + 2, -1, np.int64)
    rank[[c.id for c in connections]] = np.arange(len(connections))
    place = rank[sweep.conn]
    # the frames of the first max_conns connections, each connection's in capture order
    by_place = np.flatnonzero((place >= 0) & (place < max_conns))
    by_place = by_place[np.argsort(place[by_place], kind="stable")]
    bounds = np.searchsorted(place[by_place], np.arange(min(max_conns, len(connections)) + 1))
    for index, connection in enumerate(connections[:max_conns]):
        rows.append((t.gettext("conn {conn}").format(conn=connection.id) + f"\n{connection.orig}\n→ {connection.resp}",
                     by_place[bounds[index]:bounds[index + 1]]))
    # the others' frames on one row, connection after connection
    rest = np.flatnonzero(place >= max_conns)
    if len(rest):
        rows.append((t.gettext("{count} more\nconnections").format(count=len(connections) - max_conns),
                     rest[np.argsort(place[rest], kind="stable")]))
    other = np.flatnonzero((sweep.conn < 0) & (sweep.phase != PHASE_CODES["arp"]))
    if len(other):
        rows.append((t.gettext("other"), other))
    return rows


def _bars(ax, left: np.ndarray, width: np.ndarray, yrange: tuple[float, float], **kwargs) -> None:
    """Axes.broken_barh(zip(left, width), yrange, **kwargs), the rectangles made at once: it
    converts each range's units in Python, a second for the tens of thousands of runs of a big
    capture's "more connections" row. The same vertices, by the same float operations."""
    ypos, height = yrange
    y0, y1 = ypos, ypos + ((ypos + height) - ypos)      # broken_barh's _convert_dx of the height
    vertices = np.empty((len(left), 4, 2))
    vertices[:, :2, 0], vertices[:, 2:, 0] = left[:, None], (left + width)[:, None]
    vertices[:, (0, 3), 1], vertices[:, (1, 2), 1] = y0, y1
    ax.add_collection(PolyCollection(vertices, **kwargs))


TICK_BINS = 8192    # a row's ticks kept per 1/TICK_BINS of the axis: 0.1 px apart at 100 dpi


def _distinct_ticks(times: np.ndarray, lo: float, width: float) -> np.ndarray:
    """The times of one row's ticks of one phase (in their order), the first kept per 1/TICK_BINS of the
    axis: the ticks dropped fall within a tenth of a pixel of one drawn (the figure is 10 in at
    100 dpi), so the picture is the same, while a row of 18,000 connections draws ~8k markers,
    not a quarter of a million (most of a big capture's timeline time and memory)."""
    if len(times) <= TICK_BINS:
        return times
    bins = np.floor((times - lo) * (TICK_BINS / width)).astype(np.int64)
    return times[np.sort(np.unique(bins, return_index=True)[1])]


def _draw_rows(ax, rows, sweep: _Sweep, lo: float, hi: float, scale: float) -> None:
    width = max(hi - lo, 1e-9)
    for index, (_, at) in enumerate(rows):
        at = at[(lo <= sweep.time[at]) & (sweep.time[at] <= hi)]
        if not len(at):
            continue
        time, phase = sweep.time[at], sweep.phase[at]
        # Shaded spans: consecutive frames of one phase, at least 0.4 % of the axis wide.
        # one broken_barh per phase and row: a row of thousands of connections has thousands
        # of runs, and an artist each made matplotlib the slowest part of a report
        starts = np.flatnonzero(np.concatenate(([True], phase[1:] != phase[:-1])))
        ends = np.append(starts[1:], len(at)) - 1
        left, run_phase = time[starts], phase[starts]
        span = np.maximum(time[ends] - left, width * 0.004)
        codes, first = np.unique(run_phase, return_index=True)
        for code in codes[np.argsort(first)].tolist():     # in order of each phase's first run
            mine = run_phase == code
            _bars(ax, left[mine] * scale, span[mine] * scale, (index - 0.32, 0.64),
                  color=PHASE_COLORS[_PHASE_NAMES[code]], alpha=0.22, lw=0)
        for code, name in enumerate(_PHASE_NAMES):
            times = (_distinct_ticks(time[phase == code], lo, width) * scale).tolist()
            if times:
                ax.plot(times, [index] * len(times), ls="", marker="|", markersize=14, mew=1.4,
                        color=PHASE_COLORS[name])
        bad = (_distinct_ticks(time[sweep.bad[at]], lo, width) * scale).tolist()
        if bad:
            ax.plot(bad, [index + 0.42] * len(bad), ls="", marker="v", color=TROUBLE_COLOR, markersize=6)
    ax.set_yticks(range(len(rows)), [name for name, _ in rows], fontsize=8)
    ax.set_ylim(max(len(rows), 1) - 0.5, -0.5)    # no rows (an empty capture): one empty row
    ax.grid(True, axis="x", color="#e5e5e5", lw=0.6)


def phase_timeline(analysis, *, max_conns: int = 30, title: str | None = None, lang: str = "en") -> Figure:
    """The whole capture on a time axis: a row per connection (and ARP, other), ticks by phase.

    When the session itself fills only a sliver of the capture (a stray frame seconds later), a
    second panel zooms into the session."""
    t = translation(lang)
    sweep = _sweep(analysis)
    rows = _rows(analysis, sweep, max_conns, t)
    end = sweep.end
    zoom = None
    if sweep.session and end > 0:
        lo, hi = sweep.session
        if hi - lo < 0.15 * end:
            pad = max((hi - lo) * 0.04, 1e-6)
            zoom = (lo - pad, hi + pad)
    height = 1.0 + 0.55 * len(rows)
    fig = new_figure(10, (height * 2 + 0.6) if zoom else height + 0.9)
    panels = fig.subplots(2 if zoom else 1, 1, squeeze=False)[:, 0]
    scale, unit = _time_unit(end)
    _draw_rows(panels[0], rows, sweep, 0.0, end, scale)
    panels[0].set_xlabel(t.gettext("time since the first frame ({unit})").format(unit=unit), fontsize=9)
    if zoom:
        zscale, zunit = _time_unit(zoom[1])
        _draw_rows(panels[1], rows, sweep, zoom[0], zoom[1], zscale)
        panels[1].set_xlim(zoom[0] * zscale, zoom[1] * zscale)
        panels[1].set_xlabel(t.gettext("zoom on the session: time since the first frame ({unit})").format(unit=zunit),
                             fontsize=9)
        panels[0].axvspan(zoom[0] * scale, zoom[1] * scale, color="#ffe9a8", alpha=0.6, lw=0, zorder=0)
    present = [p for p in PHASE_COLORS if p in sweep.present]
    handles = [Patch(color=PHASE_COLORS[p], label=phase_title(p, t)) for p in present]
    if sweep.retransmission:
        handles.append(Line2D([], [], marker="v", ls="", color=TROUBLE_COLOR, label=t.gettext("retransmission")))
    fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 4) or 1, fontsize=8,
               frameon=False)
    conns = len(analysis.connections)
    fig.suptitle(title or "{name}: {what} ({frames}, {conns})".format(
        name=Path(analysis.path).name, what=t.gettext("phases over time"),
        frames=t.ngettext("{count} frame", "{count} frames", analysis.frame_count).format(count=analysis.frame_count),
        conns=t.ngettext("{count} connection", "{count} connections", conns).format(count=conns)),
                 fontsize=11, weight="bold")
    fig.subplots_adjust(left=0.2, right=0.98, top=1 - 0.45 / fig.get_figheight(),
                        bottom=0.95 / fig.get_figheight(), hspace=0.55)
    return fig
