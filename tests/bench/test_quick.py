"""`python -m bench.analyzer --quick` runs end to end on a small file and writes its results."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.bench.support.base import needs_tshark

REPO = Path(__file__).resolve().parents[2]
TOOLS = ("ours", "ours, per-frame pipeline (reference)", "tshark -2 (two-pass tcp.analysis)", "tshark (one-pass field dump)",
         "dpkt + minimal labeller", "scapy PcapReader", "pyshark", "pyshark use_json",
         "bare record loop (headroom)", "ours, analyze() + iterate frames")


@needs_tshark
def test_quick_mode_writes_a_results_table_and_chart(tiny_base, tmp_path):
    base, facts = tiny_base
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "bench.analyzer", "--quick", "--base-file", str(base),
                           "--data", str(tmp_path / "data"), "--out", str(out), "--packets", "540",
                           "--small", "108", "--profile"],
                          cwd=REPO, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    md = (out / "results.md").read_text()
    rows = [line for line in md.splitlines() if line.startswith("| ") and " | large | " in line
            or line.startswith("| ") and " | slice | " in line or line.startswith("| ours | small")]
    assert sorted({row.split(" | ")[0][2:] for row in rows}) == sorted(TOOLS)
    # the large file is 20 replicas of the 27-packet base, and every tool read all of it (or its limit)
    assert "| ours | large | 540 | 1 |" in md
    assert "| dpkt + minimal labeller | large | 540 |" in md
    assert "| tshark -2 (two-pass tcp.analysis) | large | 540 |" in md
    assert "0 frames disagree (of 648)" in md
    # issue 13's rows: what users call (analyze + iterating frames) and make analyze's report files
    assert "| ours, analyze() + iterate frames | large | 540 |" in md
    assert "| ours, make analyze (report files) | small | 108 |" in md
    assert "| analyze() + iterating frames >= 10x tshark -2" in md and "| make analyze (108 frames)" in md
    assert "## Machine" in md and "; tshark " in md and "; dpkt " in md
    assert "## Where the time goes" in md and "Scan.batches" in md    # the profile's call tree
    assert (out / "results.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(out.glob("tshark*.tsv"))    # the dumps are cleaned up
    # --render writes the same table again from the saved results, without measuring
    again = tmp_path / "again"
    done = subprocess.run([sys.executable, "-m", "bench.analyzer", "--render", str(out / "results.json"),
                           "--out", str(again)], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (again / "results.md").read_text() == md
