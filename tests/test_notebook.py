"""notebooks/walkthrough.ipynb runs top to bottom and shows what each step promises.

It runs on the shipped capture (REQRESP_NOTEBOOK_CAPTURE), so the outputs are known: the test
compares them with what the library says about the same file. The kernel is the running
interpreter's (the venv's python3 kernelspec); nothing is registered globally.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

from analysis import analyze  # noqa: E402
from analysis.report.questions import answer_all  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "walkthrough.ipynb"
CAPTURE = ROOT / "notebooks" / "data" / "reqresp.pcap"


@pytest.fixture(scope="module")
def executed():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    previous = os.environ.get("REQRESP_NOTEBOOK_CAPTURE")
    os.environ["REQRESP_NOTEBOOK_CAPTURE"] = str(CAPTURE)   # the kernel inherits it
    try:
        nbclient.NotebookClient(notebook, timeout=180, kernel_name="python3",
                                resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    finally:
        if previous is None:
            os.environ.pop("REQRESP_NOTEBOOK_CAPTURE", None)
        else:
            os.environ["REQRESP_NOTEBOOK_CAPTURE"] = previous
    return notebook


def outputs(notebook, tag: str) -> tuple[str, int]:
    """All text a tagged cell printed or displayed, and how many images it showed."""
    cell = next(c for c in notebook.cells if tag in c.metadata.get("tags", []))
    text, images = [], 0
    for output in cell.outputs:
        assert output.output_type != "error", f"cell {tag} failed"
        if output.output_type == "stream":
            text.append(output.text)
        data = output.get("data", {})
        images += "image/png" in data
        text += [data.get(kind, "") for kind in ("text/plain", "text/html", "text/markdown")]
    return "\n".join(text), images


@pytest.fixture(scope="module")
def result():
    return analyze(CAPTURE)


def test_it_reads_the_forced_capture(executed, result):
    text, _ = outputs(executed, "load")
    assert "REQRESP_NOTEBOOK_CAPTURE" in text and str(CAPTURE) in text
    assert f"{result.frame_count} frames, {len(result.connections)} TCP connection(s)" in text


def test_arp_step_shows_opcodes_1_and_2_the_filter_and_a_figure(executed):
    text, images = outputs(executed, "arp")
    assert re.search(r"ff:ff:ff:ff:ff:ff\s+arp-request\s+1\s", text)
    assert re.search(r"arp-reply\s+2\s", text)
    assert "Wireshark display filter:** `arp`" in text
    assert images == 1


def test_handshake_step_shows_syn_syn_ack_ack_and_isn_plus_one(executed, result):
    text, images = outputs(executed, "handshake")
    for label in ("syn", "syn-ack", "handshake-ack"):
        assert re.search(rf"\s{label}\s", text), label
    syn = next(f for f in result.frames if f.label == "syn")
    assert f"client ISN {syn.seq_raw}; SYN-ACK acknowledges {syn.seq_raw + 1} = ISN + 1: True" in text
    assert images == 1


def test_data_step_shows_the_exchanges_and_two_figures(executed, result):
    text, images = outputs(executed, "data")
    for exchange in result.exchanges:
        assert exchange.request in text and exchange.response in text
    assert "vote totals: {'A': 2, 'B': 1, 'C': 0}" in text
    assert images == 2     # the ladder of the data phase and the time-sequence graph


def test_teardown_step_says_who_closed_first(executed, result):
    text, images = outputs(executed, "teardown")
    assert f"closed first by orig ({result.connections[0].orig})" in text and images == 1


def test_questions_table_has_the_irtt_and_every_question(executed, result):
    text, _ = outputs(executed, "questions")
    answers = answer_all(result)
    irtt = next(a for a in answers if a.key == "irtt")
    assert f"{irtt.value * 1000:.3f} ms: from the SYN" in text
    for answer in answers:
        assert answer.key in text


def test_other_scenarios_show_retransmissions_and_the_refusal(executed):
    lossy, images = outputs(executed, "lossy")
    assert "retransmission" in lossy and "duplicate-ack" in lossy and images == 1
    refused, images = outputs(executed, "refused")
    assert "RST,ACK" in refused and "REJ" in refused and images == 1
