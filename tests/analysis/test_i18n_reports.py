"""Every human-readable output of the analyzer in Indonesian: the text, Markdown and HTML reports,
the JSON's texts, the figures' texts, the CLI's help, errors and warnings. A check for common
English function words on the visible text (after removing what stays untranslated on purpose:
Wireshark's Info column, the lab's own request/response lines, filters, field names, file paths)
finds no English sentence left; it is shown to fail on an untranslated sentence. The Indonesian
HTML report is opened in headless Chromium (selenium, the system chromedriver)."""
from __future__ import annotations

import gettext
import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from analysis import i18n, vocabulary
from analysis.errors import AnalysisError
from analysis.model import warning
from analysis.report.export import to_document
from analysis.report.html import render_html
from analysis.report.markdown import render_md
from analysis.report.questions import answer_all
from analysis.report.text import render_plain

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

# Words of English sentences that Indonesian never uses (the catalog keeps client, server,
# request, response, handshake, frame, capture, data, host, port in English: none is here).
ENGLISH = frozenset("""the and of is are was were to with from this that these those no not
    for by it its in on at an or has have had be been which what who when how there than then
    each every after before into does did only also""".split())
# field names, filters and codes: tcp.analysis.retransmission, frame.number, Seq=1, conn_state
_FRAME_SET = re.compile(r"frame\.number in \{[^}]*\}")   # first: a filter's set, wherever it stands
_CODE = re.compile(r"`[^`]*`|\S*[._=]\S*|\{[^}]*\}|<[^>]*>")
_WORD = re.compile(r"[A-Za-z']+")


def untranslated_items(analysis) -> list[str]:
    """What stays as it is in every language, longest first (removed before the check)."""
    items = {str(analysis.path), Path(analysis.path).name}
    items |= {f.info for f in analysis.frames}                     # Wireshark's Info column
    for e in analysis.exchanges:                                   # the lab's verbatim lines
        for text in (e.request, e.response):
            if text:
                items |= {text, repr(text)}
    items |= set(vocabulary.PHASE_FILTERS.values())
    items.add("(tshark: total block lengths don't match)")         # tshark's own words, quoted
    items |= {"'who has <IP>? tell <IP>'", "'<IP> is at <MAC>'"}      # Wireshark's ARP Info, quoted
    return sorted((i for i in items if i), key=len, reverse=True)


def english_left(text: str, keep: list[str]) -> list[str]:
    """The English function words left in `text` once the untranslated items are removed."""
    for item in keep:
        text = text.replace(item, " ")
    text = _CODE.sub(" ", _FRAME_SET.sub(" ", text))
    return sorted({w for w in _WORD.findall(text) if w.lower() in ENGLISH})


