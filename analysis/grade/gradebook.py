"""gradebook.csv: a row per student (sorted by id), a column per criterion (its points earned),
the total, and two columns the instructor reads but that earn nothing: `integrity` (the kinds
of integrity signals, `;`-separated) and `error` (why a capture could not be read).

Numbers are written with `:g` and rows sorted by student id, so the same class gives the same
bytes whatever ran it (serially or on any number of Dask workers).
"""
from __future__ import annotations

import csv
import io
from typing import Sequence

from analysis.grade.grader import StudentResult
from analysis.grade.integrity import Signal
from analysis.grade.rubric import Rubric


def gradebook_csv(results: Sequence[StudentResult], rubric: Rubric,
                  signals: Sequence[Signal]) -> str:
    kinds: dict[str, set[str]] = {}
    for signal in signals:
        for student in signal.students:
            kinds.setdefault(student, set()).add(signal.kind)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["student", "capture", *(c.id for c in rubric.criteria), "total", "max",
                     "integrity", "error"])
    for result in sorted(results, key=lambda r: r.student):
        earned = {v.criterion: v.earned for v in result.verdicts}
        writer.writerow([result.student, result.path,
                         *(f"{earned.get(c.id, 0.0):g}" for c in rubric.criteria),
                         f"{result.earned:g}", f"{rubric.max_points:g}",
                         ";".join(sorted(kinds.get(result.student, ()))),
                         result.error.one_line() if result.error else ""])   # data: English
    return out.getvalue()
