"""Cleanup of the compose backend on a live engine: a failed `up`, SIGINT/SIGTERM mid-run, a run
killed with SIGKILL and then `python -m capture clean`, and an image build cut short."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import capture
from capture.compose_project import BUILD_SCRIPT, NETWORK
from capture.errors import ComposeError
from tests.capture.support.compose import (ROOT, assert_no_compose_leftovers, compose_image, compose_leftovers,
                                           docker, needs_compose)
from tests.capture.support.netns import run_cli

pytestmark = [needs_compose, pytest.mark.root, pytest.mark.slow]
__all__ = ["compose_image"]
STATE_DIR = Path(os.environ.get("REQRESP_LAB_STATE_DIR", "/run/reqresp-lab"))


def _wait_until(what: str, ok, timeout: float = 120.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not ok():
        assert time.monotonic() < deadline, f"not within {timeout:g} s: {what}"
        time.sleep(0.2)


def _lab_is_up() -> bool:
    """The run is in the middle: containers up, the client's namespace attached, tcpdump listening."""
    left = compose_leftovers()
    return "lab-dock-cli" in left["namespaces"] and "reqresp-client" in left["containers"]


def _start_held_run(out: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "capture", "--backend", "compose", "--hold", "60",
                             "--out", str(out)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)


def test_a_failed_up_still_brings_the_project_down(compose_image, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A container of someone else holds the name reqresp-client: `up` creates the network and the
    server, then fails; nothing of ours may stay (the issue's leftover network reqresp_reqresp)."""
    docker("create", "--name", "reqresp-client", compose_image, "true")
    try:
        with pytest.raises(ComposeError, match=r"step 'up'.*reqresp-client"):
            capture.run_scenario("echo", tmp_path / "echo.pcap", backend="compose")
        names = docker("ps", "-a", "--format", "{{.Names}}").stdout.split()
        assert "reqresp-server" not in names
        assert NETWORK not in docker("network", "ls", "--format", "{{.Name}}").stdout.split()
        assert "reqresp-client" in names, "the other container is not ours to remove"
    finally:
        docker("rm", "-f", "reqresp-client")
    assert not list(tmp_path.iterdir()), "no pcap, no temporary file after a failed run"
    assert_no_compose_leftovers()


@pytest.mark.parametrize("sig, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_mid_run_leaves_nothing(compose_image, tmp_path, sig: int, status: int) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "held.pcap"
    run = _start_held_run(out)
    try:
        _wait_until("the held run is up", _lab_is_up)
        os.kill(run.pid, sig)
        _, err = run.communicate(timeout=120)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert run.returncode == status, err
    assert f"interrupted by {signal.Signals(sig).name}" in err
    assert_no_compose_leftovers()
    assert not list(tmp_path.iterdir()), "neither the pcap nor its temporary file"
    assert not list(STATE_DIR.glob(f"run-{run.pid}.json"))


def test_clean_removes_what_a_killed_run_left(compose_image, tmp_path) -> None:  # type: ignore[no-untyped-def]
    run = _start_held_run(tmp_path / "killed.pcap")
    try:
        _wait_until("the held run is up", _lab_is_up)
        os.kill(run.pid, signal.SIGKILL)
    finally:
        run.wait(60)
    left = compose_leftovers()
    assert left["containers"] and left["networks"] and left["namespaces"], left  # the kill left them
    done = run_cli("clean", timeout=300)
    assert done.returncode == 0, done.stderr
    assert "removed compose objects: " in done.stdout and "reqresp-client" in done.stdout
    assert_no_compose_leftovers()
    # tcpdump and the exec'd programs were ours: stopped by PID from the run's state file
    assert not list(STATE_DIR.glob(f"run-{run.pid}.json"))
    again = run_cli("clean", timeout=300)
    assert "removed compose objects" not in again.stdout


def test_clean_removes_a_project_left_by_the_course_sheet(compose_image) -> None:  # type: ignore[no-untyped-def]
    up = subprocess.run(["docker-compose", "-f", "compose/reqresp.yml", "up", "-d"], cwd=ROOT,
                        capture_output=True, text=True, timeout=300)
    assert up.returncode == 0, up.stderr
    done = run_cli("clean", timeout=300)
    assert done.returncode == 0, done.stderr
    assert "reqresp-server" in done.stdout and NETWORK in done.stdout
    assert_no_compose_leftovers()


def test_an_interrupted_base_build_leaves_no_temporary_rootfs(compose_image) -> None:  # type: ignore[no-untyped-def]
    """SIGTERM to the build's process group (what run_compose sends on Ctrl-C) while mmdebstrap runs."""
    before = set(Path("/tmp").glob("reqresp-base.*"))
    # another run's leftovers are not this build's: only what appears during the test counts
    mmdebstrap_before = set(Path("/tmp").glob("mmdebstrap.*"))
    env = dict(os.environ, IMAGE="reqresp-lab:interrupt-test", LOCAL_BASE="reqresp-base:interrupt-test",
               OFFICIAL_BASE="reqresp-lab:no-such-base")
    build = subprocess.Popen(["bash", str(BUILD_SCRIPT)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        _wait_until("mmdebstrap started", lambda: set(Path("/tmp").glob("reqresp-base.*")) - before, 60)
        time.sleep(2.0)
        os.killpg(build.pid, signal.SIGTERM)
        _, err = build.communicate(timeout=120)
    finally:
        if build.poll() is None:
            os.killpg(build.pid, signal.SIGKILL)
            build.wait()
    assert build.returncode != 0, err
    assert set(Path("/tmp").glob("reqresp-base.*")) == before, "the temporary rootfs was left behind"
    for image in ("reqresp-base:interrupt-test", "reqresp-lab:interrupt-test"):
        assert docker("image", "inspect", image, check=False).returncode != 0, f"{image} exists"

    def group_gone() -> bool:  # mmdebstrap's helpers take a moment to finish after it exits
        return subprocess.run(["pgrep", "-g", str(build.pid)], capture_output=True).returncode == 1

    _wait_until("the build's processes have exited", group_gone, 60)
    left = set(Path("/tmp").glob("mmdebstrap.*")) - mmdebstrap_before
    assert not left, f"mmdebstrap's own temporary files are left: {sorted(map(str, left))}"
