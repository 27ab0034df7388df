"""The thin command line over the library: `python -m analysis FILE... [--json [--fields] | --csv]
[--out DIR] [--phase PHASE] [--conn ID] [--frames FROM-TO] [-Y FILTER]`; `python -m analysis
grade ...` and `batch ...` are analysis/grade/cli.py; `python -m analysis - --live` (and FILE
--live --follow) is analysis/cli_live.py.

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
from analysis.cli_progress import progress_bar
from analysis.errors import AnalysisError, UsageError
from analysis.progress import ProgressHook, ReportSteps
from analysis.report.export import write_csv, write_json, write_json_and_csv
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
                               "or a folder: each is reported in turn, with --out into DIR/<name>/; "
                               "- reads a capture stream on stdin (tcpdump -U -w -)"))
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help=_("print the JSON document (schema in export.py)"))
    fmt.add_argument("--csv", action="store_true", help=_("print the frames as CSV"))
    parser.add_argument("--out", metavar="DIR", help=_("also write the report files into DIR"))
    parser.add_argument("--phase", choices=list(vocabulary.PHASES), help=_("only frames of this phase"))
    parser.add_argument("--conn", type=int, metavar="ID", help=_("only frames of this connection (tcp.stream)"))
    parser.add_argument("--frames", metavar="FROM-TO", type=_frame_range,
                        help=_("only frames FROM to TO (Wireshark's numbers); --conn, --phase, "
                               "--frames and -Y also narrow what report.html's explorer holds"))
    parser.add_argument("-Y", "--filter", metavar="FILTER",
                        help=_("only frames this Wireshark display filter selects (the fields of "
                               "analysis/dissect, plus phase and label: 'phase == \"data\"')"))
    parser.add_argument("--fields", action="store_true",
                        help=_("with --json: each frame's bytes and its field tree (schema_version 4)"))
    parser.add_argument("--summary", action="store_true",
                        help=_("counts only, with the fast columnar engine (for large captures: "
                               "millions of frames/s, memory flat in the file size); with --json as "
                               "a JSON document; with --out, writes summary.txt, summary.json and "
                               "connections.csv"))
    checks = parser.add_mutually_exclusive_group()
    checks.add_argument("-C", "--ignore-checksums", action="store_true",
                        help=_("trust every TCP segment with a bad checksum (as zeek -C)"))
    checks.add_argument("--strict-checksums", action="store_true",
                        help=_("count every bad TCP checksum as bad, also those checksum offload "
                               "explains (Zeek's reading without -C; by default those are trusted, "
                               "with a warning)"))
    live = parser.add_argument_group("live")
    live.add_argument("--live", action="store_true",
                      help=_("print one narrated line per frame as it arrives, then the summary "
                             "(at the end of the stream, or on Ctrl-C)"))
    live.add_argument("--follow", action="store_true",
                      help=_("FILE is still being written: wait for more at its end (tail -f) "
                             "until Ctrl-C or --idle-timeout"))
    live.add_argument("--idle-timeout", type=float, metavar="S",
                      help=_("with --follow: stop after S seconds without new bytes"))
    live.add_argument("--name", action="append", default=[], metavar="IP=NAME",
                      help=_("with --live: call the host at IP NAME in ARP lines (repeatable), "
                             "e.g. --name 172.28.0.2=server"))
    parser.add_argument("--annotate", metavar="OUT.pcapng",
                        help=_("also write the capture as pcapng, each frame's phase, label and "
                               "explanation as its comment (Wireshark: frame.comment), the summary "
                               "as the capture file comment"))
    parser.add_argument("--lang", choices=list(i18n.LANGUAGES),
                        help=_("language of the reports and messages (default: the locale's, "
                               "LANGUAGE/LC_ALL/LC_MESSAGES/LANG; English otherwise)"))
    return parser


def _frame_range(text: str) -> tuple[int, int]:
    low, sep, high = text.partition("-")
    try:
        first, last = int(low), int(high) if sep else int(low)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a frame range such as 100-200") from None
    if first < 1 or last < first:
        raise argparse.ArgumentTypeError(f"{text!r}: frames are numbered from 1, FROM <= TO")
    return first, last


def _narrowed(result, frames, args):
    """--frames and --filter applied to the frames --conn / --phase left."""
    if args.frames is not None:
        first, last = args.frames
        frames = [f for f in frames if first <= f.number <= last]
    if args.filter is not None:
        from analysis.filter import select
        chosen = set(select(args.file, args.filter, result=result))
        frames = [f for f in frames if f.number in chosen]
    return frames


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("grade", "batch"):     # subcommands: analysis/grade/cli.py
        from analysis.grade.cli import main as grade_main
        return grade_main(argv)
    with i18n.argparse_language(i18n.lang_from_argv(argv)):
        args = build_parser().parse_args(argv)
    args.lang = i18n.resolve_lang(args.lang)
    t = i18n.translation(args.lang)
    if args.annotate and (args.summary or len(args.file) > 1 or Path(args.file[0]).is_dir()):
        print(t.gettext("error: {message}").format(message=t.gettext(
            "--annotate writes one capture's frames: give one file, without --summary")),
              file=sys.stderr)
        return 2
    if len(args.file) > 1 or Path(args.file[0]).is_dir():
        from analysis.grade.many import analyze_many
        try:
            return analyze_many(args, main)
        except AnalysisError as error:
            print(t.gettext("error: {message}").format(message=error.one_line(t)), file=sys.stderr)
            return 2
    args.file = args.file[0]
    try:
        if args.live or args.follow or args.file == "-":
            from analysis.cli_live import main_live
            return main_live(args)
        if not Path(args.file).is_file():
            raise AnalysisError(N_("no such capture file"),
                                path=args.file, hint=N_("check the path; make capture writes reqresp.pcap"))
        if args.summary:
            return _summary(args, t)
        with progress_bar(t) as progress:        # drawn only on a terminal, after 2 s of work
            result = analyze(args.file, verify_checksums=not args.ignore_checksums,
                             strict_checksums=args.strict_checksums, progress=progress)
            return report(args, result, progress)
    except AnalysisError as error:
        print(t.gettext("error: {message}").format(message=error.one_line(t)), file=sys.stderr)
        return 2
    except OSError as error:
        print(t.gettext("error: {message}").format(message=f"{args.file}: {error.strerror or error}"),
              file=sys.stderr)
        return 2


def report(args: argparse.Namespace, result, progress: ProgressHook | None = None) -> int:
    """Print (and with --out write) the report of one analysed capture, in args.lang;
    `progress` told how the --out files' writing goes (task "report")."""
    t = i18n.translation(args.lang)
    frames = result.frames
    if args.conn is not None:
        frames = result.frames_of(args.conn)
    if args.phase is not None:
        frames = [f for f in frames if f.phase == check_phase(args.phase)]
    frames = _narrowed(result, frames, args)
    if args.fields and not args.json:
        raise UsageError(N_("--fields adds the field tree to the JSON document: use it with --json"),
                         path=args.file)
    narrowed = any(x is not None for x in (args.conn, args.phase, args.frames, args.filter))
    if args.out:
        written = write_outputs(result, Path(args.out), frames if narrowed else None, args.lang, progress)
    if args.annotate:
        from analysis.report.annotate import annotate
        annotated = annotate(result, args.annotate, lang=args.lang)
    if args.json and args.fields:
        import json

        from analysis.dissect.json import add_fields
        from analysis.report.export import to_document
        json.dump(add_fields(to_document(result, frames, lang=args.lang), result), sys.stdout,
                  indent=1, ensure_ascii=False)
        sys.stdout.write("\n")
    elif args.json:
        write_json(result, sys.stdout, frames, lang=args.lang)
    elif args.csv:
        write_csv(frames, sys.stdout)
    elif sys.stdout.isatty():
        from rich.console import Console
        render_rich(result, Console(), frames, lang=args.lang)
    elif args.out and not narrowed:
        # the text report was just written in full: printed from the file, not made again
        sys.stdout.write((Path(args.out) / "report.txt").read_text(encoding="utf-8"))
    else:
        sys.stdout.write(render_plain(result, frames, lang=args.lang))
    for warning in result.warnings:
        print(t.gettext("warning: {message}").format(message=warning.text(t)), file=sys.stderr)
    if args.out:
        print(t.gettext("wrote {paths}").format(paths=", ".join(str(p) for p in written)),
              file=sys.stderr)
    if args.annotate:
        print(t.gettext("wrote {path} ({frames} frames, each with its comment)").format(
            path=annotated.path, frames=annotated.frames), file=sys.stderr)
    return 0


