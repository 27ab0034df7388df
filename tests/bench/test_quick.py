"""`python -m bench.analyzer --quick` runs end to end on a small file and writes its results."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.bench.support.base import needs_tshark

REPO = Path(__file__).resolve().parents[2]
TOOLS = ("ours", "ours, per-frame pipeline (reference)", "tshark -2 (two-pass tcp.analysis)", "tshark (one-pass field dump)",
         "dpkt + minimal labeller", "scapy PcapReader", "pyshark", "pyshark use_json",
         "bare record loop (headroom)", "ours, analyze() + iterate frames", "ours, --summary")


@needs_tshark
def test_quick_mode_writes_a_results_table_and_chart(tiny_base, tmp_path):
    base, facts = tiny_base
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "bench.analyzer", "--quick", "--base-file", str(base),
                           "--data", str(tmp_path / "data"), "--out", str(out), "--packets", "540",
                           "--small", "108", "--profile", "--many-file", str(base)],
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
    # agreement on the large and small files and on the many-connections capture
    assert f"0 frames disagree (of {648 + facts['packets']:,}; large, small, many)" in md
    # issue 13's inputs and rows: the pcapng copy, the many-connections capture (here the tiny
    # base, given), and a target row for each, measured (none "not measured")
    assert "- pcapng: the large file as pcapng (editcap -F pcapng), 540 packets" in md
    assert f"- many: a real capture of many short connections, {facts['packets']} packets" in md
    assert "| ours | pcapng | 540 | 1 |" in md
    assert "| ours, --summary | large | 540 | 1 |" in md
    assert "| ours, analyze() + iterate frames | large | 540 |" in md
    assert f"| ours, analyze() + iterate frames | many | {facts['packets']} |" in md
    assert f"| tshark -2 (two-pass tcp.analysis) | many | {facts['packets']} |" in md
    assert f"| ours, make analyze (report files) | many | {facts['packets']} |" in md
    assert "| ours, make analyze (report files) | small | 108 |" in md
    targets = [line for line in md.splitlines() if line.startswith("| 13 | ")]
    assert len(targets) == 9, targets
    assert not [line for line in targets if "not measured" in line]
    for start in ("| 13 | analyze() + iterating frames >= 10x tshark -2 (large file",
                  "| 13 | analyze() + iterating frames >= 10x tshark -2 (many-connections capture",
                  "| 13 | analyze() + iterating frames: peak RSS < 300 MB (many-connections capture)",
                  f"| 13 | make analyze < 10 s and < 400 MB (many-connections capture, {facts['packets']} frames)",
                  "| 13 | make analyze < 10 s and < 400 MB (small file, 108 frames)",
                  "| 13 | --summary >= 0.5x the bare record loop's rate",
                  "| 13 | --summary >= 40x tshark -2", "| 13 | pcapng read on the fast path >= 0.5x pcap"):
        assert any(line.startswith(start) for line in targets), start
    assert len([line for line in md.splitlines() if line.startswith("| 6 | ")]) == 4
    assert "CPUContext.refresh" in md and "start-up (~0.3 s) included" in md
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
