"""grades.html: the cohort on one self-contained page (no script, no CDN: the figures are SVG
written into the page by matplotlib), in the chosen language.

Sections: the pass rate per criterion; the distributions of handshake RTT, request latency and
exchanges per student; the most common failures (by criterion and reason); the integrity
signals; and every student, linked to their own report.html and feedback.html.
"""
from __future__ import annotations

import html
import io
import re
from collections import Counter
from typing import Sequence

from analysis.grade.feedback import PAGE_STYLE, Translate, render, title
from analysis.grade.grader import StudentResult
from analysis.grade.integrity import Signal
from analysis.grade.rubric import Rubric

e = html.escape
_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.DOTALL)


def grades_html(results: Sequence[StudentResult], signals: Sequence[Signal], rubric: Rubric,
                lang: str, _: Translate, reports: bool = True) -> str:
    """The page; `reports`: whether the students' folders hold the analyzer's report.html."""
    n = len(results)
    parts = [f"<h1>{e(_('Grades'))}</h1>",
             f"<p>{e(_('{count} submissions, rubric {rubric}').format(count=n, rubric=rubric.path))}</p>",
             f"<h2>{e(_('Pass rate per criterion'))}</h2>", _pass_rates(results, rubric, _),
             f"<h2>{e(_('Distributions'))}</h2>", _figures(results, _),
             f"<h2>{e(_('Most common failures'))}</h2>", _failures(results, _),
             f"<h2>{e(_('Integrity signals (not graded)'))}</h2>", _signals(signals, _),
             f"<h2>{e(_('Students'))}</h2>", _students(results, signals, rubric, _, reports)]
    return (f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'>"
            f"<title>{e(_('Grades'))}</title><style>{PAGE_STYLE}"
            ".bar{background:#4c78a8;height:.9em;display:inline-block}"
            "td.pass{background:#e6f4ea}td.fail{background:#fdecea}</style></head><body>"
            + "\n".join(parts) + "</body></html>\n")


def _pass_rates(results, rubric: Rubric, _) -> str:
    rows = []
    for criterion in rubric.criteria:
        verdicts = [v for r in results for v in r.verdicts if v.criterion == criterion.id]
        passed = sum(v.passed for v in verdicts)
        rate = passed / len(verdicts) if verdicts else 0.0
        name = title(verdicts[0], _) if verdicts else criterion.id
        rows.append(f"<tr><td>{e(criterion.id)}</td><td>{e(name)}</td><td>{criterion.points:g}</td>"
                    f"<td>{passed}/{len(verdicts)}</td><td><span class='bar' "
                    f"style='width:{rate * 10:.2f}em'></span> {rate:.0%}</td></tr>")
    return (f"<table><tr><th>id</th><th>{e(_('Criterion'))}</th><th>{e(_('Points'))}</th>"
            f"<th>{e(_('Passed'))}</th><th>{e(_('Pass rate'))}</th></tr>{''.join(rows)}</table>")


def _figures(results, _) -> str:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = [(_("Handshake RTT (ms)"), [x for r in results for x in r.measures.handshake_rtt_ms]),
              (_("Request latency (ms)"), [x for r in results for x in r.measures.latency_ms]),
              (_("Exchanges per student"), [r.measures.exchanges for r in results])]
    figures = []
    with matplotlib.rc_context({"svg.hashsalt": "reqresp-grades", "svg.fonttype": "none"}):
        for label, values in series:
            fig, ax = plt.subplots(figsize=(4.2, 2.6))
            if values:
                ax.hist(values, bins=min(20, max(1, len(set(values)))), color="#4c78a8")
            else:
                ax.text(0.5, 0.5, _("no data"), ha="center", va="center", transform=ax.transAxes)
            ax.set_xlabel(label)
            ax.set_ylabel(_("count"))
            fig.tight_layout()
            svg = io.StringIO()
            fig.savefig(svg, format="svg", metadata={"Date": None})
            plt.close(fig)
            text = _METADATA.sub("", svg.getvalue())      # RDF about matplotlib: not needed
            figures.append(f"<figure style='display:inline-block;margin:0 1em 1em 0'>"
                           f"{text[text.index('<svg'):]}<figcaption>{e(label)}: "
                           f"{_summary(values, _)}</figcaption></figure>")
    return "".join(figures)


def _summary(values, _) -> str:
    if not values:
        return e(_("no data"))
    ordered = sorted(values)
    median = ordered[len(ordered) // 2]
    return e(_("n={n}, median {median:g}, max {max:g}").format(n=len(values), median=median,
                                                             max=ordered[-1]))


def _failures(results, _) -> str:
    counted = Counter((v.criterion, v.message) for r in results for v in r.verdicts if not v.passed)
    example = {}
    for r in results:
        for v in r.verdicts:
            if not v.passed:
                example.setdefault((v.criterion, v.message), (r.student, v))
    rows = []
    for (criterion, message), count in sorted(counted.items(), key=lambda kv: (-kv[1], kv[0]))[:15]:
        student, verdict = example[(criterion, message)]
        rows.append(f"<tr><td>{count}</td><td>{e(criterion)}</td>"
                    f"<td>{e(render(verdict.message, verdict.args, _))} "
                    f"<small>({e(_('e.g.'))} {e(student)})</small></td></tr>")
    if not rows:
        return f"<p>{e(_('No criterion failed.'))}</p>"
    return (f"<table><tr><th>{e(_('Students'))}</th><th>{e(_('Criterion'))}</th>"
            f"<th>{e(_('Reason'))}</th></tr>{''.join(rows)}</table>")


def _signals(signals: Sequence[Signal], _) -> str:
    if not signals:
        return f"<p>{e(_('None.'))}</p>"
    rows = [f"<tr><td>{e(s.kind)}</td><td>{e(', '.join(s.students))}</td>"
            f"<td>{e(render(s.message, s.args, _))}</td><td><code>{e(s.filter)}</code></td></tr>"
            for s in signals]
    return (f"<table><tr><th>{e(_('Signal'))}</th><th>{e(_('Students'))}</th>"
            f"<th>{e(_('What was seen'))}</th><th>{e(_('Wireshark display filter'))}</th></tr>"
            f"{''.join(rows)}</table>")


def _students(results, signals, rubric: Rubric, _, reports: bool) -> str:
    flagged: dict[str, set[str]] = {}
    for s in signals:
        for student in s.students:
            flagged.setdefault(student, set()).add(s.kind)
    head = "".join(f"<th>{e(c.id)}</th>" for c in rubric.criteria)
    rows = []
    for r in results:
        cells = "".join(f"<td class='{'pass' if v.passed else 'fail'}'>{v.earned:g}</td>"
                        for v in r.verdicts)
        report = (f"<a href='{e(r.student)}/report.html'>{e(_('report'))}</a> · "
                  if r.error is None and reports else "")
        rows.append(f"<tr><td>{e(r.student)}</td>{cells}<td><b>{r.earned:g}</b>/"
                    f"{rubric.max_points:g}</td><td>{report}<a href='{e(r.student)}/feedback.html'>"
                    f"{e(_('feedback'))}</a></td><td>{e(', '.join(sorted(flagged.get(r.student, ()))))}"
                    f"</td><td>{e(r.error.one_line(_) if r.error else '')}</td></tr>")
    return (f"<table><tr><th>{e(_('Student'))}</th>{head}<th>{e(_('Total'))}</th><th></th>"
            f"<th>{e(_('Integrity'))}</th><th>{e(_('Error'))}</th></tr>{''.join(rows)}</table>")
