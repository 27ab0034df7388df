"""The grader's errors: branches of the analysis package's one tree (analysis/errors.py).

    AnalysisError
    ├── UsageError
    │   ├── RubricError       a rubric file that cannot be used: names the file and line (exit 2)
    │   └── SubmissionError   a submission path that does not exist or ids that collide (exit 2)
    └── ...

A capture that cannot be read is not an error of the run: it is recorded against its student
(the row says why) and the others are graded.
"""
from __future__ import annotations

from analysis.errors import UsageError


class RubricError(UsageError):
    """The rubric is not valid TOML, names an unknown check, or gives a bad parameter."""

    def __init__(self, message: str, *, path: str, line: int | None = None,
                 hint: str | None = None) -> None:
        self.line = line
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(message, path=where, hint=hint)


class SubmissionError(UsageError):
    """A submission argument is not a file or folder, or two submissions get the same id."""
