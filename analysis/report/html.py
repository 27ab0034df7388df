"""report.html: the whole analysis in one self-contained page that opens offline.

Figures are embedded as `data:` URIs, the style sheet and the explorer's script are inline
(explorer.py), there is no external reference and the page makes no request, so the file can be
mailed, uploaded to a course site or opened from a USB stick. The tables are the text report's sections (text_report.sections), so the page, the
terminal and report.md always say the same thing; then the lab questions (questions.py).
"""
from __future__ import annotations

import base64
import html
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Sequence

from analysis import vocabulary
from analysis.filter.exact import phase_filters
from analysis.i18n import N_, translation
from analysis.report.questions import Answer, answer_all
from analysis.report.text import english, headline, sections

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; margin: 0;
       color: #1d1d1d; background: #fafafa; line-height: 1.45; }
main { max-width: 1250px; margin: 0 auto; padding: 1.2em 2em 3em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { margin-top: 2em; border-bottom: 2px solid #ddd; }
nav a { margin-right: 1em; } .muted { color: #666; }
table { border-collapse: collapse; margin: 0.6em 0 1.4em; font-size: 0.86em; background: white; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.55em; text-align: left; vertical-align: top; }
th { background: #f0f0f0; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
code { background: #eef1f5; padding: 0.05em 0.3em; border-radius: 3px; font-size: 0.92em; }
figure { margin: 1em 0 2em; background: white; border: 1px solid #ddd; padding: 0.8em; }
figure img { max-width: 100%; height: auto; display: block; margin: 0 auto; }
figcaption { color: #444; font-size: 0.9em; margin-top: 0.5em; }
.phase { border-left: 6px solid var(--c); padding-left: 0.8em; margin-top: 1.2em; }
.phase h3 { color: var(--c); margin-bottom: 0.2em; }
.warn { background: #fff4e5; border: 1px solid #f0b35a; padding: 0.6em 1em; }
.trouble { color: #b00000; font-weight: 600; }
"""


# a capture of thousands of connections would make the page hundreds of MB of questions
MAX_QUESTION_GROUPS = 25
MAX_QUESTION_CONNECTIONS = 200     # answered for report.md (each takes milliseconds)


def _e(text: object) -> str:
    return html.escape("" if text is None else str(text))


def _table(columns: Sequence[str], rows: Sequence[Sequence[object]], numeric: Sequence[str] = (),
           code: Sequence[str] = ("Wireshark filter",), t=None) -> str:
    # columns are English names (numeric/code test them); the header row is in t's language
    head = "".join(f"<th>{_e(english(t).gettext(c))}</th>" for c in columns)
    body = []
    for row in rows:
        cells = []
        for column, cell in zip(columns, row):
            cls = ' class="num"' if column in numeric else ""
            text = f"<code>{_e(cell)}</code>" if column in code and cell not in ("", "-") else _e(cell)
            cells.append(f"<td{cls}>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _figure(fig) -> str:
    uri = "data:image/png;base64," + base64.b64encode(fig.png).decode("ascii")
    return (f'<figure id="fig-{_e(fig.name)}"><img src="{uri}" alt="{_e(fig.title)}">'
            f"<figcaption><b>{_e(fig.title)}.</b> {_e(fig.caption)}</figcaption></figure>")


def _questions(answers: list[Answer], analysis, t=None) -> str:
    t = english(t)
    if not answers:
        return f"<p>{_e(t.gettext('No ARP exchange and no TCP connection: no lab question applies.'))}</p>"
    parts = []
    groups: dict[int | None, list[Answer]] = {}
    for answer in answers:
        groups.setdefault(answer.conn, []).append(answer)
    shown = list(groups.items())[:MAX_QUESTION_GROUPS]
    for conn, group in shown:
        if conn is None:
            heading = "ARP"
        else:
            c = analysis.connection(conn)
            heading = t.gettext("Connection {conn}: {orig} → {resp}").format(conn=conn, orig=c.orig, resp=c.resp)
        rows = [(a.question, a.answer, ", ".join(str(n) for n in a.frames) or "-",
                 a.wireshark_filter or "-") for a in group]
        parts.append(f"<h3>{_e(heading)}</h3>" +
                     _table((N_("Question"), N_("Answer"), N_("Frames"), N_("Wireshark filter")), rows, t=t))
    answered = len(groups) - (None in groups)
    if answered < len(analysis.connections):
        parts.append('<p class="warn">' + _e(t.gettext(
            "The questions of the first {shown} of {total} connections.").format(
                shown=len(shown) - (None in groups), total=len(analysis.connections))) + "</p>")
    elif len(groups) > len(shown):
        parts.append('<p class="warn">' + _e(t.gettext(
            "The questions of the first {shown} of {total} connections; report.md has all of them.").format(
                shown=len(shown) - (None in groups), total=len(groups) - (None in groups))) + "</p>")
    return "".join(parts)


def _phase_overview(analysis, t=None) -> str:
    rows = []
    exact_filters = phase_filters(analysis)       # exactly each phase's frames of this capture
    counts = analysis.phase_counts()
    for phase, explanation in vocabulary.PHASES.items():
        count = counts.get(phase, 0)
        if count:
            rows.append((phase, count, english(t).gettext(explanation), exact_filters[phase]))
    return _table((N_("Phase"), N_("Frames"), N_("What it is"), N_("Wireshark filter (exactly these frames)")),
                  rows, numeric=("Frames",), t=t)


def render_html(analysis, figures: Sequence = (), answers: list[Answer] | None = None,
                frames=None, lang: str = "en") -> str:
    """The page as a string, in `lang`. `figures` are figures.ReportFigure (report_figures(analysis));
    `frames`: the LabeledFrames the explorer and the frame tables show (default all, bounded by
    explorer.MAX_FRAMES); the counts, connections, exchanges and questions cover the capture."""
    from analysis.figures.render import PHASE_COLORS
    from analysis.report.explorer import render_explorer, select_frames

    t = translation(lang)
    answers = answer_all(analysis, lang=lang) if answers is None else answers
    name = Path(analysis.path).name
    generated = t.gettext("Generated by reqresp-lab's analyzer on {when} UTC.").format(
        when=f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M}")
    out = ["<!DOCTYPE html>", f'<html lang="{_e(lang)}"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{_e(t.gettext('{name}: capture analysis').format(name=name))}</title>"
           f"<style>{_CSS}</style></head><body><main>",
           f"<h1>{_e(name)}</h1>",
           f'<p class="muted">{_e(headline(analysis, t))}. {_e(generated)}</p>',
           f'<nav><a href="#explorer">{_e(t.gettext("Explorer"))}</a><a href="#figures">{_e(t.gettext("Figures"))}</a><a href="#phases">{_e(t.gettext("Frames by phase"))}</a>'
           f'<a href="#connections">{_e(t.gettext("Connections"))}</a><a href="#exchanges">{_e(t.gettext("Exchanges"))}</a>'
           f'<a href="#questions">{_e(t.gettext("Questions"))}</a></nav>']
    if analysis.warnings:
        items = "".join(f"<li>{_e(w.text(t))}</li>" for w in analysis.warnings)
        out.append(f'<div class="warn"><b>{_e(t.gettext("Warnings"))}</b><ul>{items}</ul></div>')
    out.append(f"<h2>{_e(t.gettext('Phases'))}</h2>" + _phase_overview(analysis, t))
    out.append(render_explorer(analysis, frames, lang))
    if figures:
        out.append(f'<h2 id="figures">{_e(t.gettext("Figures"))}</h2>' + "".join(_figure(f) for f in figures))
    out.append(f'<h2 id="phases">{_e(t.gettext("Frames by phase"))}</h2>')
    for section in sections(analysis, select_frames(analysis, frames)[0], t=t):
        rows = section.rows
        if section.kind.startswith("phase:"):
            phase = section.kind.split(":", 1)[1]
            out.append(f'<section class="phase" style="--c: {PHASE_COLORS.get(phase, "#777")}">'
                       f"<h3>{_e(section.title)}</h3><p>{_e(section.note)}</p>"
                       f"{_table(section.columns, rows, numeric=('No.', 'Time', 'Length'), t=t)}</section>")
        else:
            anchor = section.kind
            out.append(f'<h2 id="{anchor}">{_e(section.title)}</h2><p>{_e(section.note)}</p>'
                       + _table(section.columns, rows, t=t))
    out.append(f'<h2 id="questions">{_e(t.gettext("Questions"))}</h2><p>'
               + _e(t.gettext("The questions of the TCP lab, answered from this capture; the frame "
                              "numbers are Wireshark's, and the filter shows exactly those frames."))
               + "</p>" + _questions(answers, analysis, t))
    out.append("</main></body></html>")
    return "\n".join(out) + "\n"


def write_html(analysis, path: str | Path, figures: Sequence = (),
               answers: list[Answer] | None = None, frames=None, lang: str = "en") -> Path:
    path = Path(path)
    path.write_text(render_html(analysis, figures, answers, frames, lang), encoding="utf-8")
    return path


REPORT_STEPS = 3        # write_reports' steps: the figures, report.html, report.md


def write_reports(analysis, out: str | Path, frames=None, lang: str = "en",
                  on_step: Callable[[], None] | None = None) -> list[Path]:
    """Everything visual `make analyze` leaves in reports/<name>/: report.html, report.md and
    the figures they show (ladder.png, ladder.svg, timeline.png, tseq-conn<N>.png).
    `frames`: what report.html's explorer holds (--conn, --phase, --frames, --filter);
    `on_step`: called as each of the REPORT_STEPS ends (a progress bar)."""
    from analysis.figures.render import report_figures
    from analysis.report.markdown import write_md

    step = on_step or (lambda: None)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    figures = report_figures(analysis, lang=lang)
    step()
    # a capture of thousands of connections: the questions of the first few, said so (the page
    # shows MAX_QUESTION_GROUPS of them; report.md the rest of these)
    answers = answer_all(analysis, lang=lang, max_connections=MAX_QUESTION_CONNECTIONS)
    paths = [write_html(analysis, out / "report.html", figures, answers, frames, lang)]
    step()
    paths.append(write_md(analysis, out / "report.md", figures, answers, lang))
    step()
    for fig in figures:
        (out / f"{fig.name}.png").write_bytes(fig.png)
        paths.append(out / f"{fig.name}.png")
        if fig.svg is not None:
            (out / f"{fig.name}.svg").write_text(fig.svg, encoding="utf-8")
            paths.append(out / f"{fig.name}.svg")
    return paths
