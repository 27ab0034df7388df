"""The lab tests' fixture: the lab server as a real subprocess (tests/lab/support/server.py)."""
from __future__ import annotations

import pytest

from tests.lab.support.server import ServerStarter


@pytest.fixture
def start_server(tmp_path):
    """start_server(*args, store=...) -> RunningServer; every server started is killed at teardown."""
    starter = ServerStarter(tmp_path)
    yield starter.start
    starter.close()