class _Visible(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("style", "script")

    def handle_endtag(self, tag):
        self._skip -= tag in ("style", "script")

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def without_explorer(page: str) -> str:
    """The report page without its explorer (the explorer's texts are not translated yet:
    test_the_explorer_is_indonesian below says so, and fails the day they are)."""
    start = page.find('<h2 id="explorer">')
    end = page.find("</section>", page.find('<section id="x-explorer">'))
    return page if start < 0 or end < 0 else page[:start] + page[end + len("</section>"):]


def visible_text(page: str) -> str:
    parser = _Visible()
    parser.feed(page)
    return "\n".join(parser.parts)


def figure_texts(analysis, lang: str) -> str:
    from matplotlib.text import Text

    from analysis.figures.render import ladder, phase_timeline, time_sequence

    figures = [ladder(analysis, lang=lang), phase_timeline(analysis, lang=lang)]
    figures += [time_sequence(analysis, c.id, lang=lang) for c in analysis.connections]
    return "\n".join(t.get_text() for fig in figures for t in fig.findobj(Text))


def json_texts(analysis, lang: str) -> str:
    doc = to_document(analysis, lang=lang)
    assert doc["lang"] == lang
    texts = [w["message"] for w in doc["warnings"]]
    for table in doc["vocabulary"].values():
        texts += [v for v in table.values() if isinstance(v, str) and v not in vocabulary.PHASE_FILTERS.values()]
    return "\n".join(texts)


def renderings(analysis, lang: str) -> dict[str, str]:
    from analysis.figures.render import report_figures

    figures = report_figures(analysis, lang=lang)
    captions = "\n".join(f"{f.title}. {f.caption}" for f in figures)
    return {"text": render_plain(analysis, lang=lang),
            "markdown": render_md(analysis, figures, lang=lang),
            "html": visible_text(without_explorer(render_html(analysis, figures, lang=lang))),
            "json": json_texts(analysis, lang),
            "figures": figure_texts(analysis, lang) + "\n" + captions}


@pytest.fixture(scope="module", params=["default", "lossy", "refused"])
def capture(request):
    return request.getfixturevalue(request.param)


def test_every_report_format_is_indonesian(capture) -> None:
    keep = untranslated_items(capture)
    for name, text in renderings(capture, "id").items():
        assert english_left(text, keep) == [], name


def test_the_check_finds_english(capture) -> None:
    # the same check on the English reports finds the sentences it exists to find
    keep = untranslated_items(capture)
    for name, text in renderings(capture, "en").items():
        assert {"the", "of"} & set(english_left(text, keep)) or name == "json" and not text, name


def test_the_check_catches_one_untranslated_sentence(default, monkeypatch) -> None:
    sentence = "Requests (client to server) paired with the server's responses."
    keep = untranslated_items(default)
    assert english_left(render_plain(default, lang="id"), keep) == []
    original = gettext.GNUTranslations.gettext
    monkeypatch.setattr(gettext.GNUTranslations, "gettext",
                        lambda self, m: m if m == sentence else original(self, m))
    text = render_plain(default, lang="id")
    assert sentence in text
    assert english_left(text, keep) == ["the", "to", "with"]


def test_the_html_page_says_its_language_and_the_json_records_it(default) -> None:
    page = render_html(default, lang="id")
    assert page.startswith('<!DOCTYPE html>\n<html lang="id">')
    assert "Pertanyaan praktikum TCP" in page and "Fase: handshake (3 frame)" in page
    assert '<html lang="en">' in render_html(default)
    assert to_document(default)["lang"] == "en"
    assert to_document(default, lang="id")["vocabulary"]["phases"]["arp"].startswith("Pertukaran ARP")


def test_plural_forms_in_the_reports(default, refused) -> None:
    # English: 1 frame / 2 frames; Indonesian: one form, no plural suffix
    assert "1 TCP connection," in render_plain(default) and "(2 frames)" in render_plain(default)
    assert "1 koneksi TCP," in render_plain(default, lang="id")
    assert "(2 frame)" in render_plain(default, lang="id")


def test_answers_stay_data_and_only_their_sentences_change(default) -> None:
    en, id_ = answer_all(default), answer_all(default, lang="id")
    assert [(a.key, a.frames, a.value) for a in en] == [(a.key, a.frames, a.value) for a in id_]
    assert all(a.question != b.question for a, b in zip(en, id_))


# --- errors and warnings -------------------------------------------------------------------------

def _cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in i18n.LOCALE_VARIABLES}
    return subprocess.run([sys.executable, "-m", "analysis", *args], cwd=ROOT, env={**clean, **env},
                          capture_output=True, text=True, timeout=120)


def _bad_captures(tmp: Path) -> dict[str, Path]:
    from tests.analysis.support.pcapfiles import pcap_bytes

    shipped = (ROOT / "notebooks" / "data" / "reqresp.pcap").read_bytes()
    files = {"empty": b"", "not-a-capture": b"hello, this is text\n", "header-cut": shipped[:10],
             "cut-record": shipped[:-7], "unknown-linktype": pcap_bytes([(0, b"\x00" * 60)], linktype=147)}
    out = {}
    for name, data in files.items():
        (tmp / f"{name}.pcap").write_bytes(data)
        out[name] = tmp / f"{name}.pcap"
    return out


