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
from tests.analysis.support.english import english_left, untranslated_items, visible_text

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")



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
            "html": visible_text(render_html(analysis, figures, lang=lang)),
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


def _raised_templates() -> list[tuple[str, str | None]]:
    """Every AnalysisError raised in analysis/ outside the grader, read from the code."""
    import ast

    found = []
    for path in sorted((ROOT / "analysis").rglob("*.py")):
        if "grade" in path.parts:
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


# filters the explorer and the CLI cannot use: every way the parser and the field types refuse one
BAD_FILTERS = ("", "tcp.port ==", "tcp.port == 80 &&", "(tcp", "tcp.port # 3", "tcp.bogus == 1",
               "tcp.port == http", 'ip.src == "10.0.0.1"', "ip.src == 172.28.0.300", "eth.src == 01:02",
               "tcp.payload contains zz", "frame.time_epoch > soon", "tcp == 1", "tcp.port in {80",
               "tcp.port == 80 tcp")


@pytest.mark.parametrize("text", BAD_FILTERS)
def test_a_filter_we_cannot_parse_reads_in_indonesian(text) -> None:
    from analysis.errors import FilterError
    from analysis.filter import compile_filter

    with pytest.raises(FilterError) as caught:
        compile_filter(text)
    english, indonesian = caught.value.one_line(), caught.value.one_line(i18n.translation("id"))
    assert english == str(caught.value) and english.startswith(f"display filter {text!r}")
    assert indonesian.startswith(f"display filter {text!r}") and indonesian != english
    assert "\n" not in indonesian and english_left(indonesian, [repr(text)]) == [], indonesian
    assert english_left(english, [repr(text)]), english     # the check sees the English one


def test_the_cli_says_a_bad_filter_in_indonesian() -> None:
    capture = str(ROOT / "notebooks/data/reqresp.pcap")
    run = _cli(capture, "-Y", "tcp.port ==", "--lang", "id")
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr == ("kesalahan: display filter 'tcp.port ==' pada kolom 12: diharapkan nilai, "
                          "ditemukan akhir filter\n")
    by_locale = _cli(capture, "-Y", "tcp.port == 80 &&", LANG="id_ID.UTF-8")
    assert by_locale.returncode == 2 and by_locale.stderr == (
        "kesalahan: display filter 'tcp.port == 80 &&' pada kolom 18: diharapkan '!' atau '(' atau "
        "nama field, ditemukan akhir filter\n")
    english = _cli(capture, "-Y", "tcp.port ==", "--lang", "en")
    assert english.stderr == "error: display filter 'tcp.port ==' at column 12: expected a value, got the end\n"


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


# --- the live narration (python -m analysis - --live; make lab starts it) -------------------------

def narration(path, lang: str) -> tuple[list[str], str, set[str]]:
    """(the header and one line per frame, the closing summary, the events narrated) of `--live`
    on the capture."""
    from analysis.live import LiveSession
    from analysis.read.sources import open_source
    from analysis.report.live_text import frame_line, header, summary_text

    t = i18n.translation(lang)
    session = LiveSession(open_source(str(path)))
    records = list(session.frames())
    lines = [header(t)] + [frame_line(record, t) for record in records]
    return lines, summary_text(session.result(), lang), {r.event for r in records}


def _narrated_captures(conformance_dir) -> list[Path]:
    shipped = [ROOT / "notebooks" / "data" / n for n in ("reqresp.pcap", "lossy.pcap", "refused.pcap")]
    return shipped + sorted((conformance_dir / "pcaps").iterdir())


def test_the_live_narration_is_indonesian(conformance_dir) -> None:
    from analysis.api import analyze

    events = set()
    for path in _narrated_captures(conformance_dir):
        keep = untranslated_items(analyze(path))
        lines, summary, seen = narration(path, "id")
        assert english_left("\n".join(lines), keep) == [], path.name
        english, _, _ = narration(path, "en")
        assert english_left("\n".join(english), keep), path.name        # the check sees the English
        assert [line.split()[:4] for line in lines[1:]] == [line.split()[:4] for line in english[1:]]
        if path.parent.name == "data":   # the lab's captures: their exchanges' lines are all kept
            assert english_left(summary, keep) == [], path.name
        events |= seen
    assert len(events) >= 10     # the sentences of (nearly) every event were read


