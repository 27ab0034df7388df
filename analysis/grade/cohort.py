"""Grade a class: find the submissions, grade each (fan-out), write the outputs, swap them in.

    from analysis.grade import grade
    cohort = grade(["submissions/"], out="grades", lang="id")
    cohort.results          # StudentResult per student, sorted by id
    cohort.signals          # integrity signals (never graded)

Output folder (`out`):
    gradebook.csv           a row per student (gradebook.py)
    grades.html             the cohort page (html.py), self-contained
    integrity.csv           every integrity signal, one a row
    <student>/              feedback.txt, feedback.html, verdicts.json, and the analyzer's report
                            (report.html, analysis.json, frames.csv, figures)

Reports never collide and never go stale: every file is written first into a fresh staging
folder inside `out`, and only when the whole run succeeded is each student's folder swapped in
whole (the old one renamed away, then removed) and the top-level files replaced. Student folders
a previous run wrote for students no longer in the class are removed too (out/.students lists
them); nothing else in `out` is touched. A run that fails leaves the previous outputs as they were.
"""
from __future__ import annotations

import csv
import io
import os
import shutil
import tempfile
from pathlib import Path
from typing import NamedTuple, Sequence

from analysis.grade.checks import N_, Reason
from analysis.grade.errors import Problem
from analysis.grade.fanout import TaskError, fan_out
from analysis.grade.feedback import render, translator
from analysis.grade.gradebook import gradebook_csv
from analysis.grade.grader import Measures, StudentResult, Verdict, grade_submission, write_student_folder
from analysis.grade.integrity import Signal, duplicates
from analysis.grade.rubric import Rubric, load_rubric
from analysis.grade.submissions import Submission, find_submissions
from analysis.progress import ProgressHook, files_progress

_MANIFEST = ".students"
# {error}: the crashed task's exception, as Python wrote it
GRADER_FAILED = N_("the grader failed on this capture: {error}")


class Cohort(NamedTuple):
    rubric: Rubric
    results: tuple[StudentResult, ...]
    signals: tuple[Signal, ...]
    out: Path | None


def grade(submissions: Sequence[str | os.PathLike], *, rubric: str | os.PathLike | None = None,
          out: str | os.PathLike | None = "grades", lang: str = "en", workers: int | None = None,
          scheduler: str | None = None, reports: bool = True,
          progress: ProgressHook | None = None) -> Cohort:
    """Grade every submission against the rubric (the course's default when None).

    out=None grades without writing anything. `progress` (analysis.progress) is told as each
    submission is graded (submissions, bytes). Raises RubricError / SubmissionError."""
    the_rubric = load_rubric(rubric)
    _ = translator(lang)        # fails now, not after grading, if the catalog is missing
    subs = find_submissions(submissions, exclude=Path(out) if out is not None else None)
    on_done = files_progress(progress, [s.path for s in subs])
    if out is None:
        results = _collect(subs, fan_out(_task, subs, args=(the_rubric, None, lang, reports),
                                         workers=workers, scheduler=scheduler, on_done=on_done),
                           the_rubric)
        return Cohort(the_rubric, results, _signals(results), None)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=out))
    try:
        raw = fan_out(_task, subs, args=(the_rubric, str(staging), lang, reports),
                      workers=workers, scheduler=scheduler, on_done=on_done)
        results = _collect(subs, raw, the_rubric)
        for result in results:            # a task that crashed wrote no folder: its feedback
            if not (staging / result.student).exists():
                write_student_folder(result, None, the_rubric, staging / result.student, lang,
                                     reports)
        signals = _signals(results)
        _write_top(staging, results, signals, the_rubric, lang, _, reports)
        _swap_in(staging, out, [r.student for r in results])
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return Cohort(the_rubric, results, signals, out)


def _task(sub: Submission, rubric: Rubric, staging: str | None, lang: str, reports: bool):
    folder = None if staging is None else str(Path(staging) / sub.student)
    return grade_submission(sub, rubric, folder, lang, reports)


def _collect(subs, raw, rubric: Rubric) -> tuple[StudentResult, ...]:
    results = []
    for sub, result in zip(subs, raw):
        if isinstance(result, TaskError):
            # an unexpected crash of the grader on this capture: recorded, the class goes on
            reason = Reason(GRADER_FAILED, {"error": result.one_line()})
            result = StudentResult(
                sub.student, sub.path, Problem(GRADER_FAILED, (("error", result.one_line()),)),
                tuple(Verdict(c.id, c.check, c.title, c.points, False, N_("not graded: {reason}"),
                              {"reason": reason}, (), "") for c in rubric.criteria),
                Measures((), (), 0, 0), None, ())
        results.append(result)
    return tuple(sorted(results, key=lambda r: r.student))


def _signals(results: Sequence[StudentResult]) -> tuple[Signal, ...]:
    own = [s for r in results for s in r.signals]
    return tuple(own + duplicates([(r.student, r.fingerprint) for r in results]))


def _write_top(staging: Path, results, signals, rubric: Rubric, lang: str, _, reports: bool
               ) -> None:
    from analysis.grade.html import grades_html  # matplotlib: imported only when pages are written

    (staging / "gradebook.csv").write_text(gradebook_csv(results, rubric, signals), encoding="utf-8")
    (staging / "grades.html").write_text(grades_html(results, signals, rubric, lang, _, reports),
                                         encoding="utf-8")
    table = io.StringIO()
    writer = csv.writer(table, lineterminator="\n")
    writer.writerow(["kind", "students", "message", "frames", "filter"])
    for s in signals:
        writer.writerow([s.kind, ";".join(s.students), render(s.message, s.args, _),
                         " ".join(map(str, s.frames)), s.filter])
    (staging / "integrity.csv").write_text(table.getvalue(), encoding="utf-8")
    (staging / _MANIFEST).write_text("".join(f"{r.student}\n" for r in results), encoding="utf-8")


def _swap_in(staging: Path, out: Path, students: list[str]) -> None:
    """Move the staged run into `out`: each student's folder whole, then the top-level files."""
    old = out / _MANIFEST
    before = old.read_text(encoding="utf-8").split() if old.exists() else []
    trash = Path(tempfile.mkdtemp(prefix=".old-", dir=out))
    try:
        for student in sorted(set(before) - set(students)):
            if (out / student).is_dir():
                os.replace(out / student, trash / student)
        for student in students:
            staged = staging / student
            if not staged.exists():
                continue
            if (out / student).exists():
                os.replace(out / student, trash / student)
            os.replace(staged, out / student)
        for name in ("gradebook.csv", "grades.html", "integrity.csv", _MANIFEST):
            os.replace(staging / name, out / name)
    finally:
        shutil.rmtree(trash, ignore_errors=True)
