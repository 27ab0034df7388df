"""The library API: run a scenario on a backend, list scenarios, clean up. Returns data, prints nothing."""
from __future__ import annotations

import os

from capture.errors import CaptureError, UnexpectedError, UsageError
from capture.result import CaptureResult
from capture.scenarios import SCENARIOS
from capture.state import CleanReport
from capture.text import N_, Text

BACKENDS = ("netns", "compose")


def scenario_names() -> tuple[str, ...]:
    return tuple(SCENARIOS)


def run_scenario(name: str = "default", out: str | os.PathLike[str] = "reqresp.pcap", *,
                 backend: str = "netns", hold: float = 0.0,
                 compose_runner=None) -> CaptureResult:  # type: ignore[no-untyped-def]
    """Run scenario ``name`` and write its capture to ``out``.

    backend "netns" (default): network namespaces on a bridge, needs root.
    ``hold``: seconds the lab stays up, listening, before the clients start.
    backend "compose": Docker Compose (compose/reqresp.yml); ``compose_runner`` replaces the
    function that runs `docker compose` commands (tests record the commands with it).
    Raises a CaptureError subclass with a one-line message on any failure; whatever the run
    created is removed before it returns or raises.
    """
    if backend not in BACKENDS:
        raise UsageError(Text(N_("unknown backend {backend!r}: choose one of {known}"), backend=backend,
                              known=", ".join(BACKENDS)))
    try:
        if backend == "netns":
            from capture.runner import run_netns

            return run_netns(name, out, hold)
        from capture.compose_backend import run_compose

        return run_compose(name, out, runner=compose_runner, hold=hold)
    except CaptureError:
        raise
    except Exception as exc:  # e.g. from pyroute2: still one CaptureError for the caller to catch
        raise UnexpectedError(Text(N_("capture run {name!r} ({backend})"), name=name, backend=backend), exc) from exc


def clean() -> CleanReport:
    """Remove the leftovers (processes, lab- namespaces and links) of runs that were killed."""
    from capture.runner import check_root
    from capture.state import clean as clean_state

    check_root()
    return clean_state()
