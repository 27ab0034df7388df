"""Fan-out over Dask: a real LocalCluster, and a real `dask scheduler` + `dask worker` started as
processes on 127.0.0.1, both giving the serial result byte for byte."""
from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

from analysis.grade import grade
from analysis.grade.fanout import TaskError, fan_out
from analysis.errors import UsageError

# the first test to use the class waits for it to be made: ~25 lab runs, which queue behind any
# other capture run on the machine (the lab network is machine-global)
pytestmark = pytest.mark.timeout(1800)
REPO = Path(__file__).resolve().parents[3]


def _student_files(out: Path) -> dict[str, bytes]:
    """Every file a run wrote whose bytes do not depend on the run (figures embed no dates, but
    the analyzer's report pages are the analyzer's business: compared by presence only)."""
    files = {}
    for path in sorted(out.rglob("*")):
        if path.is_file() and path.name in ("gradebook.csv", "integrity.csv", "verdicts.json",
                                            "feedback.txt", "feedback.html", ".students"):
            files[str(path.relative_to(out))] = path.read_bytes()
    return files


def _same_as_serial(run: Path, serial: Path) -> None:
    assert (run / "gradebook.csv").read_bytes() == (serial / "gradebook.csv").read_bytes()
    assert _student_files(run) == _student_files(serial)
    assert sorted(p.relative_to(run) for p in run.rglob("*")) == sorted(
        p.relative_to(serial) for p in serial.rglob("*"))


def test_a_local_cluster_of_two_workers_gives_the_serial_result(klass, serial, tmp_path) -> None:
    cohort = grade([klass[0]], out=tmp_path / "grades", workers=2)
    _same_as_serial(cohort.out, serial.out)
    assert cohort.results == serial.results


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the dask scheduler exited"
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError(f"no dask scheduler on 127.0.0.1:{port} after {timeout}s")


@contextlib.contextmanager
def _started(args: list[str]) -> Iterator[subprocess.Popen]:
    """A process of ours, stopped by its PID at the end (SIGTERM, then SIGKILL), and with it any
    process it started (a `dask worker` runs nannies and workers below it)."""
    import psutil

    proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield proc
    finally:
        try:
            below = psutil.Process(proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            below = []
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for child in below:                 # what is left of them after their parent stopped
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()
        _, alive = psutil.wait_procs(below, timeout=20)
        assert not alive, f"still running: {alive}"


def test_an_existing_cluster_started_as_processes(klass, serial, tmp_path) -> None:
    port = _free_port()
    dask = str(Path(sys.executable).with_name("dask"))     # the `dask` command of this venv
    with _started([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                   "--no-dashboard"]) as scheduler:
        _wait_for_port(port, scheduler)
        with _started([dask, "worker", f"tcp://127.0.0.1:{port}", "--nworkers", "2",
                       "--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard"]):
            from dask.distributed import Client
            with Client(f"tcp://127.0.0.1:{port}", timeout="30s") as client:
                client.wait_for_workers(2, timeout=120)
            cohort = grade([klass[0]], out=tmp_path / "grades",
                           scheduler=f"tcp://127.0.0.1:{port}")
    _same_as_serial(cohort.out, serial.out)
    assert cohort.results == serial.results


def _boom(item):
    if item == 2:
        raise ValueError("two is not allowed")
    return item * 10


def test_a_failing_task_does_not_stop_the_others() -> None:
    for workers in (1, 2):
        results = fan_out(_boom, [1, 2, 3], workers=workers)
        assert results[0] == 10 and results[2] == 30
        assert isinstance(results[1], TaskError)
        assert results[1].one_line() == "ValueError: two is not allowed"


def test_bad_fan_out_arguments() -> None:
    with pytest.raises(UsageError, match="--workers must be at least 1"):
        fan_out(_boom, [1], workers=0)
    with pytest.raises(UsageError, match="--scheduler must look like tcp://HOST:8786"):
        fan_out(_boom, [1], scheduler="localhost:8786")
    port = _free_port()                       # nothing listens there
    with pytest.raises(UsageError, match=f"cannot reach the Dask scheduler tcp://127.0.0.1:{port}"):
        fan_out(_boom, [1], scheduler=f"tcp://127.0.0.1:{port}")


def test_the_local_cluster_serves_no_dashboard_and_listens_on_loopback_only() -> None:
    import psutil

    from analysis.grade.fanout import _client

    with _client(2, None) as client:
        info = client.scheduler_info()
        assert client.scheduler.address.startswith("tcp://127.0.0.1:")
        assert len(info["workers"]) == 2
        assert all(w.startswith("tcp://127.0.0.1:") for w in info["workers"])
        # dashboard off: the scheduler's HTTP server has its plain routes only (/health, ...)
        assert _get(client, "/status") == "404" and _get(client, "/health") == "ok"
        me = psutil.Process()
        listening = [c.laddr for p in (me, *me.children(recursive=True))
                     for c in p.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN]
        assert listening and all(addr.ip == "127.0.0.1" for addr in listening), listening


def _get(client, path: str) -> str:
    """What the scheduler's HTTP server answers at `path` (404 text when there is no such page)."""
    import urllib.error
    import urllib.request

    port = client.scheduler_info()["services"]["dashboard"]
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as reply:
            return reply.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return f"{error.code}"