def test_every_cli_error_and_warning_is_one_indonesian_line(tmp_path) -> None:
    files = _bad_captures(tmp_path)
    runs = {name: _cli(str(path), "--lang", "id") for name, path in files.items()}
    runs["missing"] = _cli(str(tmp_path / "nothing.pcap"), "--lang", "id")
    runs["summary"] = _cli(str(ROOT / "notebooks/data/reqresp.pcap"), "--summary", "--csv", "--lang", "id")
    runs["phase"] = _cli(str(ROOT / "notebooks/data/reqresp.pcap"), "--phase", "talking", "--lang", "id")
    runs["conn"] = _cli(str(ROOT / "notebooks/data/reqresp.pcap"), "--conn", "7", "--lang", "id")
    for name, run in runs.items():
        lines = run.stderr.strip().splitlines()
        if name == "cut-record":
            assert run.returncode == 0 and lines[0].startswith("peringatan: "), run.stderr
            assert "file berakhir di dalam frame" in lines[0]
        else:
            assert run.returncode == 2 and len(lines) == 1 or name in ("phase",), (name, run.stderr)
            assert "kesalahan: " in lines[-1], (name, run.stderr)
        assert english_left(lines[-1], [str(tmp_path), str(ROOT)]) == [], (name, lines[-1])
    assert "tidak ada koneksi 7" in runs["conn"].stderr
    english = _cli(str(files["empty"]), "--lang", "en")
    assert english.stderr.startswith("error: ") and "empty file (0 bytes), not a capture" in english.stderr


# merged the same day as the translations; their errors are still English f-strings (issue 16 is
# open): test_the_late_modules_raise_templates_too fails the day they are converted
NOT_YET_TEMPLATES = ("analysis/dissect/", "analysis/filter/", "analysis/report/annotate.py",
                     "analysis/report/pcapng_out.py")


def _raised_templates(only_late: bool = False) -> list[tuple[str, str | None, dict]]:
    """Every AnalysisError raised in analysis/ outside the grader, read from the code."""
    import ast

    found = []
    for path in sorted((ROOT / "analysis").rglob("*.py")):
        if "grade" in path.parts:
            continue
        late = str(path.relative_to(ROOT)).startswith(NOT_YET_TEMPLATES)
        if late != only_late:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id.endswith("Error") and node.func.id not in ("ValueError", "RuntimeError",
                                                                               "AttributeError", "TypeError")):
                first = node.args[0] if node.args else None
                assert (isinstance(first, ast.Call) and getattr(first.func, "id", "") == "N_"), (
                    f"{path}:{node.lineno}: raise with an N_() template, its values in fields=")
                hint = next((k.value for k in node.keywords if k.arg == "hint"), None)
                found.append((first.args[0].value,
                              hint.args[0].value if isinstance(hint, ast.Call) else None))
    return found


@pytest.mark.xfail(strict=True, reason="dissect/, filter/, annotate and pcapng_out raise English "
                                        "f-strings so far (issue 16)")
def test_the_late_modules_raise_templates_too() -> None:
    _raised_templates(only_late=True)


def test_every_raise_site_is_a_template_and_reads_in_indonesian() -> None:
    t = i18n.translation("id")
    raised = _raised_templates()
    assert len(raised) >= 15
    for template, hint in raised:
        fields = {f: 7 for f in re.findall(r"\{(\w+)", template + (hint or ""))}
        error = AnalysisError(template, path="x.pcap", frame=3, hint=hint, fields=fields)
        assert error.one_line().startswith("x.pcap: frame 3: ")
        line = error.one_line(t)
        assert line.startswith("x.pcap: frame 3: ") and line != error.one_line()
        assert english_left(line, ["x.pcap"]) == [], line


def test_warnings_keep_their_english_and_say_it_in_indonesian() -> None:
    from analysis.decode.link import undecoded_warnings
    from analysis.decode.checksums import bad_checksums_warning

    t = i18n.translation("id")
    one = undecoded_warnings("a.pcap", {0x88CC: [1, 4]})[0]
    many = undecoded_warnings("a.pcap", {0x88CC: [3, 4]})[0]
    assert "1 frame behind" in one.message and "3 frames behind" in many.message
    assert "3 frame di balik" in many.text(t) and many.text() == many.message
    bad = bad_checksums_warning("a.pcap", 9, 10)
    assert bad.text(t).startswith("a.pcap: 9 dari 10 segmen TCP")
    assert warning("x", "{path}: plain", path="p").text(t) == "p: plain"   # not in the catalog: as written


