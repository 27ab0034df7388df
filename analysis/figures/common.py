"""What the figures share: phase colours and titles, the Agg-bound Figure, rendering to bytes.

Kept apart from figures.py (the facade) so figures_ladder.py and figures_time.py can import it
without a cycle.
"""
from __future__ import annotations

import base64
import functools
import io
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from analysis import vocabulary
from analysis.vocabulary import RETRANSMISSION_FLAGS

# One colour per phase (colour-blind-safe Okabe-Ito hues), so every figure reads the same way.
PHASE_COLORS: dict[str, str] = {
    "arp": "#8e44ad",        # purple
    "handshake": "#009e73",  # green
    "data": "#0072b2",       # blue
    "teardown": "#e69f00",   # orange
    "reset": "#d55e00",      # vermilion
    "other": "#7f7f7f",      # grey
}
# Retransmissions and other trouble are marked in this colour on top of the phase colour.
TROUBLE_COLOR = "#cc0000"
# A phase as a small integer (its place in PHASE_COLORS), for the per-frame arrays the figures
# pick rows with instead of holding every frame's record.
PHASE_CODES: dict[str, int] = {phase: code for code, phase in enumerate(PHASE_COLORS)}


def phase_codes(phases: list[str]) -> np.ndarray:
    """The phase names of a field_chunks part as PHASE_CODES."""
    return np.fromiter(map(PHASE_CODES.__getitem__, phases), np.int8, len(phases))


def conn_ids(conns: list[int | None]) -> np.ndarray:
    """The `conn` field of a part as integers, -1 for a frame of no connection (through floats:
    None becomes NaN in C, not in a Python loop; stream ids are far below 2**53)."""
    ids = np.array(conns, dtype=np.float64)
    return np.where(np.isnan(ids), -1, ids).astype(np.int64)


def retransmissions(analysis: list[tuple[str, ...]]) -> np.ndarray:
    """Which frames of a part are retransmissions (measures.is_retransmission), from their
    `analysis` tuples: the distinct tuples are few, so each is judged once."""
    flagged = {a for a in set(analysis) if not set(RETRANSMISSION_FLAGS).isdisjoint(a)}
    if not flagged:
        return np.zeros(len(analysis), bool)
    return np.fromiter(map(flagged.__contains__, analysis), bool, len(analysis))


def phase_title(phase: str, t=None) -> str:
    """The phase's name as the vocabulary explains it: 'ARP exchange', 'TCP three-way handshake'...

    Taken from the explanation's first clause so the figures never invent a second set of names;
    the phase key is added when the title does not already say it ('Connection termination
    (teardown)')."""
    explanation = vocabulary.PHASES[phase] if t is None else t.gettext(vocabulary.PHASES[phase])
    title = explanation.split(":", 1)[0].strip()
    return title if phase.lower() in title.lower() else f"{title} ({phase})"


def safe_text(text: str) -> str:
    """Capture-supplied text made safe to draw: characters the font has no glyph for (control
    bytes, binary payload read as text) become '·', and a bare `$` is escaped (matplotlib would
    read a pair of them as mathtext)."""
    glyphs = _glyphs()
    return "".join(c if c.isprintable() and ord(c) in glyphs else "·" for c in text).replace("$", r"\$")


def _drawable(code: int) -> bool:
    # Left-to-right scripts up to Cyrillic/Armenian, and the punctuation and arrows block; the
    # font's Arabic/Hebrew entries need shaping matplotlib does not do.
    return code < 0x0590 or 0x2000 <= code < 0x2400


@functools.lru_cache(maxsize=1)
def _glyphs() -> frozenset[int]:
    from matplotlib import font_manager, ft2font

    font = ft2font.FT2Font(font_manager.findfont(font_manager.FontProperties(family=["sans-serif"])))
    return frozenset(code for code in font.get_charmap() if _drawable(code))


def new_figure(width: float, height: float) -> Figure:
    """A Figure bound to the Agg canvas (raster and vector output, no display needed)."""
    fig = Figure(figsize=(width, height), layout=None)
    FigureCanvasAgg(fig)
    return fig


def figure_png(fig: Figure, dpi: int = 100) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, facecolor="white")
    return buffer.getvalue()


def figure_svg(fig: Figure) -> str:
    buffer = io.StringIO()
    # Text stays text (not outlined paths): smaller files, and the labels can be searched and
    # copied when the SVG is opened in a browser.
    with _rc({"svg.fonttype": "none"}):
        fig.savefig(buffer, format="svg", facecolor="white")
    return buffer.getvalue()


def data_uri(fig: Figure, fmt: str = "png", dpi: int = 100) -> str:
    """The figure as a `data:` URI, for a self-contained HTML page."""
    if fmt == "svg":
        payload = base64.b64encode(figure_svg(fig).encode("utf-8")).decode("ascii")
        return "data:image/svg+xml;base64," + payload
    return "data:image/png;base64," + base64.b64encode(figure_png(fig, dpi)).decode("ascii")


def save_figure(fig: Figure, path: str | Path, dpi: int = 100) -> Path:
    """Write the figure as PNG or SVG, chosen by the file's suffix."""
    path = Path(path)
    if path.suffix.lower() == ".svg":
        path.write_text(figure_svg(fig), encoding="utf-8")
    elif path.suffix.lower() == ".png":
        path.write_bytes(figure_png(fig, dpi))
    else:
        raise ValueError(f"{path}: figures are written as .png or .svg")
    return path


def _rc(params: dict):
    import matplotlib
    return matplotlib.rc_context(params)
