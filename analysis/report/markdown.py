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
from analysis.i18n import N_, translation
from analysis.report.questions import Answer, answer_all
from analysis.report.text import column_names, headline, sections


def _cell(value: object) -> str:
    # A pipe would end the cell, a newline the row.
    return ("" if value is None else str(value)).replace("|", "\\|").replace("\n", " ")


def _table(columns: Sequence[str], rows: Sequence[Sequence[object]], t=None) -> list[str]:
    lines = ["| " + " | ".join(_cell(c) for c in column_names(columns, t)) + " |",
             "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines + [""]


def render_md(analysis, figures: Sequence = (), answers: list[Answer] | None = None,
              lang: str = "en") -> str:
    """The Markdown text in `lang`. `figures` are figures.ReportFigure; each is referenced as `<name>.png`."""
    t = translation(lang)
    answers = answer_all(analysis, lang=lang) if answers is None else answers
    name = Path(analysis.path).name
    out = ["# " + t.gettext("{name}: capture analysis").format(name=name), "",
           headline(analysis, t) + ".", ""]
    for warning in analysis.warnings:
        out.append(f"> **{t.gettext('Warning:')}** {warning.text(t)}")
    if analysis.warnings:
        out.append("")
    out += ["## " + t.gettext("Phases"), ""]
    exact_filters = phase_filters(analysis)       # exactly each phase's frames of this capture
    counts = analysis.phase_counts()
    rows = [(phase, counts[phase], t.gettext(explanation), f"`{exact_filters[phase]}`")
            for phase, explanation in vocabulary.PHASES.items() if phase in counts]
    out += _table((N_("Phase"), N_("Frames"), N_("What it is"),
                   N_("Wireshark filter (exactly these frames)")), rows, t)
    if figures:
        out += ["## " + t.gettext("Figures"), ""]
        for fig in figures:
            out += [f"### {fig.title}", "", f"![{fig.title}]({fig.name}.png)", "", fig.caption, ""]
    out += ["## " + t.gettext("Frames by phase"), ""]
    for section in sections(analysis, t=t):
        level = "###" if section.kind.startswith("phase:") else "##"
        out += [f"{level} {section.title}", "", section.note, ""]
        out += _table(section.columns, section.rows, t)
    out += ["## " + t.gettext("Questions"), "",
            t.gettext("The questions of the TCP lab, answered from this capture (frame numbers as in "
                      "Wireshark)."), ""]
    groups: dict[int | None, list[Answer]] = {}
    for answer in answers:
        groups.setdefault(answer.conn, []).append(answer)
    answered = len(groups) - (None in groups)
    if answered < len(analysis.connections):
        out += [t.gettext("The questions of the first {shown} of {total} connections.").format(
            shown=answered, total=len(analysis.connections)), ""]
    for conn, group in groups.items():
        if conn is None:
            out += ["### ARP", ""]
        else:
            c = analysis.connection(conn)
            out += ["### " + t.gettext("Connection {conn}: {orig} → {resp}").format(
                conn=conn, orig=c.orig, resp=c.resp), ""]
        out += _table((N_("Question"), N_("Answer"), N_("Frames")),
                      [(a.question, a.answer, ", ".join(str(n) for n in a.frames) or "-")
                       for a in group], t)
    if not answers:
        out += [t.gettext("No ARP exchange and no TCP connection: no lab question applies."), ""]
    return "\n".join(out).rstrip() + "\n"


def write_md(analysis, path: str | Path, figures: Sequence = (),
             answers: list[Answer] | None = None, lang: str = "en") -> Path:
    path = Path(path)
    path.write_text(render_md(analysis, figures, answers, lang), encoding="utf-8")
    return path
