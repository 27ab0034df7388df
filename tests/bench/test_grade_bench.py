"""bench/grade.py end to end, tiny (--quick): serial against 2 Dask workers, the ratio reported."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_quick_grade_benchmark(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "bench.grade", "--quick", "--data",
                           str(tmp_path / "data"), "--out", str(tmp_path / "out")], cwd=REPO,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = (tmp_path / "out" / "grade-results.md").read_text()
    assert report == proc.stdout
    rows = re.findall(r"^\| (grade|batch) .*\| ([\d.]+) s \| ([\d.]+) s \| ([\d.]+)x \|$", report, re.M)
    assert [r[0] for r in rows] == ["grade", "grade", "batch"]
    for _, serial, two, ratio in rows:
        assert abs(float(serial) / float(two) - float(ratio)) < 0.02
    assert len(list((tmp_path / "data" / "course-12").iterdir())) == 12
