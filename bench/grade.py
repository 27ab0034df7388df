"""`make bench-grade` (part of `make bench`): grading and batch-analysing a class, serial against
a local Dask cluster of 2 worker processes, reported as a ratio in bench/grade-results.md.

    python -m bench.grade                      # 200 course-sized captures + 10 large ones
    python -m bench.grade --quick --data /tmp/d --out /tmp/o    # tiny end-to-end check (tests)

Inputs (bench/data/grade/, made once): the course-sized captures are copies of the real lab
captures shipped in notebooks/data (reqresp, lossy, refused) under 200 student names; the large
ones are the lab's session replicated (bench/analyzer/inputs.replicate: every connection a new 4-tuple) to
LARGE_PACKETS frames each. Each measurement is the median of RUNS runs of
`grade(..., workers=1 | 2, reports=False)` (the gradebook, feedback and cohort page), of the
same with each student's analyzer report (report.html and its figures) on the first 40, and of
`batch(..., workers=1 | 2)` on the large files. The gradebooks of both runs must be identical.
The cluster's start-up is inside the time: it is what a user waits for.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

from bench.analyzer import inputs

HERE = Path(__file__).resolve().parent
LAB = HERE.parent / "notebooks" / "data"
SOURCES = ("reqresp.pcap", "lossy.pcap", "refused.pcap")


def make_inputs(data: Path, students: int, large: int, packets: int) -> tuple[Path, Path]:
    course, big = data / f"course-{students}", data / f"large-{large}x{packets}"
    if not course.exists():
        partial = course.with_name(course.name + ".tmp")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        for i in range(students):
            shutil.copyfile(LAB / SOURCES[i % len(SOURCES)], partial / f"student{i:03d}.pcap")
        os.replace(partial, course)
    if not big.exists():
        partial = big.with_name(big.name + ".tmp")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        for i in range(large):
            inputs.replicate(LAB / "reqresp.pcap", partial / f"large{i:02d}.pcap", packets)
        os.replace(partial, big)
    return course, big


def _median_time(run, runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def measure(course: Path, big: Path, out: Path, runs: int, with_reports: int) -> dict:
    from analysis.grade import batch, grade

    results: dict = {"load": [os.getloadavg()[0], 0.0]}
    books: dict[tuple[str, int], bytes] = {}
    some = sorted(course.iterdir())[:with_reports]
    for workers in (1, 2):
        for job, what, reports in (("grade", [course], False), ("reports", some, True)):
            target = out / f"{job}-{workers}"
            results[(job, workers)] = _median_time(
                lambda: grade(what, out=target, workers=workers, reports=reports), runs)
            books[(job, workers)] = (target / "gradebook.csv").read_bytes()
        results[("batch", workers)] = _median_time(
            lambda: batch([big], out / f"batch-{workers}", workers=workers), runs)
    results["load"][1] = os.getloadavg()[0]
    for job in ("grade", "reports"):
        if books[(job, 1)] != books[(job, 2)]:
            raise RuntimeError(f"{job}: the 2-worker gradebook differs from the serial one")
    return results


def write_report(path: Path, results: dict, students: int, large: int, packets: int,
                 runs: int, with_reports: int) -> str:
    rows = []
    for job, what in (("grade", f"grade {students} course-sized captures (--no-reports)"),
                      ("reports", f"grade {with_reports} of them with each student's analyzer "
                                  "report (figures)"),
                      ("batch", f"batch {large} large captures ({packets:,} frames each)")):
        serial, two = results[(job, 1)], results[(job, 2)]
        rows.append(f"| {what} | {serial:.2f} s | {two:.2f} s | {serial / two:.2f}x |")
    text = "\n".join([
        "# Grading a class: serial against 2 Dask workers", "",
        f"`python -m bench.grade` on {os.cpu_count()} cores (shared with other work: ratios, not "
        f"absolute times, are the result); median of {runs} run(s); the cluster's start-up is "
        "included. The gradebooks of the two runs are identical (checked).", "",
        "| job | serial (--workers 1) | 2 workers | speed-up |", "|---|---|---|---|", *rows, "",
        f"Load average (1 min) of the machine: {results['load'][0]:.1f} before, "
        f"{results['load'][1]:.1f} after, on {os.cpu_count()} cores: other work shares them, and "
        "2 workers can only beat one process by what the cores left them. Grading without "
        "reports takes milliseconds a capture, less than starting the cluster (a scheduler and "
        "2 worker processes, each importing the analyzer): for a class of that kind "
        "`--workers 1` is the fast choice.", ""])
    path.write_text(text, encoding="utf-8")
    return text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.grade", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a tiny run (tests)")
    parser.add_argument("--data", type=Path, default=inputs.DATA / "grade")
    parser.add_argument("--out", type=Path, default=HERE / "out" / "grade")
    parser.add_argument("--report", type=Path, default=None,
                        help="where to write the results (default bench/grade-results.md; "
                             "--quick: OUT/grade-results.md)")
    args = parser.parse_args(argv)
    students, large, packets, runs, with_reports = ((12, 2, 2_000, 1, 4) if args.quick
                                                    else (200, 10, 50_000, 3, 40))
    report = args.report or (args.out / "grade-results.md" if args.quick
                             else HERE / "grade-results.md")
    course, big = make_inputs(args.data, students, large, packets)
    args.out.mkdir(parents=True, exist_ok=True)
    results = measure(course, big, args.out, runs, with_reports)
    sys.stdout.write(write_report(report, results, students, large, packets, runs, with_reports))
    return 0


if __name__ == "__main__":
    sys.exit(main())
