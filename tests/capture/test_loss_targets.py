"""add_receive_loss in any network namespace: a lab name, or a PID / path (a container's namespace)."""
from __future__ import annotations

import os
import subprocess
import time

import pytest

from capture.errors import NetworkSetupError
from capture.loss import RandomLoss, add_receive_loss, list_rules
from tests.capture.support.netns import needs_root

pytestmark = [needs_root, pytest.mark.root]


@pytest.fixture
def private_netns_pid():  # type: ignore[no-untyped-def]
    """A process alone in a fresh network namespace, as a container's init would be."""
    proc = subprocess.Popen(["unshare", "--net", "--", "sleep", "60"])
    try:
        deadline = time.monotonic() + 10  # until unshare has made the namespace and exec'd sleep
        while os.readlink(f"/proc/{proc.pid}/ns/net") == os.readlink("/proc/self/ns/net"):
            assert time.monotonic() < deadline, "unshare --net did not make a namespace"
            time.sleep(0.02)
        yield proc.pid
    finally:
        proc.kill()
        proc.wait()


def test_loss_by_pid_and_by_path_lands_in_that_namespace_only(private_netns_pid: int) -> None:
    add_receive_loss(private_netns_pid, RandomLoss(5))
    assert len(list_rules(private_netns_pid)) == 1
    assert len(list_rules(f"/proc/{private_netns_pid}/ns/net")) == 1
    assert list_rules("/proc/self/ns/net") == [], "nothing in the namespace the tests run in"


def test_a_path_that_is_no_network_namespace_is_a_one_line_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "x").write_text("")
    with pytest.raises(NetworkSetupError, match="setns"):
        add_receive_loss(str(tmp_path / "x"), RandomLoss(5))
