"""The human-readable report: frames grouped by phase, then connections, then exchanges.

`render_plain()` returns plain text (for pipes and files); `render_rich()` prints rich tables to a
terminal console. Both are built from the same `sections()`, so they always say the same thing.
"""
from __future__ import annotations

from typing import Iterable, NamedTuple

from analysis import vocabulary
from analysis.filter.exact import phase_filters
from analysis.model import LabeledFrame


class Section(NamedTuple):
    title: str
    note: str                       # one-line explanation (and the Wireshark filter)
    columns: tuple[str, ...]
    rows: list[tuple[str, ...]]


# An exact frame filter longer than this is left out (a long capture's data phase).
_MAX_FILTER = 400
FRAME_COLUMNS = ("No.", "Time", "Source", "Destination", "Flags", "Length", "Label", "Analysis", "Info")


def _endpoint(ip: str, port: int | None) -> str:
    if port is None:
        return ip
    return f"[{ip}]:{port}" if ":" in ip and "." not in ip and ip.count(":") > 1 else f"{ip}:{port}"


def frame_row(frame: LabeledFrame) -> tuple[str, ...]:
    label = frame.label + (f" ({frame.direction})" if frame.direction else "")
    return (str(frame.number), f"{frame.rel_time:.6f}", _endpoint(frame.src, frame.sport),
            _endpoint(frame.dst, frame.dport), frame.flags, str(frame.len), label,
            ",".join(frame.analysis), frame.info)


def _phase_filter_note(analysis, chosen, phase: str) -> str:
    # the filter selecting exactly these frames (analysis/filter/exact.py); a long one gives way
    # to the general filter of this kind of frame, said to be no more than that
    exact = phase_filters(analysis, chosen).get(phase, "")
    if exact and len(exact) <= _MAX_FILTER:
        return f"Wireshark filter (exactly these frames): {exact}"
    return f"Wireshark filter for this kind of frame (not exactly these): {vocabulary.PHASE_FILTERS[phase]}"


def sections(analysis, frames: Iterable[LabeledFrame] | None = None) -> list[Section]:
    chosen = list(analysis.frames if frames is None else frames)
    result: list[Section] = []
    for phase, explanation in vocabulary.PHASES.items():
        members = [f for f in chosen if f.phase == phase]
        rows = [frame_row(f) for f in members]
        if rows:
            note = f"{explanation} {_phase_filter_note(analysis, chosen, phase)}"
            result.append(Section(f"Phase: {phase} ({len(rows)} frames)", note, FRAME_COLUMNS, rows))
    if analysis.connections:
        rows = [(str(c.id), c.orig, c.resp, c.conn_state, c.history,
                 f"{c.duration:.6f}", f"{c.orig_pkts}/{c.resp_pkts}", f"{c.orig_bytes}/{c.resp_bytes}",
                 "-" if c.irtt is None else f"{c.irtt * 1000:.3f} ms", c.closed_by or "-", c.end)
                for c in analysis.connections]
        result.append(Section(
            f"Connections ({len(rows)})",
            "Zeek conn_state and history (upper case: originator, lower case: responder); "
            "Wireshark filter for one: tcp.stream eq <Conn>",
            ("Conn", "Originator", "Responder", "State", "History", "Duration", "Pkts o/r",
             "Bytes o/r", "iRTT", "Closed by", "End"), rows))
    if analysis.exchanges:
        rows = [(str(e.conn), str(e.request_frame), _cell(e.request),
                 "-" if e.response_frame is None else str(e.response_frame),
                 "(no response)" if e.response is None else _cell(e.response),
                 "-" if e.latency is None else f"{e.latency * 1000:.3f} ms", e.kind)
                for e in analysis.exchanges]
        note = "Requests (client to server) paired with the server's responses."
        if analysis.votes:
            note += " Vote totals: " + " ".join(f"{k}={v}" for k, v in analysis.votes.items())
        result.append(Section(f"Exchanges ({len(rows)})", note,
                              ("Conn", "Req frame", "Request", "Resp frame", "Response", "Latency", "Kind"),
                              rows))
    return result


def _cell(text: str, limit: int = 120) -> str:
    """A message as one table cell: a turn of another protocol (HTTP, FTP) spans lines and
    kilobytes, so its line ends become spaces and its tail is cut."""
    flat = text.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"


def render_plain(analysis, frames: Iterable[LabeledFrame] | None = None) -> str:
    lines = [f"{analysis.path}: {analysis.frame_count} frames, {len(analysis.connections)} TCP "
             f"connections, {len(analysis.exchanges)} exchanges"]
    for section in sections(analysis, frames):
        widths = [len(c) for c in section.columns]
        for row in section.rows:
            widths = [max(w, len(cell)) for w, cell in zip(widths, row)]
        lines += ["", section.title, "  " + section.note]
        lines.append("  " + "  ".join(c.ljust(w) for c, w in zip(section.columns, widths)).rstrip())
        for row in section.rows:
            lines.append("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    return "\n".join(lines) + "\n"


def render_rich(analysis, console, frames: Iterable[LabeledFrame] | None = None) -> None:
    from rich.table import Table

    console.print(f"[bold]{analysis.path}[/bold]: {analysis.frame_count} frames, "
                  f"{len(analysis.connections)} TCP connections, {len(analysis.exchanges)} exchanges")
    for section in sections(analysis, frames):
        table = Table(title=section.title, caption=section.note, title_justify="left",
                      caption_justify="left", expand=False)
        for column in section.columns:
            table.add_column(column, overflow="fold")
        for row in section.rows:
            table.add_row(*row)
        console.print(table)
