"""The thin command line over the library: `python -m analysis FILE... [--json | --csv] [--out DIR]
[--phase PHASE] [--conn ID]`; `python -m analysis grade ...` and `batch ...` are analysis/grade/cli.py.

Exit status: 0 (also when there are warnings, which go to stderr), 2 for a bad input or argument
(one line on stderr, no traceback).
"""
from __future__ import annotations

import argparse
import sys
from gettext import gettext as _   # the global domain: i18n.argparse_language binds our catalog
from pathlib import Path
from typing import Sequence

from analysis import i18n, vocabulary
from analysis.i18n import N_
from analysis.api import analyze, check_phase
from analysis.errors import AnalysisError, UsageError
from analysis.report.export import write_csv, write_json
from analysis.report.files import replace_report
from analysis.report.text import render_plain, render_rich


def build_parser() -> argparse.ArgumentParser:
    """The parser; its texts are in the language of the i18n.argparse_language block it is built in."""
    parser = argparse.ArgumentParser(
        prog="python -m analysis",
        description=_("Explain a pcap/pcapng capture frame by frame: phases, labels, Wireshark's TCP "
                      "analysis flags, Zeek connection states, request/response exchanges."),
        epilog=_("Also: python -m analysis grade ... (grade a class) and python -m analysis batch "
                 "... (a row per capture); each has --help."))
    parser.add_argument("file", nargs="+",
                        help=_("capture file (pcap or pcapng, detected by content); several files "
                               "or a folder: each is reported in turn, with --out into DIR/<name>/"))
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help=_("print the JSON document (schema in export.py)"))
    fmt.add_argument("--csv", action="store_true", help=_("print the frames as CSV"))
    parser.add_argument("--out", metavar="DIR", help=_("also write the report files into DIR"))
    parser.add_argument("--phase", choices=list(vocabulary.PHASES), help=_("only frames of this phase"))
    parser.add_argument("--conn", type=int, metavar="ID", help=_("only frames of this connection (tcp.stream)"))
    parser.add_argument("--summary", action="store_true",
                        help=_("counts only, with the fast columnar engine (for large captures: "
                               "millions of frames/s, memory flat in the file size); with --out, "
                               "writes summary.txt and connections.csv"))
    parser.add_argument("-C", "--ignore-checksums", action="store_true",
                        help=_("trust TCP segments with bad checksums (as zeek -C), e.g. for captures "
                               "taken on a host with checksum offload"))
    parser.add_argument("--lang", choices=list(i18n.LANGUAGES),
                        help=_("language of the reports and messages (default: the locale's, "
                               "LANGUAGE/LC_ALL/LC_MESSAGES/LANG; English otherwise)"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("grade", "batch"):     # subcommands: analysis/grade/cli.py
        from analysis.grade.cli import main as grade_main
        return grade_main(argv)
    with i18n.argparse_language(i18n.lang_from_argv(argv)):
        args = build_parser().parse_args(argv)
    args.lang = i18n.resolve_lang(args.lang)
    t = i18n.translation(args.lang)
    if len(args.file) > 1 or Path(args.file[0]).is_dir():
        from analysis.grade.many import analyze_many
        try:
            return analyze_many(args, main)
        except AnalysisError as error:
            print(t.gettext("error: {message}").format(message=error.one_line(t)), file=sys.stderr)
            return 2
    args.file = args.file[0]
    try:
        if not Path(args.file).is_file():
            raise AnalysisError(N_("no such capture file"),
                                path=args.file, hint=N_("check the path; make capture writes reqresp.pcap"))
        if args.summary:
            return _summary(args, t)
        result = analyze(args.file, verify_checksums=not args.ignore_checksums)
        frames = result.frames
        if args.conn is not None:
            frames = result.frames_of(args.conn)
        if args.phase is not None:
            frames = [f for f in frames if f.phase == check_phase(args.phase)]
        if args.out:
            written = write_outputs(result, Path(args.out), args.lang)
        if args.json:
            write_json(result, sys.stdout, frames, lang=args.lang)
        elif args.csv:
            write_csv(frames, sys.stdout)
        elif sys.stdout.isatty():
            from rich.console import Console
            render_rich(result, Console(), frames, lang=args.lang)
        else:
            sys.stdout.write(render_plain(result, frames, lang=args.lang))
        for warning in result.warnings:
            print(t.gettext("warning: {message}").format(message=warning.text(t)), file=sys.stderr)
        if args.out:
            print(t.gettext("wrote {paths}").format(paths=", ".join(str(p) for p in written)),
                  file=sys.stderr)
        return 0
    except AnalysisError as error:
        print(t.gettext("error: {message}").format(message=error.one_line(t)), file=sys.stderr)
        return 2
    except OSError as error:
        print(t.gettext("error: {message}").format(message=f"{args.file}: {error.strerror or error}"),
              file=sys.stderr)
        return 2


def _summary(args: argparse.Namespace, t=None) -> int:
    """--summary: the columnar engine's counts, streamed (no frame is kept)."""
    import time

    from analysis.columnar.engine import Scan
    from analysis.columnar.tally import Tally, connections_dataframe, render_summary

    if args.json or args.csv or args.phase or args.conn is not None:
        raise UsageError(N_("--summary prints counts only; drop --json/--csv/--phase/--conn, or "
                            "drop --summary for the frame-by-frame report"), path=args.file)
    _compile_first(t)
    t0 = time.perf_counter()
    scan = Scan(args.file, verify_checksums=not args.ignore_checksums, keep_exchanges=False)
    tally = Tally()
    for batch in scan.batches():
        tally.add(batch)
    summary = scan.summary()
    text = render_summary(summary, tally, time.perf_counter() - t0)
    sys.stdout.write(text)
    t = t or i18n.translation(i18n.DEFAULT)
    for warning in summary.warnings:
        print(t.gettext("warning: {message}").format(message=warning.text(t)), file=sys.stderr)
    if args.out:
        out = Path(args.out)

        def write(staging: Path) -> list[Path]:
            (staging / "summary.txt").write_text(text, encoding="utf-8")
            connections_dataframe(summary.connections).to_csv(staging / "connections.csv", index=False)
            return [staging / "summary.txt", staging / "connections.csv"]

        written = replace_report(out, write)
        print(t.gettext("wrote {paths}").format(paths=", ".join(str(p) for p in written)), file=sys.stderr)
    return 0


def _compile_first(t=None) -> None:
    """Compile the kernels before the clock starts, saying so in one line (only if not done yet:
    `make venv` does it at set-up), so printed speeds never include the compile."""
    from analysis.columnar import warmup

    if not warmup.compiled():
        t = t or i18n.translation(i18n.DEFAULT)
        print(t.gettext("compiling the analyzer's kernels first (once; about a minute on 2 cores) ..."),
              file=sys.stderr, flush=True)
        warmup.warm_up()


def write_outputs(result, out: Path, lang: str = i18n.DEFAULT) -> list[Path]:
    """The files `make analyze` leaves under reports/<name>/, replacing an earlier run's whole."""
    return replace_report(out, lambda staging: _write_report_files(result, staging, lang))


def _write_report_files(result, out: Path, lang: str = i18n.DEFAULT) -> list[Path]:
    paths = []
    with open(out / "analysis.json", "w", encoding="utf-8") as handle:
        write_json(result, handle, lang=lang)
    paths.append(out / "analysis.json")
    with open(out / "frames.csv", "w", encoding="utf-8", newline="") as handle:
        write_csv(result.frames, handle)
    paths.append(out / "frames.csv")
    (out / "report.txt").write_text(render_plain(result, lang=lang), encoding="utf-8")
    paths.append(out / "report.txt")
    # report.html, report.md and their figures (ladder.png/.svg, ...); imported here because
    # matplotlib is slow to import and only --out needs it.
    from analysis.report.html import write_reports
    paths += write_reports(result, out, lang=lang)
    return paths
