"""The CLI end to end: `make capture`, Ctrl-C/SIGTERM mid-capture, SIGKILL then `clean`, not root."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from capture.state import STATE_DIR, recorded_processes
from tests.capture.support.netns import ROOT, assert_no_leftovers, lab_leftovers, needs_root, needs_tshark, run_cli
from tests.capture.support.tshark_fields import frames

pytestmark = [needs_root, pytest.mark.root]


def _start_held_run(out: Path) -> subprocess.Popen[str]:
    """A CLI run that keeps the lab up (tcpdump and server listening) for a while."""
    return subprocess.Popen([sys.executable, "-m", "capture", "--scenario", "default", "--out", str(out),
                             "--hold", "60"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_until_lab_runs(proc: subprocess.Popen[str], timeout: float = 30.0) -> None:
    """Until the server's namespace holds a process and tcpdump is recorded: mid-capture."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = lab_leftovers()
        roles = {str(what).split()[2].lstrip("(") for _, what in recorded_processes()}
        if left["processes"] and {"tcpdump", "server"} <= roles:
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.1)
    proc.kill()
    pytest.fail("the held run did not bring the lab up")


@needs_tshark
def test_make_capture_goes_from_command_to_pcap(tmp_path: Path) -> None:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    out = tmp_path / "reqresp.pcap"
    done = subprocess.run(["make", "-s", "capture", f"OUT={out}"], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "--- server ---" in lines and "--- client ---" in lines
    assert "  Server listening on 0.0.0.0:2222" in lines
    assert "  Received from server: Echo: Hello Server" in lines
    assert lines[-2].startswith(f"wrote {out}: ") and ", 0 dropped by kernel, " in lines[-2]
    assert lines[-1] == f"next: make analyze {out}"
    rows = frames(out)
    assert rows[0]["arp.opcode"] == "1" and any(f["tcp.flags"] for f in rows)
    assert_no_leftovers()


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_mid_capture_removes_everything(tmp_path: Path, sig: int, code: int) -> None:
    proc = _start_held_run(tmp_path / "x.pcap")
    _wait_until_lab_runs(proc)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert err.strip().splitlines() == [f"error: interrupted by {signal.Signals(sig).name}; the lab network was removed"]
    assert_no_leftovers()
    assert recorded_processes() == []
    assert not list(STATE_DIR.glob(f"run-{proc.pid}.json"))


def test_sigkill_then_clean_leaves_nothing(tmp_path: Path) -> None:
    proc = _start_held_run(tmp_path / "x.pcap")
    _wait_until_lab_runs(proc)
    orphans = [pid for pid, _ in recorded_processes()]
    proc.kill()
    proc.communicate(timeout=30)
    left = lab_leftovers()
    assert left["namespaces"] == ["lab-client", "lab-server", "lab-wire"] and left["processes"], \
        "SIGKILL should leave the lab behind"
    assert left["links"] == [], "the root namespace gets no lab link: the bridge lives in lab-wire"
    done = run_cli("clean")
    assert done.returncode == 0, done.stderr
    assert "removed namespaces: lab-client, lab-server, lab-wire" in done.stdout
    assert "(tcpdump in lab-wire)" in done.stdout
    assert "stopped: " in done.stdout
    assert_no_leftovers()
    assert all(not Path(f"/proc/{pid}").exists() for pid in orphans), "tcpdump/server/client still alive"
    again = run_cli("clean")
    assert again.stdout.strip() == "nothing to clean: no lab- namespaces, links or processes"


def test_clean_leaves_other_objects_alone() -> None:
    from pyroute2 import IPRoute

    from pyroute2 import netns

    # Objects that look close to ours but are not ours by the names contract.
    with IPRoute() as ipr:
        ipr.link("add", ifname="xlab-keep0", kind="veth", peer="labkeep1")
    netns.create("xlab-keep")
    try:
        done = run_cli("clean")
        assert done.returncode == 0, done.stderr
        with IPRoute() as ipr:
            assert ipr.link_lookup(ifname="xlab-keep0") and ipr.link_lookup(ifname="labkeep1")
        assert "xlab-keep" in netns.listnetns()
    finally:
        with IPRoute() as ipr:
            ipr.link("del", ifname="xlab-keep0")
        netns.remove("xlab-keep")


def _nobody() -> list[str] | None:
    if shutil.which("setpriv"):
        return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    if shutil.which("runuser"):
        return ["runuser", "-u", "nobody", "--"]
    return None


def test_not_root_gives_one_clear_line(tmp_path: Path) -> None:
    prefix = _nobody()
    if prefix is None:
        pytest.skip("neither setpriv nor runuser to drop privileges")
    os.chmod(tmp_path, 0o777)
    done = subprocess.run([*prefix, sys.executable, "-m", "capture", "--out", str(tmp_path / "x.pcap")],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("error: the netns backend needs root (running as uid 65534)")
    assert "sudo" in line and "The course's way" in line and "--backend compose" not in line
    assert not (tmp_path / "x.pcap").exists()


def test_a_failed_run_keeps_the_previous_good_capture(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The capture itself completes, then the run fails (the tally check): the old pcap stays as it was."""
    import dataclasses

    import capture
    import capture.runner
    from capture.errors import ScenarioError
    from capture.scenarios import get_scenario

    out = tmp_path / "reqresp.pcap"
    out.write_bytes(b"the previous good capture")
    wrong = dataclasses.replace(get_scenario("multi"), expected_totals="A=9 B=9 C=9")
    monkeypatch.setattr(capture.runner, "get_scenario", lambda name: wrong)
    with pytest.raises(ScenarioError, match="A=9 B=9 C=9"):
        capture.run_scenario("multi", out)
    assert out.read_bytes() == b"the previous good capture"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reqresp.pcap"], "the partial capture was left"
    assert_no_leftovers()
