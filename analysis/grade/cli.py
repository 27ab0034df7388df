"""`python -m analysis grade ...` and `python -m analysis batch ...` (dispatched from analysis/cli.py).

Exit status: 0 when every capture was read; 1 when some could not be (each is listed at the end
on stderr, one line each, and everything else was still done); 2 for a bad argument or rubric
(one line, nothing written).
"""
from __future__ import annotations

import argparse
import sys
from typing import Sequence

from analysis.errors import AnalysisError
from analysis import i18n
from analysis.cli_progress import progress_bar
from analysis.i18n import N_
from analysis.grade.feedback import LANGUAGES


def _fan_out_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workers", type=int, metavar="N",
                        help="Dask worker processes on this machine (default: one per core; "
                             "1: serial, in this process)")
    parser.add_argument("--scheduler", metavar="tcp://HOST:8786",
                        help="run on an existing Dask cluster instead (its workers must see the "
                             "same paths)")


def grade_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m analysis grade",
        description="Grade a class's captures against a rubric: gradebook.csv, grades.html and "
                    "each student's feedback and report (README: Grading a class).")
    parser.add_argument("submissions", nargs="+", metavar="SUBMISSION",
                        help="a capture file or a student's folder (id: file stem / folder name), "
                             "or a class folder holding them")
    parser.add_argument("--rubric", metavar="FILE", help="rubric TOML (default: the course's lab)")
    parser.add_argument("--out", metavar="DIR", default="grades", help="output folder (grades)")
    parser.add_argument("--lang", choices=list(LANGUAGES), default=None,
                        help="language of the feedback and the cohort page (default: the "
                             "locale's, as gettext reads LANGUAGE, LC_ALL, LC_MESSAGES, LANG; else en)")
    parser.add_argument("--no-reports", action="store_true",
                        help="skip each student's analyzer report (faster: feedback only)")
    _fan_out_options(parser)
    return parser


def batch_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m analysis batch",
        description="One row per capture (counts by phase and label, connections, conn_states, "
                    "exchanges, votes, warnings) into DIR/batch.parquet and DIR/batch.csv.")
    parser.add_argument("paths", nargs="+", metavar="FILE-OR-FOLDER")
    parser.add_argument("--out", metavar="DIR", required=True, help="output folder")
    _fan_out_options(parser)
    return parser


def main(argv: Sequence[str]) -> int:
    """argv starts with the subcommand: ["grade", ...] or ["batch", ...]."""
    command, rest = argv[0], list(argv[1:])
    with i18n.argparse_language(i18n.lang_from_argv(rest)):   # usage:/error: in that language too
        args = (grade_parser() if command == "grade" else batch_parser()).parse_args(rest)
    if getattr(args, "lang", "en") is None:
        args.lang = i18n.resolve_lang(None)
    try:
        return _grade(args) if command == "grade" else _batch(args)
    except AnalysisError as error:
        print(f"error: {error.one_line()}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"error: {getattr(error, 'filename', '') or ''}: {error.strerror or error}",
              file=sys.stderr)
        return 2


def _grade(args) -> int:
    from analysis.grade.cohort import grade

    t = i18n.translation(args.lang)
    # a bar on a terminal once grading takes over 2 s: submissions, bytes, rate, time left
    with progress_bar(t, label=t.gettext(N_("grading the captures"))) as progress:
        cohort = grade(args.submissions, rubric=args.rubric, out=args.out, lang=args.lang,
                       workers=args.workers, scheduler=args.scheduler,
                       reports=not args.no_reports, progress=progress)
    results = cohort.results
    mean = sum(r.earned for r in results) / len(results) if results else 0.0
    print(f"graded {len(results)} submissions (mean {mean:.1f} of {cohort.rubric.max_points:g}); "
          f"{len(cohort.signals)} integrity signals")
    print(f"wrote {cohort.out / 'gradebook.csv'}, {cohort.out / 'grades.html'}, "
          f"{cohort.out / 'integrity.csv'} and a folder per student")
    failed = [r for r in results if r.error]
    for r in failed:
        print(f"error: {r.student}: {r.error}", file=sys.stderr)
    return 1 if failed else 0


def _batch(args) -> int:
    from analysis.grade.batch_table import batch

    lang = getattr(args, "lang", None) or i18n.resolve_lang(None)    # batch has no --lang: the locale's
    with progress_bar(i18n.translation(lang)) as progress:             # on a terminal, after 2 s
        result = batch(args.paths, args.out, workers=args.workers, scheduler=args.scheduler,
                       progress=progress)
    print(f"{len(result.rows)} captures, {len(result.failed)} failed; wrote "
          + ", ".join(str(p) for p in result.written))
    for path, error in result.failed:
        print(f"error: {error}" if path in error else f"error: {path}: {error}", file=sys.stderr)
    return 1 if result.failed else 0
