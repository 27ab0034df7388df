"""Grade one submission: the task that fan-out runs once per student, in any process.

`grade_submission` reads the capture once with the public API (`analysis.analyze`), runs every
criterion of the rubric, inspects the bytes for integrity signals, and - when given a folder -
writes the student's own files there: the analyzer's report (report.html, analysis.json, ...),
verdicts.json, feedback.txt and feedback.html in the chosen language. It returns a
`StudentResult` (small, picklable) for the gradebook and the cohort page; it never raises for a
capture that cannot be read: the result says why.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple

from analysis.api import analyze
from analysis.errors import AnalysisError
from analysis.grade.checks import CHECKS, N_, Reason
from analysis.grade.errors import Problem
from analysis.grade.feedback import feedback_html, feedback_text, translator
from analysis.grade.integrity import Fingerprint, Signal, inspect
from analysis.grade.lab_view import LabView, vote_option
from analysis.grade.rubric import Rubric
from analysis.grade.submissions import Submission


class Verdict(NamedTuple):
    criterion: str
    check: str
    title: str | None
    points: float
    passed: bool
    message: str                 # English, with {fields}; feedback.render translates it
    args: dict[str, Any]
    frames: tuple[int, ...]      # the evidence
    filter: str                  # a Wireshark display filter showing it

    @property
    def earned(self) -> float:
        return self.points if self.passed else 0.0


class Measures(NamedTuple):
    """What the cohort page plots (milliseconds)."""

    handshake_rtt_ms: tuple[float, ...]
    latency_ms: tuple[float, ...]
    exchanges: int
    votes: int


class StudentResult(NamedTuple):
    student: str
    path: str
    error: Problem | None        # the capture could not be read (one_line(t): in t's language)
    verdicts: tuple[Verdict, ...]
    measures: Measures
    fingerprint: Fingerprint | None
    signals: tuple[Signal, ...]

    @property
    def earned(self) -> float:
        return sum(v.earned for v in self.verdicts)


def grade_submission(sub: Submission, rubric: Rubric, folder: str | None = None,
                     lang: str = "en", reports: bool = True) -> StudentResult:
    """Grade one submission (and write its folder when `folder` is given)."""
    error = sub.problem
    analysis = None
    fingerprint, signals = None, []
    if error is None:
        try:
            analysis = analyze(sub.path)
            fingerprint, signals = inspect(sub.student, sub.path, rubric.port, rubric.network)
        except AnalysisError as exc:
            error = Problem.of(exc)
        except OSError as exc:
            error = Problem.verbatim(str(exc.strerror or exc), path=sub.path)
    if analysis is None:
        reason = Reason(N_("the capture could not be read: {error}"), {"error": error})
        verdicts = tuple(Verdict(c.id, c.check, c.title, c.points, False,
                                 N_("not graded: {reason}"), {"reason": reason}, (), "")
                         for c in rubric.criteria)
        measures = Measures((), (), 0, 0)
    else:
        view = LabView.of(analysis, rubric.port)
        verdicts = tuple(_verdict(c, view) for c in rubric.criteria)
        measures = _measures(view)
    result = StudentResult(sub.student, sub.path, error, verdicts, measures, fingerprint,
                           tuple(signals))
    if folder is not None:
        write_student_folder(result, analysis, rubric, Path(folder), lang, reports)
    return result


def _verdict(criterion, view: LabView) -> Verdict:
    outcome = CHECKS[criterion.check].run(view, dict(criterion.params))
    return Verdict(criterion.id, criterion.check, criterion.title, criterion.points,
                   outcome.passed, outcome.message, outcome.args, outcome.frames, outcome.filter)


def _measures(view: LabView) -> Measures:
    # only a completed handshake has an RTT (tshark also gives one for a SYN answered by RST)
    rtts = tuple(round(v.conn.irtt * 1000, 3) for v in view.conns
                 if v.conn.irtt is not None and v.first("handshake-ack") is not None)
    exchanges = view.exchanges()
    latencies = tuple(round(e.latency * 1000, 3) for e in exchanges if e.latency is not None)
    answered = sum(1 for e in exchanges if e.response is not None)
    votes = sum(1 for e in exchanges if vote_option(e.request) is not None)
    return Measures(rtts, latencies, answered, votes)


def write_student_folder(result: StudentResult, analysis, rubric: Rubric, folder: Path,
                         lang: str, reports: bool) -> None:
    """The student's own files (the folder is new: fan-out gives each task a fresh one)."""
    folder.mkdir(parents=True, exist_ok=True)
    report = None
    if analysis is not None and reports:
        from analysis.cli import write_outputs  # the analyzer's own report files, as `make analyze`
        write_outputs(analysis, folder)
        report = "report.html"
    _ = translator(lang)
    (folder / "feedback.txt").write_text(feedback_text(result, rubric, _), encoding="utf-8")
    (folder / "feedback.html").write_text(feedback_html(result, rubric, _, lang, report),
                                          encoding="utf-8")
    with open(folder / "verdicts.json", "w", encoding="utf-8") as handle:
        json.dump(result_json(result), handle, indent=1, default=_json_default)
        handle.write("\n")


def result_json(result: StudentResult) -> dict:
    return {"student": result.student, "capture": result.path,
            "error": result.error.one_line() if result.error else None,
            "earned": result.earned,
            "verdicts": [dict(v._asdict(), args=_english(v.args), earned=v.earned)
                         for v in result.verdicts],
            "measures": result.measures._asdict(),
            "signals": [s._asdict() for s in result.signals]}


def _english(value):
    """A verdict's fields for verdicts.json: a Problem (a NamedTuple, which json would write as
    a bare list of its fields) as its English line; a Reason stays [message, args] as before."""
    if isinstance(value, Problem):
        return value.one_line()
    if isinstance(value, Reason):
        return [value.message, _english(value.args)]
    if isinstance(value, dict):
        return {k: _english(v) for k, v in value.items()}
    return value


def _json_default(value):
    if isinstance(value, Reason):
        return value._asdict()
    raise TypeError(type(value).__name__)
