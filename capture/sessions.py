"""What every backend does with a scenario's programs, once its network is up: wait for the client
sessions, and run the whole capture again until it shows what the scenario promises."""
from __future__ import annotations

from typing import Callable

from capture.errors import LabProcessError, ScenarioError
from capture.processes import LabProcess
from capture.result import CaptureResult
from capture.scenarios import Scenario
from capture.text import N_, Text


def wait_for_clients(clients: list[LabProcess], timeout: float) -> None:
    """Wait for every client to finish its session; the first that fails raises LabProcessError."""
    for client in clients:
        code = client.wait(timeout)
        if code != 0:
            raise LabProcessError(client.role, client.where, Text(N_("exited with status {code}"), code=code),
                                  client.output())


def run_attempts(scenario: Scenario, once: Callable[[int], CaptureResult]) -> CaptureResult:
    """Run ``once(attempt)`` until the capture shows what the scenario promises (a retransmission,
    for `lossy`), at most ``max_attempts`` times."""
    for attempt in range(1, scenario.max_attempts + 1):
        result = once(attempt)
        if not scenario.require_retransmission or (result.retransmissions or 0) > 0:
            return result
    raise ScenarioError(scenario.name, Text(N_("no retransmission in {attempts} runs; the link loss did not hit "
                                               "this session, run it again"), attempts=scenario.max_attempts))
