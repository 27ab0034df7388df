"""scripts/dockerd.sh never touches an engine it did not start (the lead's, a system one)."""
from __future__ import annotations

import subprocess

from tests.capture.support.compose import ROOT, needs_compose

pytestmark = [needs_compose]
SCRIPT = ROOT / "scripts" / "dockerd.sh"


def _script(*args: str, pidfile) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
           "REQRESP_DOCKERD_PIDFILE": str(pidfile)}
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=120, env=env)


def test_start_uses_a_running_engine_and_records_no_pid(tmp_path) -> None:  # type: ignore[no-untyped-def]
    pidfile = tmp_path / "dockerd.pid"
    done = _script("start", pidfile=pidfile)
    assert done.returncode == 0, done.stderr
    assert "already running (not started by us)" in done.stderr
    assert not pidfile.exists()
    assert _script("status", pidfile=pidfile).stdout.strip() == "running (not ours)"


def test_stop_kills_only_a_dockerd_it_recorded(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A PID file naming some other process (a recycled PID) must not get that process killed."""
    other = subprocess.Popen(["sleep", "60"])
    try:
        pidfile = tmp_path / "dockerd.pid"
        pidfile.write_text(f"{other.pid}\n")
        done = _script("stop", pidfile=pidfile)
        assert done.returncode == 0, done.stderr
        assert other.poll() is None, "stop killed a process that is not our dockerd"
        assert not pidfile.exists()
    finally:
        other.kill()
        other.wait()
    assert subprocess.run(["docker", "info"], capture_output=True, timeout=60).returncode == 0, "the engine still runs"
