"""notebooks/walkthrough.ipynb and its Indonesian twin walkthrough.id.ipynb run top to bottom and
show what each step promises, each in its language (TEXTS: what each says where the other says
the same; the Indonesian one's outputs hold no English sentence from our code).

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

import html
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
from tests.analysis.support.english import english_left, untranslated_items, visible_text  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = {"en": ROOT / "notebooks" / "walkthrough.ipynb", "id": ROOT / "notebooks" / "walkthrough.id.ipynb"}
DATA = ROOT / "notebooks" / "data"
CAPTURE = DATA / "reqresp.pcap"
# What each notebook prints where the other prints the same thing in its language.
TEXTS = {
    "en": {"counts": "{frames} frames, {conns} TCP connection(s)",
           "exchanges": ", {n} request/response",
           "filter": "Wireshark display filter:** `arp`",
           "isn": "client ISN {isn}; SYN-ACK acknowledges {next} = ISN + 1: True",
           "votes": "vote totals: {'A': 2, 'B': 1, 'C': 0}",
           "closed": "closed first by orig ({orig})",
           "fresh": r"Reading a fresh capture \(\d+ packets, [\d.]+ s\): ",
           "shipped": "Reading the shipped capture (not root: no fresh capture)"},
    "id": {"counts": "{frames} frame, {conns} koneksi TCP",
           "exchanges": ", {n} pertukaran request/response",
           "filter": "Display filter Wireshark:** `arp`",
           "isn": "ISN client {isn}; SYN-ACK mengakui {next} = ISN + 1: ya",
           "votes": "total vote: {'A': 2, 'B': 1, 'C': 0}",
           "closed": "ditutup lebih dulu oleh orig ({orig})",
           "fresh": r"Membaca capture baru \(\d+ paket, [\d.]+ s\): ",
           "shipped": "Membaca capture bawaan (bukan root: tanpa capture baru)"},
}
# the public functions whose texts are in a language: the Indonesian notebook passes lang= to each
LANGUAGE_TAKING = {"ladder", "time_sequence", "phase_timeline", "answer_all"}


def execute(env: dict[str, str | None], kernel_name: str = "python3", lang: str = "en"):
    """Run the whole notebook with ``env`` set (None: unset) for the kernel, which inherits it."""
    notebook = nbformat.read(NOTEBOOKS[lang], as_version=4)
    previous = {key: os.environ.get(key) for key in env}
    for key, value in env.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    try:
        nbclient.NotebookClient(notebook, timeout=180, kernel_name=kernel_name,
                                resources={"metadata": {"path": str(NOTEBOOKS[lang].parent)}}).execute()
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return notebook


@pytest.fixture(scope="module", params=list(NOTEBOOKS))
def lang(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def executed(lang):
    return execute({"REQRESP_NOTEBOOK_CAPTURE": str(CAPTURE)}, lang=lang)


def outputs(notebook, tag: str | None) -> tuple[str, int]:
    """All text a tagged cell (None: every cell) printed or displayed, and how many images."""
    cells = [c for c in notebook.cells if tag is None and c.cell_type == "code"
             or tag in c.metadata.get("tags", [])]
    assert cells, tag
    text, images = [], 0
    for cell in cells:
        t, n = _cell_outputs(cell, tag)
        text.append(t)
        images += n
    return "\n".join(text), images


def _cell_outputs(cell, tag) -> tuple[str, int]:
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


def counts(lang: str, result) -> str:
    return TEXTS[lang]["counts"].format(frames=result.frame_count, conns=len(result.connections))


def test_it_reads_the_forced_capture(executed, lang, result):
    text, _ = outputs(executed, "load")
    assert "REQRESP_NOTEBOOK_CAPTURE" in text and str(CAPTURE) in text
    assert counts(lang, result) in text


def test_arp_step_shows_opcodes_1_and_2_the_filter_and_a_figure(executed, lang):
    text, images = outputs(executed, "arp")
    assert re.search(r"ff:ff:ff:ff:ff:ff\s+arp-request\s+1\s", text)
    assert re.search(r"arp-reply\s+2\s", text)
    assert TEXTS[lang]["filter"] in text
    assert images == 1


def test_handshake_step_shows_syn_syn_ack_ack_and_isn_plus_one(executed, lang, result):
    text, images = outputs(executed, "handshake")
    for label in ("syn", "syn-ack", "handshake-ack"):
        assert re.search(rf"\s{label}\s", text), label
    syn = next(f for f in result.frames if f.label == "syn")
    assert TEXTS[lang]["isn"].format(isn=syn.seq_raw, next=syn.seq_raw + 1) in text
    assert images == 1


def test_data_step_shows_the_exchanges_and_two_figures(executed, lang, result):
    text, images = outputs(executed, "data")
    for exchange in result.exchanges:
        assert exchange.request in text and exchange.response in text
    assert TEXTS[lang]["votes"] in text
    assert images == 2     # the ladder of the data phase and the time-sequence graph


def test_teardown_step_says_who_closed_first(executed, lang, result):
    text, images = outputs(executed, "teardown")
    assert TEXTS[lang]["closed"].format(orig=result.connections[0].orig) in text and images == 1


def test_questions_table_has_the_irtt_and_every_question(executed, lang, result):
    text, _ = outputs(executed, "questions")
    answers = answer_all(result, lang=lang)
    irtt = next(a for a in answers if a.key == "irtt")
    assert f"{irtt.value * 1000:.3f} ms" in irtt.answer
    for answer in answers:
        assert answer.key in text and html.escape(answer.question, quote=False) in text
        assert html.escape(answer.answer, quote=False) in text, answer.answer


def test_other_scenarios_show_retransmissions_and_the_refusal(executed):
    lossy, images = outputs(executed, "lossy")
    assert "retransmission" in lossy and "duplicate-ack" in lossy and images == 1
    refused, images = outputs(executed, "refused")
    assert "RST,ACK" in refused and "REJ" in refused and images == 1


def no_errors(notebook) -> None:
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            assert output.output_type != "error", (cell.metadata.get("tags"), output.get("evalue"))


def shown_text(notebook) -> str:
    """What a reader sees of every output: printed lines, tables (HTML without its <style>), Markdown."""
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            parts += [output.get("text", ""), data.get("text/plain", ""), data.get("text/markdown", ""),
                      visible_text(data.get("text/html", ""))]
    return "\n".join(parts)


def test_the_indonesian_notebook_shows_no_english_sentence_of_ours(executed, lang):
    # what stays as it is removed first: the Info column, the lab's lines, filters, field names,
    # paths, and the answers' keys (machine-readable, as in the JSON)
    keep = [str(ROOT)]
    for name in ("reqresp", "lossy", "refused"):
        analysis = analyze(DATA / f"{name}.pcap")
        keep += untranslated_items(analysis) + [a.key for a in answer_all(analysis)]
    left = english_left(shown_text(executed), sorted(set(keep), key=len, reverse=True))
    if lang == "id":
        assert left == []
    else:   # the same check on the English notebook finds the sentences it exists to find
        assert {"the", "by", "of"} <= set(left), left


def test_every_text_taking_call_of_the_indonesian_notebook_passes_its_language():
    import ast

    notebook = nbformat.read(NOTEBOOKS["id"], as_version=4)
    calls = [node for cell in notebook.cells if cell.cell_type == "code"
             for node in ast.walk(ast.parse(cell.source))
             if isinstance(node, ast.Call) and getattr(node.func, "id", None) in LANGUAGE_TAKING]
    assert len(calls) >= 10
    for call in calls:
        lang = next((k.value for k in call.keywords if k.arg == "lang"), None)
        assert isinstance(lang, ast.Name) and lang.id == "LANG", ast.unparse(call)
    assert 'LANG = "id"' in "".join(c.source for c in notebook.cells)


def test_both_notebooks_have_the_same_steps():
    en, id_ = (nbformat.read(NOTEBOOKS[lang], as_version=4) for lang in ("en", "id"))
    assert [(c.cell_type, c.metadata.get("tags")) for c in en.cells] == \
        [(c.cell_type, c.metadata.get("tags")) for c in id_.cells]


def test_as_root_it_captures_a_fresh_session_inside_the_running_kernel(tmp_path, lang):
    if os.geteuid() != 0:
        pytest.skip("the fresh capture is the root path; not root here (the shipped-capture test runs)")
    notebook = execute({"REQRESP_NOTEBOOK_CAPTURE": None, "TMPDIR": str(tmp_path)}, lang=lang)
    no_errors(notebook)
    text, _ = outputs(notebook, "load")
    fresh = tmp_path / "walkthrough-reqresp.pcap"
    assert re.search(TEXTS[lang]["fresh"] + re.escape(str(fresh)), text), text
    result = analyze(fresh)
    assert [c.history for c in result.connections] == ["ShADadFf"]
    assert (counts(lang, result)
            + TEXTS[lang]["exchanges"].format(n=len(result.exchanges))) in text
    data, _ = outputs(notebook, "data")
    assert TEXTS[lang]["votes"] in data


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


def test_not_root_it_reads_the_shipped_capture(unprivileged_kernel, lang, result):
    notebook = execute({"REQRESP_NOTEBOOK_CAPTURE": None}, kernel_name=unprivileged_kernel, lang=lang)
    no_errors(notebook)
    text, _ = outputs(notebook, "load")
    assert TEXTS[lang]["shipped"] in text
    assert counts(lang, result) in text
