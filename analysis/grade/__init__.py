"""Grading a class's captures against a rubric (README, "Grading a class").

    from analysis.grade import grade, load_rubric, batch
    cohort = grade(["submissions/"], out="grades", lang="id")   # cohort.py
    rubric = load_rubric("my-rubric.toml")                      # rubric.py; checks in checks.py
    table = batch(["captures/"], out="batch")                   # batch_table.py: a row per capture

Modules, one job each: submissions (who handed in what), rubric (TOML -> Rubric), checks (the
closed set of checks), lab_view (what the checks read off the public records), grader (one
student), integrity (signals, never graded), feedback (gettext texts), gradebook (CSV), html
(grades.html), fanout (serial / Dask), cohort (a whole class and its output folder), batch_table
(`batch`), cli,
many (the analyzer over several files).
"""
from __future__ import annotations

__all__ = ["grade", "load_rubric", "batch", "Cohort", "Rubric", "StudentResult", "Verdict",
           "RubricError", "SubmissionError"]

_WHERE = {"grade": "cohort", "Cohort": "cohort", "load_rubric": "rubric", "Rubric": "rubric",
          "batch": "batch_table", "StudentResult": "grader", "Verdict": "grader",
          "RubricError": "errors", "SubmissionError": "errors"}


def __getattr__(name: str):
    # lazy, as analysis/__init__: `python -m analysis FILE` does not pay for the grader's imports
    if name in _WHERE:
        from importlib import import_module
        return getattr(import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(name)
