"""Writing a report folder so that a re-run replaces the earlier report whole.

A report is written into a hidden staging folder beside DIR first; only when every file is written
are the earlier run's report files in DIR removed (by name: the files a report consists of, never
anything else a user keeps there) and the new ones moved in. So a capture with fewer connections
than the last one leaves no stale tseq-conn<N>.png behind, and a failure half-way leaves the earlier
report as it was.
"""
from __future__ import annotations

import fnmatch
import os
import shutil
from pathlib import Path
from typing import Callable

# Every file name a report folder can hold (cli.write_outputs, report_html.write_reports, --summary).
REPORT_FILE_PATTERNS = ("analysis.json", "frames.csv", "report.txt", "report.html", "report.md",
                        "ladder.png", "ladder.svg", "timeline.png", "tseq-conn*.png",
                        "summary.txt", "connections.csv")


def is_report_file(name: str) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in REPORT_FILE_PATTERNS)


def replace_report(out: Path, write: Callable[[Path], list[Path]]) -> list[Path]:
    """Call ``write(staging)`` and put what it wrote in ``out`` in place of the earlier report."""
    out.mkdir(parents=True, exist_ok=True)
    staging = out.parent / f".{out.name}.{os.getpid()}.staging"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        written = write(staging)
        for old in out.iterdir():
            if old.is_file() and is_report_file(old.name):
                old.unlink()
        final = []
        for path in written:
            target = out / path.relative_to(staging)
            os.replace(path, target)
            final.append(target)
        return final
    finally:
        shutil.rmtree(staging, ignore_errors=True)
