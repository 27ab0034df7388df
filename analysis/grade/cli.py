"""`python -m analysis grade ...` and `python -m analysis batch ...` (dispatched from analysis/cli.py).

Exit status: 0 when every capture was read; 1 when some could not be (each is listed at the end
on stderr, one line each, and everything else was still done); 2 for a bad argument or rubric
(one line, nothing written).
"""
from __future__ import annotations

import argparse
import sys
from gettext import gettext as _   # the global domain: i18n.argparse_language binds our catalog
from typing import Sequence

from analysis.errors import AnalysisError
from analysis import i18n
from analysis.cli_progress import progress_bar
from analysis.i18n import N_


def _fan_out_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workers", type=int, metavar="N",
                        help=_("Dask worker processes on this machine (default: one per core; "
                               "1: serial, in this process)"))
    parser.add_argument("--scheduler", metavar="tcp://HOST:8786",
                        help=_("run on an existing Dask cluster instead (its workers must see the "
                               "same paths)"))


def _lang_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--lang", choices=list(i18n.LANGUAGES), default=None, help=what)


def grade_parser() -> argparse.ArgumentParser:
    """The parser; its texts are in the language of the i18n.argparse_language block it is built in."""
    parser = argparse.ArgumentParser(
        prog="python -m analysis grade",
        description=_("Grade a class's captures against a rubric: gradebook.csv, grades.html and "
                      "each student's feedback and report (README: Grading a class)."))
    parser.add_argument("submissions", nargs="+", metavar="SUBMISSION",
                        help=_("a capture file or a student's folder (id: file stem / folder name), "
                               "or a class folder holding them"))
    parser.add_argument("--rubric", metavar="FILE", help=_("rubric TOML (default: the course's lab)"))
    parser.add_argument("--out", metavar="DIR", default="grades", help=_("output folder (grades)"))
    _lang_option(parser, _("language of the feedback, the cohort page and the messages (default: "
                           "the locale's, as gettext reads LANGUAGE, LC_ALL, LC_MESSAGES, LANG; "
                           "else en)"))
    parser.add_argument("--no-reports", action="store_true",
                        help=_("skip each student's analyzer report (faster: feedback only)"))
    _fan_out_options(parser)
    return parser


def batch_parser() -> argparse.ArgumentParser:
    """The parser; its texts are in the language of the i18n.argparse_language block it is built in."""
    parser = argparse.ArgumentParser(
        prog="python -m analysis batch",
        description=_("One row per capture (counts by phase and label, connections, conn_states, "
                      "exchanges, votes, warnings) into DIR/batch.parquet and DIR/batch.csv."))
    parser.add_argument("paths", nargs="+", metavar="FILE-OR-FOLDER",
                        help=_("capture files, or folders of them (searched recursively)"))
    parser.add_argument("--out", metavar="DIR", required=True, help=_("output folder"))
    # the table's columns and its error column stay English (machine-readable): --lang is the
    # language of what the command prints
    _lang_option(parser, _("language of the messages (default: the locale's, as gettext reads "
                           "LANGUAGE, LC_ALL, LC_MESSAGES, LANG; else en)"))
    _fan_out_options(parser)
    return parser


def main(argv: Sequence[str]) -> int:
    """argv starts with the subcommand: ["grade", ...] or ["batch", ...]."""
    command, rest = argv[0], list(argv[1:])
    with i18n.argparse_language(i18n.lang_from_argv(rest)):   # usage:/error: in that language too
        args = (grade_parser() if command == "grade" else batch_parser()).parse_args(rest)
    args.lang = i18n.resolve_lang(args.lang)
    t = i18n.translation(args.lang)
    try:
        return _grade(args, t) if command == "grade" else _batch(args, t)
    except AnalysisError as error:
        print(t.gettext("error: {message}").format(message=error.one_line(t)), file=sys.stderr)
        return 2
    except OSError as error:
        where = getattr(error, "filename", "") or ""
        print(t.gettext("error: {message}").format(message=f"{where}: {error.strerror or error}"),
              file=sys.stderr)
        return 2


def _grade(args, t) -> int:
    from analysis.grade.cohort import grade

    # a bar on a terminal once grading takes over 2 s: submissions, bytes, rate, time left
    with progress_bar(t, label=t.gettext(N_("grading the captures"))) as progress:
        cohort = grade(args.submissions, rubric=args.rubric, out=args.out, lang=args.lang,
                       workers=args.workers, scheduler=args.scheduler,
                       reports=not args.no_reports, progress=progress)
    results = cohort.results
    mean = sum(r.earned for r in results) / len(results) if results else 0.0
    graded = t.ngettext("graded {count} submission (mean {mean} of {points})",
                        "graded {count} submissions (mean {mean} of {points})", len(results))
    signals = t.ngettext("{count} integrity signal", "{count} integrity signals", len(cohort.signals))
    print(t.gettext("{graded}; {signals}").format(
        graded=graded.format(count=len(results), mean=f"{mean:.1f}",
                             points=f"{cohort.rubric.max_points:g}"),
        signals=signals.format(count=len(cohort.signals))))
    print(t.gettext("wrote {gradebook}, {page}, {integrity} and a folder per student").format(
        gradebook=cohort.out / "gradebook.csv", page=cohort.out / "grades.html",
        integrity=cohort.out / "integrity.csv"))
    failed = [r for r in results if r.error]
    for r in failed:
        print(t.gettext("error: {message}").format(message=f"{r.student}: {r.error.one_line(t)}"),
              file=sys.stderr)
    return 1 if failed else 0


def _batch(args, t) -> int:
    from analysis.grade.batch_table import batch

    with progress_bar(t) as progress:             # on a terminal, after 2 s
        result = batch(args.paths, args.out, workers=args.workers, scheduler=args.scheduler,
                       progress=progress)
    captures = t.ngettext("{count} capture, {failed} failed; wrote {paths}",
                          "{count} captures, {failed} failed; wrote {paths}", len(result.rows))
    print(captures.format(count=len(result.rows), failed=len(result.failed),
                          paths=", ".join(str(p) for p in result.written)))
    for path, problem in result.failed:
        line = problem.one_line(t)        # it names the file already, or not (a crashed task's)
        print(t.gettext("error: {message}").format(
            message=line if line.startswith(path) else f"{path}: {line}"), file=sys.stderr)
    return 1 if result.failed else 0