def _summary(args: argparse.Namespace, t=None) -> int:
    """--summary: the columnar engine's counts, streamed (no frame is kept)."""
    import time

    from analysis.columnar.engine import Scan
    from analysis.columnar.tally import (Tally, connections_dataframe, render_summary,
                                         summary_document)

    if (args.csv or args.phase or args.conn is not None or args.frames is not None
            or args.filter is not None or args.fields):
        raise UsageError(N_("--summary prints counts only (--json: as a JSON document); drop "
                            "--csv/--phase/--conn/--frames/-Y, or drop --summary for the "
                            "frame-by-frame report"), path=args.file)
    _compile_first(t)
    t = t or i18n.translation(i18n.DEFAULT)
    with progress_bar(t) as progress:            # its clock starts here, after the compile
        t0 = time.perf_counter()
        scan = Scan(args.file, verify_checksums=not args.ignore_checksums,
                    strict_checksums=args.strict_checksums, keep_exchanges=False, progress=progress)
        tally = Tally()
        for batch in scan.batches():
            tally.add(batch)
        summary = scan.summary()
        seconds = time.perf_counter() - t0
    # build only what is written: the text for stdout (not --json) and summary.txt, the
    # document for --json and summary.json
    text = render_summary(summary, tally, seconds, t) if args.out or not args.json else None
    document = summary_document(summary, tally, t) if args.out or args.json else None
    if args.json:
        _dump_json(document, sys.stdout)
    else:
        sys.stdout.write(text)
    for warning in summary.warnings:
        print(t.gettext("warning: {message}").format(message=warning.text(t)), file=sys.stderr)
    if args.out:
        out = Path(args.out)

        def write(staging: Path) -> list[Path]:
            (staging / "summary.txt").write_text(text, encoding="utf-8")
            with open(staging / "summary.json", "w", encoding="utf-8") as handle:
                _dump_json(document, handle)
            connections_dataframe(summary.connections).to_csv(staging / "connections.csv", index=False)
            return [staging / "summary.txt", staging / "summary.json", staging / "connections.csv"]

        written = replace_report(out, write)
        print(t.gettext("wrote {paths}").format(paths=", ".join(str(p) for p in written)), file=sys.stderr)
    return 0


