"""capture: the lab on a virtual network, captured with tcpdump on the bridge.

Public API (what a notebook calls)::

    import capture
    result = capture.run_scenario("default", "reqresp.pcap")   # -> capture.CaptureResult
    result.pcap, result.packets, result.dropped, result.duration
    result.lines("server"), result.lines("client")             # the course's transcript lines
    capture.scenario_names()                                   # ("default", "echo", ...)
    capture.clean()                                            # leftovers of a killed run

    from capture.i18n import translation                       # English or Indonesian, at the edge
    result.summary(translation("id")); error.one_line(translation("id"))

Imports are lazy: the lab's helper processes (`python -m capture.nsexec`, the peers) import this
package and must start fast.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from capture.api import clean, run_scenario, scenario_names
    from capture.errors import CaptureError
    from capture.result import CaptureResult
    from capture.state import CleanReport

__all__ = ["run_scenario", "scenario_names", "clean", "CaptureResult", "CaptureError", "CleanReport"]

_WHERE = {
    "run_scenario": "capture.api",
    "scenario_names": "capture.api",
    "clean": "capture.api",
    "CaptureResult": "capture.result",
    "CaptureError": "capture.errors",
    "CleanReport": "capture.state",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'capture' has no attribute {name!r}")
