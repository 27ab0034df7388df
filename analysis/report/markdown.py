"""report.md: the analysis as Markdown, for a student's lab write-up.

The same content as report.html (text_report.sections for the tables, questions.py for the
answers) with the figures referenced as the PNG files written next to it (ladder.png, ...), so
the write-up renders on GitHub/GitLab or in any Markdown editor and can be edited.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from analysis import vocabulary
from analysis.filter.exact import phase_filters
from analysis.report.questions import Answer, answer_all
from analysis.report.text import sections


def _cell(value: object) -> str:
    # A pipe would end the cell, a newline the row.
    return ("" if value is None else str(value)).replace("|", "\\|").replace("\n", " ")


def _table(columns: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(_cell(c) for c in columns) + " |",
             "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines + [""]


def render_md(analysis, figures: Sequence = (), answers: list[Answer] | None = None) -> str:
    """The Markdown text. `figures` are figures.ReportFigure; each is referenced as `<name>.png`."""
    answers = answer_all(analysis) if answers is None else answers
    name = Path(analysis.path).name
    out = [f"# {name}: capture analysis", "",
           f"{analysis.frame_count} frames, {len(analysis.connections)} TCP connection(s), "
           f"{len(analysis.exchanges)} request/response exchange(s).", ""]
    for warning in analysis.warnings:
        out.append(f"> **Warning:** {warning.message}")
    if analysis.warnings:
        out.append("")
    out += ["## Phases", ""]
    exact_filters = phase_filters(analysis)       # exactly each phase's frames of this capture
    rows = [(phase, sum(1 for f in analysis.frames if f.phase == phase), explanation,
             f"`{exact_filters[phase]}`")
            for phase, explanation in vocabulary.PHASES.items()
            if any(f.phase == phase for f in analysis.frames)]
    out += _table(("Phase", "Frames", "What it is", "Wireshark filter (exactly these frames)"), rows)
    if figures:
        out += ["## Figures", ""]
        for fig in figures:
            out += [f"### {fig.title}", "", f"![{fig.title}]({fig.name}.png)", "", fig.caption, ""]
    out += ["## Frames by phase", ""]
    for section in sections(analysis):
        level = "###" if section.title.startswith("Phase: ") else "##"
        out += [f"{level} {section.title}", "", section.note, ""]
        out += _table(section.columns, section.rows)
    out += ["## Questions", "",
            "The questions of the TCP lab, answered from this capture (frame numbers as in "
            "Wireshark).", ""]
    groups: dict[int | None, list[Answer]] = {}
    for answer in answers:
        groups.setdefault(answer.conn, []).append(answer)
    for conn, group in groups.items():
        if conn is None:
            out += ["### ARP", ""]
        else:
            c = analysis.connection(conn)
            out += [f"### Connection {conn}: {c.orig} → {c.resp}", ""]
        out += _table(("Question", "Answer", "Frames"),
                      [(a.question, a.answer, ", ".join(str(n) for n in a.frames) or "-")
                       for a in group])
    if not answers:
        out += ["No ARP exchange and no TCP connection: no lab question applies.", ""]
    return "\n".join(out).rstrip() + "\n"


def write_md(analysis, path: str | Path, figures: Sequence = (),
             answers: list[Answer] | None = None) -> Path:
    path = Path(path)
    path.write_text(render_md(analysis, figures, answers), encoding="utf-8")
    return path
