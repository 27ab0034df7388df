"""bench.lab end to end, tiny: both servers start, every row is measured, the kill -9 durability
check holds, and nothing is left running."""
from __future__ import annotations

import subprocess
import sys

import psutil

from bench.lab.load import ROOT, _durability


def test_a_short_lab_benchmark_reports_every_row_and_checks_durability(tmp_path):
    out = tmp_path / "lab-results.md"
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    run = subprocess.run([sys.executable, "-m", "bench.lab", "--rounds", "1", "--seconds", "0.3",
                          "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    report = out.read_text()
    for row in ("| echo, reference server |", "| echo, lab.server |", "| durable votes (`VOTE A`) |",
                "| durable votes with ids (`VOTE A id=...`) |", "| same, `--sync normal`"):
        assert row in report
    assert report.count("every acknowledged vote is on disk, each counted once") == 2
    assert "MISMATCH" not in report
    assert {p.pid for p in psutil.Process().children(recursive=True)} <= before


def test_durability_names_a_loss_and_a_double_count():
    assert "votes lost" in _durability(10, 9)
    assert "unacknowledged votes counted" in _durability(10, 11)
    assert "every acknowledged vote is on disk" in _durability(10, 10)


def test_bad_rounds_are_refused_in_one_line(tmp_path):
    run = subprocess.run([sys.executable, "-m", "bench.lab", "--rounds", "0", "--out", str(tmp_path / "x.md")],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "--rounds must be at least 1" in run.stderr
    assert not (tmp_path / "x.md").exists()
