"""bench.lab.ready end to end, once: make lab reaches its prompt, bye ends it, the table is written."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bench.lab.ready import ROOT


@pytest.mark.skipif(os.geteuid() != 0, reason="make lab needs root (network namespaces)")
def test_one_run_writes_the_table(tmp_path):
    out = tmp_path / "ready.md"
    run = subprocess.run([sys.executable, "-m", "bench.lab.ready", "--runs", "1", "--out", str(out)],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    row = next(line for line in out.read_text().splitlines() if line.startswith("| ") and " s |" in line)
    median = float(row.split("|")[1].split()[0])
    assert 0 < median < 60


def test_runs_out_of_range_is_one_line():
    run = subprocess.run([sys.executable, "-m", "bench.lab.ready", "--runs", "0"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and run.stderr.count("\n") == 1
