"""report.html / report.md and `python -m analysis FILE --out DIR`; report.html in a real browser.

The browser test drives headless Chromium with selenium and the system's chromedriver (the
`browser` fixture, tests/analysis/support/browser.py: no driver download, Chromium's flags keep it off
the network): report.html opens from a file:// URL, every <img> must be loaded with a non-zero
natural size, and a screenshot is kept in test-artifacts/. The explorer's own browser tests are
in test_explorer.py.
"""
from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.figures.render import report_figures
from analysis.report.questions import answer_all
from analysis.report.html import render_html, write_reports
from analysis.report.markdown import render_md

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "notebooks" / "data"
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="module")
def written(default, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    return out, write_reports(default, out)


def test_write_reports_writes_the_pages_and_the_figures(written, default):
    out, paths = written
    names = {p.name for p in paths}
    assert {"report.html", "report.md", "ladder.png", "ladder.svg", "timeline.png"} <= names
    assert {f"tseq-conn{c.id}.png" for c in default.connections} <= names
    for path in paths:
        assert path.is_file() and path.stat().st_size > 500


def test_html_is_self_contained(written):
    page = (written[0] / "report.html").read_text()
    sources = re.findall(r'<img[^>]*src="([^"]+)"', page)
    assert len(sources) == 3 and all(s.startswith("data:image/png;base64,") for s in sources)
    for source in sources:
        assert base64.b64decode(source.split(",", 1)[1])[:4] == b"\x89PNG"
    assert not re.search(r'(src|href)="(https?:)?//', page), "an external reference"
    assert "@import" not in page and "url(http" not in page
    scripts = re.findall(r"<script([^>]*)>", page)
    assert scripts == [' type="application/json" id="x-data"', ""], scripts   # inline only
    for call in ("fetch(", "XMLHttpRequest", "WebSocket", "importScripts", "sendBeacon"):
        assert call not in page, call


def test_html_has_phase_tables_connections_exchanges_and_questions(default):
    answers = answer_all(default)
    page = render_html(default, report_figures(default), answers)
    for phase in ("arp", "handshake", "data", "teardown"):
        assert f"Phase: {phase} (" in page
    assert 'id="connections"' in page and default.connections[0].orig in page
    assert 'id="exchanges"' in page and "Echo: Hello Server" in page
    assert 'id="questions"' in page
    irtt = next(a for a in answers if a.key == "irtt")
    assert f"{irtt.value * 1000:.3f} ms" in page
    assert "frame.number in {" in page
    assert "tcp.flags.syn == 1" in page.replace("&amp;", "&")   # the Wireshark filters


def test_html_escapes_capture_text(default):
    import dataclasses
    evil = dataclasses.replace(default, exchanges=[default.exchanges[0]._replace(request="<script>x</script>")])
    page = render_html(evil, ())
    assert "<script>x" not in page and "&lt;script&gt;x" in page


def test_markdown_has_the_same_content_and_references_the_png_files(default):
    figures = report_figures(default)
    text = render_md(default, figures)
    assert "![Ladder diagram](ladder.png)" in text and "(timeline.png)" in text
    for answer in answer_all(default):
        assert answer.question in text
    for phase in ("arp", "handshake", "data", "teardown"):
        assert f"### Phase: {phase} (" in text
    lines = text.splitlines()
    assert any(line.startswith("| 6 |") for line in lines), "frame 6 is not a table row"
    cells = re.compile(r"(?<!\\)\|")
    for index, line in enumerate(lines):
        if line.startswith("|---"):       # every row of a table has the header's cell count
            width = len(cells.findall(lines[index - 1]))
            for row in lines[index + 1:]:
                if not row.startswith("|"):
                    break
                assert len(cells.findall(row)) == width, row


def test_markdown_cells_cannot_break_the_table(default):
    import dataclasses
    piped = dataclasses.replace(default, exchanges=[default.exchanges[0]._replace(request="a|b\nc")])
    text = render_md(piped, ())
    assert "a\\|b c" in text


def test_make_analyze_cli_writes_the_report_files(tmp_path):
    out = tmp_path / "reqresp"
    run = subprocess.run([sys.executable, "-m", "analysis", str(DATA / "reqresp.pcap"), "--out", str(out)],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert run.returncode == 0, run.stderr
    for name in ("analysis.json", "frames.csv", "report.html", "report.md", "ladder.png", "ladder.svg"):
        assert (out / name).is_file(), name
    assert json.loads((out / "analysis.json").read_text())["frame_count"] == 24


# --- the browser (selenium on headless Chromium: the `browser` fixture, tests/analysis/support/browser.py) ---

IMAGES = ("return Array.from(document.images).map(i => ({alt: i.alt, ok: i.complete && "
          "i.naturalWidth > 0, width: i.naturalWidth}));")


@pytest.mark.slow
def test_report_renders_every_figure_in_a_browser(browser, written):
    out, _ = written
    browser.get((out / "report.html").resolve().as_uri())
    images = browser.execute_script(IMAGES)
    assert [i["alt"] for i in images] == ["Ladder diagram", "Phase timeline", "Time-sequence graph, connection 0"]
    assert all(i["ok"] for i in images), images
    assert browser.title.startswith("reqresp.pcap")
    assert "Questions" in browser.execute_script("return document.body.innerText")
    ARTIFACTS.mkdir(exist_ok=True)
    shot = browser.get_screenshot_as_png()
    (ARTIFACTS / "report-reqresp.png").write_bytes(shot)
    assert shot[:4] == b"\x89PNG" and len(shot) > 50_000


@pytest.mark.slow
def test_the_browser_check_does_see_a_broken_image(browser, tmp_path):
    # the check above must be able to fail: a truncated PNG is reported as not rendered
    page = tmp_path / "broken.html"
    page.write_text('<html><body><img alt="broken" src="data:image/png;base64,iVBORw0KGgo="></body></html>')
    browser.get(page.as_uri())
    assert browser.execute_script(IMAGES) == [{"alt": "broken", "ok": False, "width": 0}]