def _dump_json(document: dict, handle) -> None:
    """The --summary document as stdout and summary.json both hold it (one spelling of both)."""
    import json

    json.dump(document, handle, indent=1, ensure_ascii=False)
    handle.write("\n")


def _compile_first(t=None) -> None:
    """Compile the kernels before the clock starts, saying so in one line (only if not done yet:
    `make venv` does it at set-up), with a bar of the kernels compiled on a terminal, so printed
    speeds never include the compile."""
    from analysis.columnar import warmup

    if not warmup.compiled():
        t = t or i18n.translation(i18n.DEFAULT)
        print(t.gettext("compiling the analyzer's kernels first (once; about a minute on 2 cores) ..."),
              file=sys.stderr, flush=True)
        with progress_bar(t) as progress:
            warmup.warm_up(progress)


def write_outputs(result, out: Path, frames=None, lang: str = i18n.DEFAULT,
                  progress: ProgressHook | None = None) -> list[Path]:
    """The files `make analyze` leaves under reports/<name>/, replacing an earlier run's whole;
    `frames` (--conn, --phase, --frames, --filter): what report.html's explorer holds;
    `progress`: told each step done and the frames written (task "report")."""
    return replace_report(out, lambda staging: _write_report_files(result, staging, frames, lang, progress))


def _write_report_files(result, out: Path, frames=None, lang: str = i18n.DEFAULT,
                        progress: ProgressHook | None = None) -> list[Path]:
    # report.html, report.md and their figures (ladder.png/.svg, ...); imported here because
    # matplotlib is slow to import and only --out needs it.
    from analysis.report.html import REPORT_STEPS, write_reports

    steps = ReportSteps(progress, 2 + REPORT_STEPS, result.frame_count)
    paths = []
    with open(out / "analysis.json", "w", encoding="utf-8") as json_out, \
            open(out / "frames.csv", "w", encoding="utf-8", newline="") as csv_out:
        write_json_and_csv(result, json_out, csv_out, lang=lang, on_frames=steps.frames_written)
    steps.step_done()
    paths += [out / "analysis.json", out / "frames.csv"]
    (out / "report.txt").write_text(render_plain(result, lang=lang), encoding="utf-8")
    steps.step_done()
    paths.append(out / "report.txt")
    paths += write_reports(result, out, frames, lang=lang, on_step=steps.step_done)
    return paths
