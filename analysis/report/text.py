"""The human-readable report: frames grouped by phase, then connections, then exchanges.

`render_plain()` returns plain text (for pipes and files); `render_rich()` prints rich tables to a
terminal console. Both are built from the same `sections()`, so they always say the same thing.

Language: the renderers take `lang` ("en" default, "id"); sections() takes its gettext translation
`t` (analysis.i18n.translation(lang); None: English). Titles and notes come translated from
sections(); the column names stay English there (the renderers test them, e.g. html's numeric
columns) and each renderer translates them with `column_names()`.
"""
from __future__ import annotations

from typing import Iterable, NamedTuple

from analysis import vocabulary
from analysis.filter.exact import phase_filters
from analysis.frame_fields import field_chunks, take
from analysis.i18n import N_, translation
from analysis.model import LabeledFrame


class Section(NamedTuple):
    title: str
    note: str                       # one-line explanation (and the Wireshark filter)
    columns: tuple[str, ...]        # English names (translated by the renderer: column_names())
    rows: list[tuple[str, ...]]
    kind: str = ""                  # "phase:<name>" | "connections" | "exchanges" (any language)


def english(t=None):
    """`t`, or the English 'translation' (the messages as written)."""
    return translation("en") if t is None else t


def column_names(columns, t=None) -> list[str]:
    return [english(t).gettext(c) for c in columns]


def headline(analysis, t=None) -> str:
    """'12 frames, 1 TCP connection, 3 exchanges' in t's language."""
    t = english(t)
    return ", ".join([
        t.ngettext("{count} frame", "{count} frames", analysis.frame_count).format(count=analysis.frame_count),
        t.ngettext("{count} TCP connection", "{count} TCP connections", len(analysis.connections)).format(
            count=len(analysis.connections)),
        t.ngettext("{count} request/response exchange", "{count} request/response exchanges",
                   len(analysis.exchanges)).format(count=len(analysis.exchanges))])


# An exact frame filter longer than this is left out (a long capture's data phase).
_MAX_FILTER = 400
FRAME_COLUMNS = (N_("No."), N_("Time"), N_("Source"), N_("Destination"), N_("Flags"), N_("Length"),
                 N_("Label"), N_("Analysis"), N_("Info"))


def _endpoint(ip: str, port: int | None) -> str:
    if port is None:
        return ip
    return f"[{ip}]:{port}" if ":" in ip and "." not in ip and ip.count(":") > 1 else f"{ip}:{port}"


def frame_row(frame: LabeledFrame) -> tuple[str, ...]:
    label = frame.label + (f" ({frame.direction})" if frame.direction else "")
    return (str(frame.number), f"{frame.rel_time:.6f}", _endpoint(frame.src, frame.sport),
            _endpoint(frame.dst, frame.dport), frame.flags, str(frame.len), label,
            ",".join(frame.analysis), frame.info)


def _phase_filter_note(exact_filters: dict[str, str], phase: str, t) -> str:
    # the filter selecting exactly these frames (analysis/filter/exact.py); a long one gives way
    # to the general filter of this kind of frame, said to be no more than that
    exact = exact_filters.get(phase, "")
    if exact and len(exact) <= _MAX_FILTER:
        return t.gettext("Wireshark filter (exactly these frames): {filter}").format(filter=exact)
    return t.gettext("Wireshark filter for this kind of frame (not exactly these): {filter}").format(
        filter=vocabulary.PHASE_FILTERS[phase])


# A report lists at most this many rows per phase, connections and exchanges, and says so; the
# counts and the phase filters cover every frame, and frames.csv / analysis.json hold them all.
MAX_ROWS = 1000


def _bounded(note: str, shown: int, total: int, t) -> str:
    if shown >= total:
        return note
    return note + " " + t.gettext("Listed: the first {shown} of {total}; frames.csv and "
                                  "analysis.json have every one.").format(shown=shown, total=total)


