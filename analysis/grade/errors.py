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

from typing import Callable, NamedTuple

from analysis.errors import AnalysisError, UsageError


class RubricError(UsageError):
    """The rubric is not valid TOML, names an unknown check, or gives a bad parameter."""

    def __init__(self, message: str, *, path: str, line: int | None = None,
                 hint: str | None = None, fields: dict | None = None) -> None:
        self.line = line
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(message, path=where, hint=hint, fields=fields)


class SubmissionError(UsageError):
    """A submission argument is not a file or folder, or two submissions get the same id."""


class Problem(NamedTuple):
    """Why one capture could not be graded or tabled, as language-free data: the English template
    and its fields (as AnalysisError keeps them), so each output says it in its own language
    (`one_line(t)`); `one_line()` is the English line the gradebook, verdicts.json and
    batch.parquet keep. Small and picklable: it comes back from Dask workers."""

    template: str
    fields: tuple[tuple[str, object], ...] = ()
    path: str | None = None
    frame: int | None = None
    hint: str | None = None

    @classmethod
    def of(cls, error: AnalysisError) -> "Problem":
        return cls(error.template, tuple(error.fields.items()), error.path, error.frame,
                   error.hint_template)

    @classmethod
    def verbatim(cls, text: str, path: str | None = None) -> "Problem":
        """A text that is not ours to translate (the OS's strerror, a crashed task's exception)."""
        return cls("{text}", (("text", text),), path)

    def one_line(self, t=None) -> str:
        """What, where, what to do: English, or in the language of `t` (a gettext translation, or
        a gettext function as the feedback pages hold)."""
        if callable(t) and not hasattr(t, "gettext"):
            t = _Gettext(t)
        return AnalysisError(self.template, path=self.path, frame=self.frame, hint=self.hint,
                             fields=dict(self.fields)).one_line(t)


class _Gettext(NamedTuple):
    gettext: Callable[[str], str]
