"""Options through make: `make analyze FILE ARGS="..."` and `make capture ARGS="..."` (issue 14
item 3). make reads `-C` as its own option, so options travel in the ARGS variable."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
OFFLOADED = REPO / "tests" / "analysis" / "data" / "offload-netns.pcap"   # a real offloaded lab capture

pytestmark = pytest.mark.skipif(not shutil.which("make"), reason="make not installed")


def make(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["make", "--no-print-directory", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout)


def test_make_analyze_passes_args_to_the_analyzer(tmp_path):
    target = tmp_path / "lab-make-args.pcap"
    shutil.copy(OFFLOADED, target)
    local = REPO / "reports" / "lab-make-args"
    try:
        default = make("analyze", str(target))
        strict = make("analyze", str(target), "ARGS=--strict-checksums")
        trusting = make("analyze", f"FILE={target}", "ARGS=-C")
    finally:
        shutil.rmtree(local, ignore_errors=True)
    for done in (default, strict, trusting):
        assert done.returncode == 0, done.stderr
    # the default trusts offload-pattern checksums (one warning), strict reads Zeek's OTH
    assert " SF " in default.stdout and " OTH " not in default.stdout
    assert " OTH " in strict.stdout and "left out of connection states" in strict.stderr
    assert " SF " in trusting.stdout and "left out" not in trusting.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="make capture needs root (netns)")
def test_make_capture_passes_args_to_capture(tmp_path):
    out = tmp_path / "args.pcap"
    done = make("capture", "SCENARIO=echo", f"ARGS=--out {out} --hold 0.3")
    assert done.returncode == 0, done.stderr
    assert f"wrote {out}:" in done.stdout and out.stat().st_size > 0
    assert "(echo, netns" in done.stdout