def test_the_live_narration_chooses_its_language_like_the_other_commands(default) -> None:
    # make lab starts `python -m analysis - --live` with the session's --lang (or its locale)
    lab = ROOT / "notebooks" / "data" / "reqresp.pcap"
    names = ["--name", "172.28.0.3=client", "--name", "172.28.0.2=server"]
    keep = untranslated_items(default)
    runs = {}
    for key, args, env in (("lang", ["--lang", "id"], {"LANG": "C.UTF-8"}),
                           ("locale", [], {"LANG": "id_ID.UTF-8"}),
                           ("en", [], {"LANG": "C.UTF-8"})):
        clean = {k: v for k, v in os.environ.items() if k not in i18n.LOCALE_VARIABLES}
        with open(lab, "rb") as stdin:
            runs[key] = subprocess.run([sys.executable, "-m", "analysis", "-", "--live", *names, *args],
                                       cwd=ROOT, stdin=stdin, capture_output=True, text=True,
                                       env={**clean, **env}, timeout=120)
        assert runs[key].returncode == 0, runs[key].stderr
    indonesian = runs["lang"].stdout
    assert runs["locale"].stdout == indonesian
    assert indonesian.startswith("live: satu baris per frame saat di-capture")
    for words in ("client bertanya siapa yang memiliki 172.28.0.2 (ARP)", "client membuka koneksi",
                  "server menerima koneksi", "client menyelesaikan handshake: koneksi terbuka",
                  "client mengirim 13 byte (request)", "server mengakui 13 byte",
                  "server mengirim 17 byte (response) dan mengakui 11 byte",
                  "client menutup lebih dulu (FIN pertama koneksi ini) dan mengakui 10 byte",
                  "server juga menutup sisinya dan mengakui FIN dari client",
                  "client mengakui FIN dari server", "1 koneksi TCP", "Koneksi (1)",
                  "SF  ShADadFf  ditutup lebih dulu oleh client (172.28.0.3:"):
        assert words in indonesian, words
    assert english_left(indonesian, keep) == []
    assert "client opens the connection" in runs["en"].stdout
    assert [line.split()[:4] for line in indonesian.splitlines()[1:25]] == [
        line.split()[:4] for line in runs["en"].stdout.splitlines()[1:25]]   # No., time, phase, label


def test_live_words_plural_and_provisional_notes_in_indonesian(lossy) -> None:
    from analysis.live import LiveSession
    from analysis.read.sources import open_source
    from analysis.report.live_text import frame_line, words

    t = i18n.translation("id")
    records = list(LiveSession(open_source(str(lossy.path))).frames())
    resent = next(r for r in records if r.event == "sends-again")
    assert words(resent, t) == f"{resent.sender} mengirim ulang {resent.length} byte ({resent.direction})"
    assert words(resent) == f"{resent.sender} sends {resent.length} bytes again ({resent.direction})"
    assert words(resent._replace(length=1)) == f"{resent.sender} sends 1 byte again ({resent.direction})"
    doubtful = [r for r in records if r.provisional]
    assert doubtful and all(frame_line(r, t).split()[3] == r.label + "?" for r in doubtful)
    duplicate = next(r for r in records if "duplicate-ack" in r.analysis and not r.acked)
    assert words(duplicate, t).endswith("tidak mengakui data baru (duplicate ACK)")


# --- the CLI's help and argparse's own texts -------------------------------------------------------

def test_the_cli_help_is_indonesian() -> None:
    run = _cli("--help", "--lang", "id")
    assert run.returncode == 0 and run.stdout.startswith("penggunaan: python -m analysis")
    assert "Menjelaskan capture pcap/pcapng frame demi frame" in run.stdout
    keep = ["python -m analysis", "DIR/<name>/", "export.py", "summary.txt", "summary.json", "connections.csv",
            "FROM-TO", "FROM", "TO"]   # a metavar: a placeholder argparse prints as given
    assert english_left(run.stdout, keep) == [], run.stdout
    assert "Explain a pcap/pcapng capture" in _cli("--help", "--lang", "en").stdout