# --- the CLI's help and argparse's own texts -------------------------------------------------------

def test_the_cli_help_is_indonesian() -> None:
    run = _cli("--help", "--lang", "id")
    assert run.returncode == 0 and run.stdout.startswith("penggunaan: python -m analysis")
    assert "Menjelaskan capture pcap/pcapng frame demi frame" in run.stdout
    keep = ["python -m analysis", "DIR/<name>/", "export.py", "summary.txt", "summary.json", "connections.csv",
            "FROM-TO", "FROM", "TO"]   # a metavar: a placeholder argparse prints as given
    assert english_left(run.stdout, keep) == [], run.stdout
    assert "Explain a pcap/pcapng capture" in _cli("--help", "--lang", "en").stdout


@pytest.mark.parametrize("env, lang", [({"LANG": "id_ID.UTF-8"}, "id"), ({"LANG": "C"}, "en")])
def test_the_locale_chooses_like_lang(env, lang, tmp_path) -> None:
    run = _cli(str(ROOT / "notebooks/data/refused.pcap"), "--out", str(tmp_path / "r"), **env)
    assert run.returncode == 0, run.stderr
    assert run.stderr.startswith({"id": "ditulis: ", "en": "wrote "}[lang])
    assert f'<html lang="{lang}">' in (tmp_path / "r" / "report.html").read_text()
    assert json.loads((tmp_path / "r" / "analysis.json").read_text())["lang"] == lang


def test_make_analyze_honours_the_locale(tmp_path) -> None:
    capture = tmp_path / f"i18n-check-{os.getpid()}.pcap"    # its own reports/<name>/
    shutil.copy(ROOT / "notebooks/data/refused.pcap", capture)
    clean = {k: v for k, v in os.environ.items() if k not in i18n.LOCALE_VARIABLES}
    run = subprocess.run(["make", "-s", "analyze", str(capture)], cwd=ROOT, capture_output=True, text=True,
                         env={**clean, "LANG": "id_ID.UTF-8"}, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    out = ROOT / "reports" / capture.stem
    try:
        assert '<html lang="id">' in (out / "report.html").read_text()
    finally:
        shutil.rmtree(out, ignore_errors=True)


# --- the browser -----------------------------------------------------------------------------------

@pytest.mark.slow
def test_the_indonesian_report_in_chromium(default, tmp_path) -> None:
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("chromium / chromium-driver not installed (make tools-test installs them)")
    os.environ.setdefault("SE_AVOID_STATS", "true")       # Selenium's telemetry off
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    from analysis.report.html import write_reports

    write_reports(default, tmp_path, lang="id")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM                      # both given: no Selenium Manager
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-extensions", f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1300,1600"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        driver.get((tmp_path / "report.html").as_uri())
        assert driver.execute_script("return document.documentElement.lang") == "id"
        body = driver.execute_script("return document.body.innerText")
        assert "Pertanyaan praktikum TCP, dijawab dari capture ini" in body
        assert "Siapa yang menutup koneksi lebih dulu?" in body
        alts = driver.execute_script("return Array.from(document.images).map(i => i.alt)")
        assert alts == ["Diagram tangga", "Linimasa fase", "Grafik time-sequence, koneksi 0"]
        ARTIFACTS.mkdir(exist_ok=True)
        shot = driver.get_screenshot_as_png()
        (ARTIFACTS / "report-reqresp-id.png").write_bytes(shot)
        assert shot[:4] == b"\x89PNG" and len(shot) > 50_000
    finally:
        driver.quit()


@pytest.mark.xfail(strict=True, reason="the explorer's own texts (panes, buttons, step mode, field "
                                        "sentences) are English only so far (issue 16)")
def test_the_explorer_is_indonesian(default) -> None:
    page = render_html(default, (), lang="id")
    start = page.find('<h2 id="explorer">')
    explorer = page[start:page.find("</section>", start)]
    assert english_left(visible_text(explorer), untranslated_items(default)) == []
