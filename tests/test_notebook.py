"""notebooks/walkthrough.ipynb runs top to bottom and shows what each step promises.

Three ways its second cell picks a capture, each run for real:
- REQRESP_NOTEBOOK_CAPTURE names the shipped capture, so the outputs are known: most tests compare
  them with what the library says about the same file;
- as root with no override, a fresh capture (`capture.run_scenario` inside the kernel, whose
  asyncio loop is running: the path that used to raise "This event loop is already running");
- not root: the shipped capture. Under root the kernel is started as uid 65534 (nobody) with only
  CAP_DAC_READ_SEARCH, to read the venv and the repository: no capability to build a network.
The kernel is the running interpreter's (the venv's python3 kernelspec, or a temporary one that
drops to nobody); nothing is registered globally.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

from analysis import analyze  # noqa: E402
from analysis.report.questions import answer_all  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "walkthrough.ipynb"
CAPTURE = ROOT / "notebooks" / "data" / "reqresp.pcap"


def execute(env: dict[str, str | None], kernel_name: str = "python3"):
    """Run the whole notebook with ``env`` set (None: unset) for the kernel, which inherits it."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    previous = {key: os.environ.get(key) for key in env}
    for key, value in env.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    try:
        nbclient.NotebookClient(notebook, timeout=180, kernel_name=kernel_name,
                                resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return notebook


@pytest.fixture(scope="module")
def executed():
    return execute({"REQRESP_NOTEBOOK_CAPTURE": str(CAPTURE)})


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


def no_errors(notebook) -> None:
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            assert output.output_type != "error", (cell.metadata.get("tags"), output.get("evalue"))


def test_as_root_it_captures_a_fresh_session_inside_the_running_kernel(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("the fresh capture is the root path; not root here (the shipped-capture test runs)")
    notebook = execute({"REQRESP_NOTEBOOK_CAPTURE": None, "TMPDIR": str(tmp_path)})
    no_errors(notebook)
    text, _ = outputs(notebook, "load")
    fresh = tmp_path / "walkthrough-reqresp.pcap"
    assert re.search(r"Reading a fresh capture \(\d+ packets, [\d.]+ s\): " + re.escape(str(fresh)), text), text
    result = analyze(fresh)
    assert [c.history for c in result.connections] == ["ShADadFf"]
    assert f"{result.frame_count} frames, 1 TCP connection(s), {len(result.exchanges)} request/response" in text
    data, _ = outputs(notebook, "data")
    assert "vote totals: {'A': 2, 'B': 1, 'C': 0}" in data


@pytest.fixture
def unprivileged_kernel():
    """A kernelspec whose kernel runs as nobody (root's tests), or the ordinary one (not root)."""
    if os.geteuid() != 0:
        yield "python3"
        return
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.fail("setpriv (util-linux) is needed to run the kernel as an unprivileged user")
    home = Path(tempfile.mkdtemp(prefix="reqresp-nobody-"))
    try:
        home.chmod(0o777)           # the kernel's HOME, IPython and matplotlib write there
        spec = home / "kernels" / "reqresp-nobody"
        spec.mkdir(parents=True)
        (spec / "kernel.json").write_text(json.dumps({
            "display_name": "reqresp (nobody)", "language": "python",
            "argv": [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups",
                     "--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search",
                     sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "env": {"HOME": str(home), "IPYTHONDIR": str(home / "ipython"),
                    "MPLCONFIGDIR": str(home / "mpl")},
        }))
        previous = os.environ.get("JUPYTER_PATH")
        os.environ["JUPYTER_PATH"] = os.pathsep.join(p for p in (str(home), previous) if p)
        try:
            yield "reqresp-nobody"
        finally:
            if previous is None:
                os.environ.pop("JUPYTER_PATH", None)
            else:
                os.environ["JUPYTER_PATH"] = previous
    finally:
        shutil.rmtree(home, ignore_errors=True)


def test_not_root_it_reads_the_shipped_capture(unprivileged_kernel, result):
    notebook = execute({"REQRESP_NOTEBOOK_CAPTURE": None}, kernel_name=unprivileged_kernel)
    no_errors(notebook)
    text, _ = outputs(notebook, "load")
    assert "Reading the shipped capture (not root: no fresh capture)" in text
    assert f"{result.frame_count} frames, {len(result.connections)} TCP connection(s)" in text
