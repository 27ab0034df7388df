"""The pictures a student would otherwise take from Wireshark: ladder, time-sequence, timeline.

    from analysis import analyze
    from analysis.figures import ladder, time_sequence, phase_timeline, save_figure
    result = analyze("reqresp.pcap")
    fig = ladder(result)                 # Wireshark's Flow Graph: one arrow per frame
    save_figure(fig, "ladder.png")       # or .svg; figure_png(fig) / figure_svg(fig) give bytes/text

Every function returns a `matplotlib.figure.Figure` built without pyplot: no global figure
registry, no GUI backend, nothing shown - the caller saves it, embeds it or lets Jupyter show it.
The drawing lives in figures_ladder.py and figures_time.py, what they share (phase colours
and titles, rendering to bytes) in figures_common.py; this module is the one to import.
"""
from __future__ import annotations

from .figures_common import (PHASE_COLORS, RETRANSMISSION_FLAGS, TROUBLE_COLOR, data_uri,
                             figure_png, figure_svg, new_figure, phase_title, save_figure)
from .figures_ladder import LadderRow, ladder, ladder_rows
from .figures_time import phase_timeline, time_sequence

__all__ = ["PHASE_COLORS", "TROUBLE_COLOR", "RETRANSMISSION_FLAGS", "phase_title", "ladder",
           "ladder_rows", "LadderRow", "time_sequence", "phase_timeline", "figure_png",
           "figure_svg", "data_uri", "save_figure", "new_figure"]
