"""Both engines - ours and one built on tshark's dissection - agree on fresh lab captures.

Every capture scenario is run for real (network namespaces on a bridge, needs root), then each
frame's phase, label, direction, connection and analysis flags are compared.
"""
from __future__ import annotations

import os

import pytest

from analysis import analyze
from tests.analysis.support.pyshark_engine import disagreements, label_with_tshark

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="lab captures need root (network namespaces)")

SCENARIOS = ("default", "echo", "vote", "multi", "legacy", "refused", "reset", "lossy")


@pytest.fixture(scope="module")
def lab_pcaps(tmp_path_factory):
    import capture

    assert set(SCENARIOS) <= set(capture.scenario_names())
    out = tmp_path_factory.mktemp("scenarios")
    return {name: capture.run_scenario(name, out / f"{name}.pcap").pcap for name in SCENARIOS}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_engines_agree_on_every_frame(lab_pcaps, scenario):
    pcap = lab_pcaps[scenario]
    ours = analyze(pcap).frames
    theirs = label_with_tshark(pcap)
    assert ours, f"{scenario}: empty capture"
    assert disagreements(ours, theirs) == []


def test_the_default_session_has_every_phase(lab_pcaps):
    result = analyze(lab_pcaps["default"])
    labels = [f.label for f in result.frames]
    for label in ("arp-request", "arp-reply", "syn", "syn-ack", "handshake-ack", "data", "fin",
                  "teardown-ack"):
        assert label in labels
    assert result.votes == {"A": 2, "B": 1, "C": 0}
    (conn,) = result.connections
    assert (conn.conn_state, conn.closed_by, conn.end) == ("SF", "orig", "fin-both")


def test_refused_and_reset_and_lossy_read_as_such(lab_pcaps):
    refused = analyze(lab_pcaps["refused"])
    assert [c.conn_state for c in refused.connections] == ["REJ"]
    reset = analyze(lab_pcaps["reset"])
    assert any(f.label == "rst" for f in reset.frames)
    assert reset.connections[0].end in ("rst", "fin-rst")
    lossy = analyze(lab_pcaps["lossy"])
    assert any("retransmission" in f.analysis or "fast-retransmission" in f.analysis
               or "spurious-retransmission" in f.analysis for f in lossy.frames)
    multi = analyze(lab_pcaps["multi"])
    assert len(multi.connections) == 3
