"""The pictures a student would otherwise take from Wireshark: ladder, time-sequence, timeline.

    from analysis import analyze
    from analysis.figures.render import ladder, time_sequence, phase_timeline, save_figure
    result = analyze("reqresp.pcap")
    fig = ladder(result)                 # Wireshark's Flow Graph: one arrow per frame
    save_figure(fig, "ladder.png")       # or .svg; figure_png(fig) / figure_svg(fig) give bytes/text

Every function returns a `matplotlib.figure.Figure` built without pyplot: no global figure
registry, no GUI backend, nothing shown - the caller saves it, embeds it or lets Jupyter show it.
The drawing lives in figures_ladder.py and figures_time.py, what they share (phase colours
and titles, rendering to bytes) in figures_common.py; this module is the one to import.
"""
from __future__ import annotations

from typing import NamedTuple

from matplotlib.backends.backend_agg import FigureCanvasAgg

from analysis.figures.common import (PHASE_COLORS, TROUBLE_COLOR, data_uri, figure_png, figure_svg, new_figure,
                             phase_title, save_figure)
from analysis.figures.ladder import LadderRow, ladder, ladder_rows
from analysis.figures.timeseq import phase_timeline, time_sequence
from analysis.i18n import translation
from analysis.vocabulary import RETRANSMISSION_FLAGS

__all__ = ["PHASE_COLORS", "TROUBLE_COLOR", "RETRANSMISSION_FLAGS", "phase_title", "ladder",
           "ladder_rows", "LadderRow", "time_sequence", "phase_timeline", "figure_png",
           "figure_svg", "data_uri", "save_figure", "new_figure", "ReportFigure", "report_figures"]


class ReportFigure(NamedTuple):
    """A figure rendered for a report: file stem, heading, one-paragraph caption, the bytes."""

    name: str           # file stem: "ladder", "timeline", "tseq-conn0"
    title: str
    caption: str
    png: bytes
    svg: str | None     # kept for the ladder (ladder.svg)


def report_figures(analysis, *, max_conns: int = 4, max_rows: int = 60,
                   lang: str = "en") -> list[ReportFigure]:
    """The figures a report shows, rendered once (the HTML embeds them, the files hold them),
    their titles, labels, legends and captions in `lang`.
    A capture without frames has nothing to draw: no figures (the report says 0 frames)."""
    _ = translation(lang).gettext
    figures: list[ReportFigure] = []
    if not analysis.frames:
        return figures
    fig = ladder(analysis, max_rows=max_rows, lang=lang)
    figures.append(ReportFigure(
        "ladder", _("Ladder diagram"),
        _("One arrow per frame, time going down: flags, relative Seq/Ack, payload length and the "
          "frame's label, coloured by phase; the request and response text under the data arrows; "
          "each phase bracketed on the right (Wireshark: Statistics > Flow Graph)."),
        *_rendered(fig, svg=True)))
    fig = phase_timeline(analysis, lang=lang)
    figures.append(ReportFigure(
        "timeline", _("Phase timeline"),
        _("Every frame of the capture on a time axis, one row per TCP connection (and ARP, other "
          "traffic), coloured by phase."), *_rendered(fig)))
    for connection in analysis.connections[:max_conns]:
        fig = time_sequence(analysis, connection.id, lang=lang)
        figures.append(ReportFigure(
            f"tseq-conn{connection.id}", _("Time-sequence graph, connection {conn}").format(conn=connection.id),
            _("Each data segment is a bar from its first to its last relative sequence number at "
              "the time it was sent; the green steps are the peer's ACKs; retransmissions are red "
              "(Wireshark: Statistics > TCP Stream Graphs > Stevens)."), *_rendered(fig)))
    return figures


def _rendered(fig, svg: bool = False) -> tuple[bytes, str | None]:
    """The figure's PNG (and SVG), then the figure emptied: a Figure and its canvas refer to each
    other, so a dropped one waits for the cyclic collector with its drawing and its renderer's
    pixel buffer (the ladder of a many-host capture: 2665 x 3180 pixels, 34 MB), while the next
    figure is drawn beside it."""
    png, text = figure_png(fig), figure_svg(fig) if svg else None
    fig.clear()
    FigureCanvasAgg(fig)      # a new canvas: the old one, with its renderer, goes now
    return png, text