def sections(analysis, frames: Iterable[LabeledFrame] | None = None, t=None) -> list[Section]:
    t = english(t)
    # analysis.frames may be made on demand (analyze()): read by field, never listed whole
    chosen = analysis.frames if frames is None or frames is analysis.frames else list(frames)
    exact_filters = phase_filters(analysis, chosen)   # every phase's at once: one pass over the frames
    counts: dict[str, int] = {}
    picked: dict[str, list[int]] = {}   # phase -> positions of its first MAX_ROWS frames
    position = 0
    for part in field_chunks(chosen, ("phase",)):
        for phase in part["phase"]:
            seen = counts.get(phase, 0)
            counts[phase] = seen + 1
            if seen < MAX_ROWS:
                picked.setdefault(phase, []).append(position)
            position += 1
    # only the listed frames become records (a few thousand of a big capture's frames)
    positions = sorted(p for ps in picked.values() for p in ps)
    made = dict(zip(positions, take(chosen, positions)))
    listed = {phase: [frame_row(made[p]) for p in ps] for phase, ps in picked.items()}
    result: list[Section] = []
    for phase, explanation in vocabulary.PHASES.items():
        rows = listed.get(phase)
        if rows:
            count = counts[phase]
            note = _bounded(f"{t.gettext(explanation)} {_phase_filter_note(exact_filters, phase, t)}",
                            len(rows), count, t)
            title = t.ngettext("Phase: {phase} ({count} frame)", "Phase: {phase} ({count} frames)",
                               count).format(phase=phase, count=count)
            result.append(Section(title, note, FRAME_COLUMNS, rows, f"phase:{phase}"))
    if analysis.connections:
        total = len(analysis.connections)
        rows = [(str(c.id), c.orig, c.resp, c.conn_state, c.history,
                 f"{c.duration:.6f}", f"{c.orig_pkts}/{c.resp_pkts}", f"{c.orig_bytes}/{c.resp_bytes}",
                 "-" if c.irtt is None else f"{c.irtt * 1000:.3f} ms", c.closed_by or "-", c.end)
                for c in analysis.connections[:MAX_ROWS]]
        result.append(Section(
            t.gettext("Connections ({count})").format(count=total),
            _bounded(t.gettext("Zeek conn_state and history (upper case: originator, lower case: "
                               "responder); Wireshark filter for one: tcp.stream eq <Conn>"),
                     len(rows), total, t),
            (N_("Conn"), N_("Originator"), N_("Responder"), N_("State"), N_("History"), N_("Duration"),
             N_("Pkts o/r"), N_("Bytes o/r"), N_("iRTT"), N_("Closed by"), N_("End")), rows, "connections"))
    if analysis.exchanges:
        total = len(analysis.exchanges)
        rows = [(str(e.conn), str(e.request_frame), _cell(e.request),
                 "-" if e.response_frame is None else str(e.response_frame),
                 t.gettext("(no response)") if e.response is None else _cell(e.response),
                 "-" if e.latency is None else f"{e.latency * 1000:.3f} ms", e.kind)
                for e in analysis.exchanges[:MAX_ROWS]]
        note = _bounded(t.gettext("Requests (client to server) paired with the server's responses."),
                        len(rows), total, t)
        if analysis.votes:
            note += " " + t.gettext("Vote totals: {totals}").format(
                totals=" ".join(f"{k}={v}" for k, v in analysis.votes.items()))
        result.append(Section(t.gettext("Exchanges ({count})").format(count=total), note,
                              (N_("Conn"), N_("Req frame"), N_("Request"), N_("Resp frame"), N_("Response"),
                               N_("Latency"), N_("Kind")),
                              rows, "exchanges"))
    return result


def _cell(text: str, limit: int = 120) -> str:
    """A message as one table cell: a turn of another protocol (HTTP, FTP) spans lines and
    kilobytes, so its line ends become spaces and its tail is cut."""
    flat = text.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"


def render_plain(analysis, frames: Iterable[LabeledFrame] | None = None, lang: str = "en") -> str:
    t = translation(lang)
    lines = [f"{analysis.path}: {headline(analysis, t)}"]
    for section in sections(analysis, frames, t):
        columns = column_names(section.columns, t)
        widths = [len(c) for c in columns]
        for row in section.rows:
            widths = [max(w, len(cell)) for w, cell in zip(widths, row)]
        lines += ["", section.title, "  " + section.note]
        lines.append("  " + "  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip())
        for row in section.rows:
            lines.append("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    return "\n".join(lines) + "\n"


def render_rich(analysis, console, frames: Iterable[LabeledFrame] | None = None, lang: str = "en") -> None:
    from rich.markup import escape
    from rich.table import Table

    t = translation(lang)
    console.print(f"[bold]{escape(str(analysis.path))}[/bold]: {escape(headline(analysis, t))}")
    for section in sections(analysis, frames, t):
        table = Table(title=section.title, caption=section.note, title_justify="left",
                      caption_justify="left", expand=False)
        for column in column_names(section.columns, t):
            table.add_column(column, overflow="fold")
        for row in section.rows:
            table.add_row(*row)
        console.print(table)
