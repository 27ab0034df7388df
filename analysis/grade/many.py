"""`python -m analysis a.pcap b.pcap` and `python -m analysis FOLDER`: the one-file command once
per capture, each report in its own place.

The captures and their names follow the grader's rule (submissions.py): `alice/reqresp.pcap`
and `bob/reqresp.pcap` are `alice` and `bob`. With `--out DIR`, each capture's report files go to
DIR/<name>/, written into a staging folder first and then swapped in whole (no stale files of an
earlier run). Without `--out` the reports follow one another on stdout, each announced on stderr.
A capture that fails is reported and the others go on; the exit status is the worst one's.
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Callable, Sequence

from analysis import i18n
from analysis.grade.submissions import find_submissions


def _flags(args) -> list[str]:
    flags = []
    for name in ("json", "csv", "summary", "ignore_checksums", "strict_checksums"):
        if getattr(args, name):
            flags.append("--" + name.replace("_", "-"))
    if args.phase:
        flags += ["--phase", args.phase]
    if args.conn is not None:
        flags += ["--conn", str(args.conn)]
    if getattr(args, "lang", None):
        flags += ["--lang", args.lang]
    return flags


def analyze_many(args, run_one: Callable[[Sequence[str]], int]) -> int:
    """`args`: analysis/cli.py's parsed arguments (args.file a list); run_one: its main()."""
    t = i18n.translation(args.lang or i18n.DEFAULT)
    subs = find_submissions(args.file)
    worst = 0
    out = Path(args.out) if args.out else None
    for sub in subs:
        if sub.problem is not None:
            print(t.gettext("error: {message}").format(
                message=f"{sub.path}: {sub.problem.one_line(t)}"), file=sys.stderr)
            worst = max(worst, 2)
            continue
        print(f"== {sub.student}: {sub.path}", file=sys.stderr, flush=True)
        if out is None:
            worst = max(worst, run_one([sub.path, *_flags(args)]))
            sys.stdout.flush()
            continue
        out.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=out))
        try:
            status = run_one([sub.path, *_flags(args), "--out", str(staging / sub.student)])
            worst = max(worst, status)
            if status == 0:
                target = out / sub.student
                if target.exists():
                    os.replace(target, staging / ".old")
                os.replace(staging / sub.student, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return worst
