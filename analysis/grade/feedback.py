"""Per-student feedback in the chosen language, through the standard library's gettext.

English is the source language: every message is written in English in the code (marked N_())
and translated at render time from the catalog analysis/locale/<lang>/LC_MESSAGES/reqresp.po,
compiled to reqresp.mo by `make locale` (Babel; `make venv` and so `make test` run it).
Messages carry named fields ({frame}, {count}, ...); a field may itself be a message
(checks.Reason) or a list of messages, translated with it.
"""
from __future__ import annotations

import html
from pathlib import Path
from typing import Any, Callable

from analysis import i18n
from analysis.errors import UsageError
from analysis.grade.checks import CHECKS, Reason
from analysis.grade.errors import Problem, SubmissionError

LOCALE_DIR, DOMAIN, LANGUAGES = i18n.LOCALE_DIR, i18n.DOMAIN, i18n.LANGUAGES

Translate = Callable[[str], str]


def translator(lang: str) -> Translate:
    """The gettext function for `lang` ("en": the messages as written)."""
    try:
        return i18n.translation(lang).gettext
    except UsageError as error:   # the grader's own error tree, same one-line message
        raise SubmissionError(error.template, path=error.path, hint=error.hint_template,
                              fields=error.fields) from None


def render(message: str, args: dict[str, Any], _: Translate) -> str:
    """A message in the chosen language with its fields filled in."""
    def value(v: Any) -> Any:
        if isinstance(v, Reason) or (isinstance(v, (list, tuple)) and len(v) == 2
                                     and isinstance(v[0], str) and isinstance(v[1], dict)):
            return render(v[0], v[1], _)
        if isinstance(v, Problem):
            return v.one_line(_)
        if isinstance(v, list):
            return ", ".join(_(item) for item in v)
        return v
    return _(message).format(**{k: value(v) for k, v in args.items()})


def title(verdict, _: Translate) -> str:
    """The criterion's title: the rubric's own, else the check's (translated)."""
    return verdict.title if verdict.title else _(CHECKS[verdict.check].title)


def feedback_text(result, rubric, _: Translate) -> str:
    """The student's feedback as plain text (feedback.txt)."""
    lines = [_("Feedback for {student}").format(student=result.student),
             _("Capture: {path}").format(path=Path(result.path).name),
             _("Score: {earned:g} of {points:g}").format(earned=result.earned,
                                                         points=rubric.max_points), ""]
    if result.error:
        lines += [_("The capture could not be read: {error}").format(error=result.error.one_line(_)), ""]
    for number, verdict in enumerate(result.verdicts, 1):
        mark = _("PASSED") if verdict.passed else _("FAILED")
        lines.append(f"{number}. [{mark}] {title(verdict, _)} "
                     f"({verdict.earned:g}/{verdict.points:g})")
        lines.append(f"   {render(verdict.message, verdict.args, _)}")
        if verdict.filter:
            lines.append("   " + _("Wireshark display filter: {filter}").format(filter=verdict.filter))
    return "\n".join(lines) + "\n"


def feedback_html(result, rubric, _: Translate, lang: str, report: str | None) -> str:
    """The same feedback as a small self-contained page (feedback.html)."""
    e = html.escape
    rows = []
    for number, verdict in enumerate(result.verdicts, 1):
        mark = _("PASSED") if verdict.passed else _("FAILED")
        rows.append(
            f"<tr class='{'pass' if verdict.passed else 'fail'}'><td>{number}</td>"
            f"<td>{e(title(verdict, _))}</td><td>{e(mark)}</td>"
            f"<td>{verdict.earned:g}/{verdict.points:g}</td>"
            f"<td>{e(render(verdict.message, verdict.args, _))}</td>"
            f"<td><code>{e(verdict.filter)}</code></td></tr>")
    error = (f"<p class='fail'>{e(_('The capture could not be read: {error}').format(error=result.error.one_line(_)))}</p>"
             if result.error else "")
    link = f"<p><a href='{e(report)}'>{e(_('The analyzer report of this capture'))}</a></p>" if report else ""
    heading = _("Feedback for {student}").format(student=result.student)
    return (f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'><title>{e(heading)}</title>"
            f"<style>{PAGE_STYLE}</style></head><body><h1>{e(heading)}</h1>"
            f"<p>{e(_('Capture: {path}').format(path=Path(result.path).name))} · "
            f"<b>{e(_('Score: {earned:g} of {points:g}').format(earned=result.earned, points=rubric.max_points))}</b></p>"
            f"{error}{link}<table><tr><th>#</th><th>{e(_('Criterion'))}</th><th>{e(_('Verdict'))}</th>"
            f"<th>{e(_('Points'))}</th><th>{e(_('Reason'))}</th>"
            f"<th>{e(_('Wireshark display filter'))}</th></tr>{''.join(rows)}</table></body></html>\n")


PAGE_STYLE = ("body{font-family:sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse}"
              "td,th{border:1px solid #ccc;padding:.3em .5em;text-align:left;vertical-align:top}"
              ".pass td:nth-child(3){color:#176f2c}.fail td:nth-child(3),p.fail{color:#b00020}"
              "code{font-size:.9em}")

