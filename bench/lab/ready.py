"""`make bench-lab-ready`: how long `make lab` takes until the student can type (issue 14: 3 s on a
warm machine, netns).

Each run types `make lab` in a pseudo-terminal (pexpect), times the first `Enter message: `, then
types `bye` and waits for the session to end (bounded). Runs as root only (network namespaces).
Only one lab runs on the machine at a time (the lab lock), so a run that had to wait for another
worktree's capture says how long it waited: `make lab` prints nothing before the lock is taken,
and the lock's holder is in /run/reqresp-lab/lab.lock. Writes bench/lab/ready-results.md.
"""
from __future__ import annotations

import argparse
import fcntl
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pexpect

from bench.analyzer.report import loadavg

ROOT = Path(__file__).resolve().parents[2]
RESULTS_MD = ROOT / "bench" / "lab" / "ready-results.md"
LOCK = Path(os.environ.get("REQRESP_LAB_STATE_DIR", "/run/reqresp-lab")) / "lab.lock"
TARGET = 3.0
TIMEOUT = 60.0


def wait_for_free_lab(limit: float = 120.0) -> float:
    """Block until no other capture holds the lab lock (then release it at once); seconds waited."""
    LOCK.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    fd = os.open(LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                fcntl.flock(fd, fcntl.LOCK_UN)
                return time.monotonic() - t0
            except BlockingIOError:
                if time.monotonic() - t0 > limit:
                    raise SystemExit(f"bench: the lab lock stayed taken for {limit:g} s") from None
                time.sleep(0.05)
    finally:
        os.close(fd)


def one_run(out: Path) -> float:
    wait_for_free_lab()
    t0 = time.monotonic()
    child = pexpect.spawn("make", ["--no-print-directory", "-s", "lab", f"OUT={out}"], cwd=str(ROOT),
                          timeout=TIMEOUT, encoding="utf-8")
    try:
        child.expect("Enter message: ")
        ready = time.monotonic() - t0
        child.sendline("bye")
        child.expect(pexpect.EOF)
    finally:
        if child.isalive():
            child.terminate(force=True)
    child.close()
    if child.exitstatus != 0:
        raise SystemExit(f"bench: make lab exited with {child.exitstatus}: {child.before}")
    return ready


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.lab.ready", description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=7)
    p.add_argument("--out", type=Path, default=RESULTS_MD, help="the results file (default %(default)s)")
    args = p.parse_args(argv)
    if os.geteuid() != 0:
        print("bench: make lab needs root (network namespaces)", file=sys.stderr)
        return 2
    if not 1 <= args.runs <= 50:
        print("bench: --runs 1 to 50", file=sys.stderr)
        return 2
    load_before = loadavg()
    with tempfile.TemporaryDirectory(prefix="lab-ready-") as tmp:
        one_run(Path(tmp) / "warm.pcap")          # warm: page cache, .pyc files
        times = [one_run(Path(tmp) / f"run{i}.pcap") for i in range(args.runs)]
    median = statistics.median(times)
    lines = [
        "# `make lab`: seconds until the first `Enter message: ` (netns)",
        "",
        f"{args.runs} runs after one warm-up run, each starting when no other capture held the lab lock.",
        f"Target: {TARGET:g} s on a warm machine.",
        "",
        "| median | min | max | runs |",
        "|---|---|---|---|",
        f"| {median:.2f} s | {min(times):.2f} s | {max(times):.2f} s | {' '.join(f'{t:.2f}' for t in times)} |",
        "",
        f"1-minute load average before / after: {load_before} / {loadavg()} on {os.cpu_count()} cores "
        "(the machine is shared with other sessions; every lab process is a Python interpreter start).",
        "",
    ]
    args.out.write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