@pytest.mark.parametrize("name", ["reqresp.pcap", "lossy.pcap"])
def test_the_summary_is_indonesian(name) -> None:
    """--summary (the fast engine's counts): its sentences and headings in Indonesian, the counted
    names (phases, labels, protocols, flags, conn_states) as the vocabulary spells them."""
    path = ROOT / "notebooks" / "data" / name
    run = _cli(str(path), "--summary", "--lang", "id")
    assert run.returncode == 0, run.stderr
    assert "frame per fase" in run.stdout and "koneksi TCP" in run.stdout
    assert english_left(run.stdout, [str(path)]) == [], run.stdout
    english = _cli(str(path), "--summary", "--lang", "en").stdout
    assert "frames by phase" in english and english_left(english, [str(path)]), english  # the check bites
    assert " 1 TCP connection," in english                                                # singular


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


def explorer_texts(analysis, lang: str) -> str:
    """Every text the explorer shows, as the page holds it: its fixed texts and the bound's notice
    (the HTML), and what its script writes into the panes (the JSON it reads): the field notes,
    the values and step-mode sentences of every frame, the field titles, the script's own messages
    in every plural form, the label and phase explanations. Not the protocols' lines of the details
    tree ("Transmission Control Protocol, Src Port: ..."): Wireshark's summaries, kept as the Info
    column is."""
    from analysis.report import explorer

    def shows(node, depth=0):
        name, show, kids = node[0], node[3], node[4] if len(node) > 4 else []
        own = [show] if depth or name in ("frame", "data") else []
        return own + [text for kid in kids for text in shows(kid, depth + 1)]

    page = render_html(analysis, (), lang=lang)
    start = page.find('<h2 id="explorer">')
    texts = [visible_text(page[start:page.find("</section>", start)])]
    data = explorer.explorer_data(analysis, lang=lang)
    for frame in data["frames"]:
        texts += [*frame["notes"].values(), *frame["step"]]
        texts += [text for layer in frame["tree"] for text in shows(layer)]
    catalog = data["i18n"]
    texts += [*data["titles"].values(), *catalog["messages"].values(), *catalog["bool"],
              *data["phases"].values(), *data["labels"].values()]
    texts += [form for forms in catalog["plurals"].values() for form in forms]
    return "\n".join(texts)


def test_the_explorer_is_indonesian(capture, monkeypatch) -> None:
    from analysis.report import explorer

    keep = untranslated_items(capture)
    assert english_left(explorer_texts(capture, "id"), keep) == []
    # the check sees the explorer's English
    assert {"the", "is", "of"} <= set(english_left(explorer_texts(capture, "en"), keep))
    # the bound's notice, when the page holds fewer frames than were selected
    monkeypatch.setattr(explorer, "MAX_FRAMES", 2)
    page = render_html(capture, (), lang="id")
    notice = visible_text(page[page.find('<p class="warn" id="x-bound">'):page.find('<style>', page.find('id="x-bound"'))])
    assert notice.startswith(f"Halaman ini memuat 2 frame pertama dari {capture.frame_count} frame yang dipilih")
    assert "--frames FROM-TO" in notice and english_left(notice, keep + ["--frames FROM-TO", "--filter 'tcp.port == 2222'"]) == []


def test_the_explorers_plurals(default) -> None:
    # English: 1 byte / 4 bytes; Indonesian: one form, no plural suffix
    from analysis.report.explorer_words import script_catalog

    for lang, rule, forms in (("en", "(n != 1)", ["{name}: {count} byte at offset {pos}",
                                                 "{name}: {count} bytes at offset {pos}"]),
                              ("id", "0", ["{name}: {count} byte di offset {pos}"])):
        catalog = script_catalog(i18n.translation(lang))
        assert catalog["plural"] == rule
        assert catalog["plurals"]["{name}: {count} byte at offset {pos}\0{name}: {count} bytes at offset {pos}"] == forms
        assert {len(f) for f in catalog["plurals"].values()} == {len(forms)}
    from analysis.report.explain import ConnectionNotes
    notes = [ConnectionNotes(default, i18n.translation(lang)).step(default.frames[4]) for lang in ("en", "id")]
    assert "(0 data bytes + SYN in frame 3)" in notes[0][2] and "(0 byte data + SYN di frame 3)" in notes[1][2]
