"""A signal at any point of start-up leaves nothing behind (issue 11, item 6).

The signal is injected deterministically (tests/capture/support/inject.py): right after the N-th lab child
is forked and before anyone recorded it, right after it is recorded in the run file and before the
run's list holds it, in the middle of building the network, after each readiness wait. Before the
fix, a signal right after a client's fork left it running with PPID 1 (every `multi` point did);
now every child the run forked is gone, and so is every namespace and link.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import capture
from capture.state import STATE_DIR
from tests.capture.support.netns import ROOT, assert_no_leftovers, needs_root

pytestmark = [needs_root, pytest.mark.root]

PREVIOUS = b"a previous good capture\n"

# (scenario, point): where the signal lands. spawn:N = the N-th lab process exists, unrecorded
# (default: 1 tcpdump, 2 server, 3 client; multi: 3, 4, 5 the three clients).
POINTS = [
    ("default", "capture.nsutil.in_netns:3"),                  # half-built network
    ("default", "capture.netns_backend.build:1"),              # network built, nothing started
    ("default", "spawn:1"),                                     # tcpdump forked
    ("default", "capture.state.RunState.add:1"),               # tcpdump in the run file only
    ("default", "capture.processes.LabProcess.wait_for_line:1"),  # tcpdump listening
    ("default", "spawn:2"),                                     # server forked
    ("default", "capture.state.RunState.add:2"),
    ("default", "capture.processes.LabProcess.wait_for_line:2"),  # server listening
    ("default", "spawn:3"),                                     # client forked
    ("default", "capture.processes.LabProcess.wait:1"),        # client done
    ("default", "capture.tcpdump.BridgeCapture.stop:1"),       # capture complete, run not finished
    ("multi", "spawn:3"),
    ("multi", "spawn:4"),
    ("multi", "spawn:5"),
    ("multi", "capture.state.RunState.add:4"),
    ("lossy", "capture.runner.add_receive_loss:1"),            # loss rule installed
]


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def _inject(tmp_path: Path, scenario: str, *hook: str) -> tuple[subprocess.CompletedProcess[str], list[int], Path]:
    out = tmp_path / "reqresp.pcap"
    out.write_bytes(PREVIOUS)
    pids = tmp_path / "pids"
    done = subprocess.run([sys.executable, "-m", "tests.capture.support.inject", *hook, "--pids", str(pids), "--",
                           "--scenario", scenario, "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=180)
    spawned = [int(line) for line in pids.read_text().split()] if pids.exists() else []
    return done, spawned, out


def _nothing_left(tmp_path: Path, spawned: list[int], out: Path, runner_pid: int | None = None) -> None:
    alive = [pid for pid in spawned if _alive(pid)]
    assert not alive, f"orphaned: {[(p, Path(f'/proc/{p}/cmdline').read_bytes()) for p in alive]}"
    assert_no_leftovers()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")], "a partial capture was left"
    if runner_pid is not None:
        assert not (STATE_DIR / f"run-{runner_pid}.json").exists()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
@pytest.mark.parametrize(("scenario", "point"), POINTS, ids=[f"{s}-{p}" for s, p in POINTS])
def test_a_signal_at_each_step_of_start_up_leaves_nothing(tmp_path: Path, scenario: str, point: str,
                                                          sig: signal.Signals) -> None:
    done, spawned, out = _inject(tmp_path, scenario, "--at", point, "--signal", sig.name)
    assert done.returncode == 128 + sig, done.stderr
    assert done.stderr.strip().splitlines() == [f"error: interrupted by {sig.name}; the lab network was removed"]
    if point.startswith("spawn:"):
        assert len(spawned) == int(point.split(":")[1]), "the signal came right after that spawn"
    _nothing_left(tmp_path, spawned, out)
    assert out.read_bytes() == PREVIOUS, "an interrupted run replaced the earlier capture"


def test_teardown_stops_a_process_nobody_recorded(tmp_path: Path) -> None:
    """Someone's `ip netns exec lab-client ...` mid-run: the run still removes its namespace cleanly."""
    done, spawned, out = _inject(tmp_path, "default", "--stray", "capture.processes.LabProcess.wait_for_line:2")
    assert done.returncode == 0, done.stderr
    marker = (tmp_path / "pids.stray")
    assert marker.exists(), "the stray process never ran inside lab-client"
    assert int(marker.read_text()) != os.stat("/proc/self/ns/net").st_ino
    _nothing_left(tmp_path, spawned, out)
    assert out.read_bytes()[:4] in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4"), "the run succeeded: a pcap"


def test_ctrl_c_in_a_notebook_right_after_a_fork_leaves_nothing(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The library path: Python's own KeyboardInterrupt (no CLI handler) right after the server's fork."""
    import types

    import capture.processes

    spawned: list[int] = []
    real = subprocess.Popen

    def popen(*args, **kwargs):  # type: ignore[no-untyped-def]
        child = real(*args, **kwargs)
        spawned.append(child.pid)
        if len(spawned) == 2:
            os.kill(os.getpid(), signal.SIGINT)
        return child

    monkeypatch.setattr(capture.processes, "subprocess", types.SimpleNamespace(**{**vars(subprocess), "Popen": popen}))
    out = tmp_path / "reqresp.pcap"
    out.write_bytes(PREVIOUS)
    with pytest.raises(KeyboardInterrupt):
        capture.run_scenario("default", out)
    assert len(spawned) == 2
    _nothing_left(tmp_path, spawned, out, os.getpid())
    assert out.read_bytes() == PREVIOUS
