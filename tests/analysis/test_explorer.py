"""report.html's explorer in a real headless Chromium (selenium, the system's chromedriver):
the packet list, the details tree and bytes pane (against tshark's PDML), the display filter
(against tshark -Y), Follow TCP stream, step mode; no console error, no request but the page
itself. A screenshot of each state is kept in test-artifacts/. The Indonesian page (lang="id"):
its panes, step mode and filter messages in Indonesian, filtering as the English page does. And
the size bound on a large capture.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from analysis.report import explorer
from analysis.report.html import write_reports
from tests.analysis.support.browser import console_errors, requested_urls

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "notebooks" / "data"
ARTIFACTS = ROOT / "test-artifacts"
TSHARK = shutil.which("tshark")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pages(default, lossy, tmp_path_factory):
    out = {}
    for name, analysis, lang in (("reqresp", default, "en"), ("lossy", lossy, "en"), ("reqresp-id", default, "id")):
        folder = tmp_path_factory.mktemp(name)
        write_reports(analysis, folder, lang=lang)
        out[name] = folder / "report.html"
    return out


def _opened(browser, path: Path):
    """A page freshly loaded; after the test: no console error (an msgid missing from the page's
    catalog is one) and no request but the page's own file (data: URIs are the embedded figures)."""
    requested_urls(browser)                      # forget what came before (the start page)
    browser.get_log("browser")
    uri = path.resolve().as_uri()
    browser.get(uri)
    yield browser
    assert console_errors(browser) == []
    others = [u for u in requested_urls(browser) if u != uri and not u.startswith("data:")]
    assert others == [], f"the page made requests: {others}"


@pytest.fixture()
def page(browser, pages):
    """The default capture's explorer, in English."""
    yield from _opened(browser, pages["reqresp"])


@pytest.fixture()
def page_id(browser, pages):
    """The default capture's explorer, in Indonesian."""
    yield from _opened(browser, pages["reqresp-id"])


def shot(browser, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / f"explorer-{name}.png"))


def field_line(browser, name: str):
    return browser.find_element(By.CSS_SELECTOR, f'#x-tree .x-line[data-name="{name}"]')


def visible_rows(browser) -> list[int]:
    return browser.execute_script("return XExplorer.visible()")


def pdml_field(path: Path, number: int, name: str) -> tuple[int, int]:
    run = subprocess.run([TSHARK, "-r", str(path), "-Y", f"frame.number == {number}", "-T", "pdml"],
                         capture_output=True, text=True, timeout=60, check=True)
    field = ET.fromstring(run.stdout).find(f".//field[@name='{name}']")
    return int(field.get("pos")), int(field.get("size"))


def test_frame_3_shows_the_syn_tree(page):
    page.find_element(By.CSS_SELECTOR, '#x-list tr[data-n="3"]').click()
    assert page.execute_script("return XExplorer.current()") == 3
    layers = [e.get_attribute("data-name") for e in
              page.find_elements(By.CSS_SELECTOR, "#x-tree > .x-node > .x-line")]
    assert layers == ["frame", "eth", "ip", "tcp"]
    field_line(page, "tcp.flags").click()               # opens the flags subtree
    syn = field_line(page, "tcp.flags.syn")
    assert syn.is_displayed() and syn.text.startswith("Syn: Set")
    assert field_line(page, "tcp.flags.ack").text.startswith("Acknowledgment: Not set")
    assert "MSS=1460" in field_line(page, "tcp.options.mss_val").get_attribute("textContent")
    shot(page, "frame3-syn")


def test_selecting_tcp_seq_highlights_its_bytes_at_tsharks_offset(page):
    pos, size = pdml_field(DATA / "reqresp.pcap", 3, "tcp.seq")
    page.find_element(By.CSS_SELECTOR, '#x-list tr[data-n="3"]').click()
    field_line(page, "tcp.seq").click()
    lit = [int(e.get_attribute("data-i")) for e in page.find_elements(By.CSS_SELECTOR, "#x-bytes .x-b.x-hl")]
    assert (size, lit) == (4, list(range(pos, pos + size)))
    assert "Seq=0" in page.find_element(By.ID, "x-note").text
    shot(page, "frame3-tcp-seq")
    # and back: clicking a byte selects the field it belongs to
    page.find_element(By.CSS_SELECTOR, f'#x-bytes .x-b[data-i="{pos - 2}"]').click()     # dst port
    assert page.find_element(By.CSS_SELECTOR, "#x-tree .x-fsel").get_attribute("data-name") == "tcp.dstport"


def test_the_ack_note_says_what_was_received(page):
    page.find_element(By.CSS_SELECTOR, '#x-list tr[data-n="7"]').click()
    field_line(page, "tcp.ack").click()
    assert page.find_element(By.ID, "x-note").text == (
        "Ack=14: the server has received the client's bytes 1..13 and expects byte 14 next.")


def test_filter_selects_the_two_syn_frames(page):
    box = page.find_element(By.ID, "x-filter")
    box.send_keys("tcp.flags.syn == 1", Keys.ENTER)
    assert visible_rows(page) == [3, 4]
    shown = [e.get_attribute("data-n") for e in page.find_elements(By.CSS_SELECTOR, "#x-list tbody tr")
             if e.is_displayed()]
    assert shown == ["3", "4"]
    assert page.find_element(By.ID, "x-count").text == "Displayed: 2 of 24"
    shot(page, "filter-syn")


@pytest.mark.parametrize("text, message", [
    ("tcp.flags.syn ==", "column 17: expected a value, got the end"),
    ("tcp.flagz == 1", "'tcp.flagz' is not a field we dissect"),
    ("(tcp.port == 2222", "expected ')'"),
    ("ip.src == 172.28.0.300", "'172.28.0.300' is not an IPv4 address or network"),
])
def test_an_invalid_filter_says_why_and_keeps_the_list(page, text, message):
    box = page.find_element(By.ID, "x-filter")
    box.send_keys("arp", Keys.ENTER)
    assert visible_rows(page) == [1, 2]
    box.clear()
    box.send_keys(text, Keys.ENTER)
    shown = page.find_element(By.ID, "x-filter-msg").text
    assert shown.startswith("Invalid filter: ") and message in shown, shown
    assert visible_rows(page) == [1, 2], "an invalid filter must not empty the list"
    assert "x-bad" in box.get_attribute("class")
    shot(page, "filter-invalid")


def test_follow_tcp_stream_shows_both_sides(page):
    client = [e.text for e in page.find_elements(By.CSS_SELECTOR, "#x-follow .x-cli")]
    server = [e.text for e in page.find_elements(By.CSS_SELECTOR, "#x-follow .x-srv")]
    assert "Hello Server" in client
    assert "Echo: Hello Server" in server
    assert page.find_element(By.CSS_SELECTOR, "#x-follow .x-cli").value_of_css_property("color") != \
        page.find_element(By.CSS_SELECTOR, "#x-follow .x-srv").value_of_css_property("color")
    page.find_element(By.ID, "x-follow").location_once_scrolled_into_view
    shot(page, "follow-stream")


def test_step_mode_moves_along_the_ladder(page):
    page.find_element(By.CSS_SELECTOR, '#x-list tr[data-n="3"]').click()
    page.find_element(By.ID, "x-next").click()
    assert page.execute_script("return XExplorer.current()") == 4
    step = page.find_element(By.ID, "x-step").text
    assert "Frame 4: syn-ack" in step and "Ack=1: the client's ISN + 1" in step
    page.find_element(By.ID, "x-next").click()
    step = page.find_element(By.ID, "x-step").text
    assert "Seq 0 -> 1: the client's previous Seq 0 + 1 (0 data bytes + SYN in frame 3)" in step
    assert "Window 64240 -> 64512" in step
    page.find_element(By.ID, "x-prev").click()
    assert page.execute_script("return XExplorer.current()") == 4
    current = page.find_element(By.CSS_SELECTOR, "#x-ladder .x-arrow.x-cur")
    assert current.get_attribute("data-n") == "4"
    page.find_element(By.CSS_SELECTOR, '#x-ladder .x-arrow[data-n="6"] text').click()
    assert page.execute_script("return XExplorer.current()") == 6
    assert "Seq=1: this segment carries the client's bytes 1..13" in \
        page.find_element(By.CSS_SELECTOR, '#x-tree .x-line[data-name="tcp.seq"]').get_attribute("textContent")
    page.find_element(By.ID, "x-step").location_once_scrolled_into_view
    shot(page, "step-mode")


def test_up_and_down_keys_move_the_selection(page):
    page.find_element(By.CSS_SELECTOR, '#x-list tr[data-n="6"]').click()
    body = page.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.ARROW_DOWN)
    body.send_keys(Keys.ARROW_DOWN)
    assert page.execute_script("return XExplorer.current()") == 8
    body.send_keys(Keys.ARROW_UP)
    assert page.execute_script("return XExplorer.current()") == 7
    assert page.find_element(By.CSS_SELECTOR, "#x-list tr.x-sel").get_attribute("data-n") == "7"


def test_conversations_and_io_graph_cover_the_capture(page, default):
    cells = [td.text for td in page.find_elements(By.CSS_SELECTOR, "#x-conv-table tr:nth-child(2) td")]
    conn = default.connections[0]
    assert cells[:5] == ["0", conn.orig_ip, str(conn.orig_port), conn.resp_ip, str(conn.resp_port)]
    assert int(cells[5]) == len(conn.frames)
    assert int(cells[6]) == sum(f.len for f in default.frames if f.conn == 0)
    path = page.find_element(By.CSS_SELECTOR, "#x-io-svg .x-io-frames").get_attribute("d")
    assert path.startswith("M") and path.count("L") >= 1
    page.find_element(By.ID, "x-io").location_once_scrolled_into_view
    shot(page, "conversations-io")


# --- the Indonesian page ----------------------------------------------------------------------------

def test_the_indonesian_explorer(page_id, default):
    assert page_id.execute_script("return document.documentElement.lang") == "id"
    heads = [th.text for th in page_id.find_elements(By.CSS_SELECTOR, "#x-list thead th")]
    assert heads == ["Nomor", "Waktu", "Sumber", "Tujuan", "Protokol", "Panjang", "Info", "Fase", "Label", "Analisis"]
    assert page_id.find_element(By.ID, "x-apply").text == "Terapkan"
    assert page_id.find_element(By.ID, "x-next").text == "Frame berikutnya ▶"
    # the details pane: Wireshark's titles and the flag bits in Indonesian, the field names as they are
    page_id.find_element(By.CSS_SELECTOR, '#x-list tr[data-n="3"]').click()
    field_line(page_id, "tcp.flags").click()
    assert field_line(page_id, "tcp.flags.syn").text.startswith("Syn: Diset [tcp.flags.syn]")
    assert field_line(page_id, "tcp.flags.ack").text.startswith("Acknowledgment: Tidak diset")
    field_line(page_id, "tcp.seq").click()
    assert field_line(page_id, "tcp.seq").text.startswith("Nomor urut (relatif): 0 [tcp.seq]")
    assert page_id.find_element(By.ID, "x-note").text == (
        f"Seq=0 (relatif; mentah {default.frames[2].seq_raw}): nomor urut awal milik client. SYN itu "
        "sendiri memakai satu nomor, jadi datanya akan dimulai dari 1.")
    pos, size = pdml_field(DATA / "reqresp.pcap", 3, "ip.proto")        # a field with no sentence
    field_line(page_id, "ip.proto").click()
    assert page_id.find_element(By.ID, "x-note").text == f"ip.proto: {size} byte di offset {pos}"
    # step mode
    page_id.find_element(By.ID, "x-next").click()
    step = page_id.find_element(By.ID, "x-step").text
    assert "Frame 4: syn-ack (handshake)" in step
    assert "Ack=1: ISN milik client + 1, karena SYN-nya memakai satu nomor urut." in step
    assert page_id.find_element(By.ID, "x-step-pos").text == "frame 4 dari 24 di diagram tangga"
    page_id.find_element(By.ID, "x-step").location_once_scrolled_into_view
    shot(page_id, "id-step-mode")
    # the filter's messages
    box = page_id.find_element(By.ID, "x-filter")
    box.send_keys("tcp.flags.syn == 1", Keys.ENTER)
    assert visible_rows(page_id) == [3, 4]
    assert page_id.find_element(By.ID, "x-count").text == "Ditampilkan: 2 dari 24"
    box.clear()
    box.send_keys("tcp.flags.syn ==", Keys.ENTER)
    assert page_id.find_element(By.ID, "x-filter-msg").text == (
        "Filter tidak valid: kolom 17: diharapkan nilai, tetapi filter sudah berakhir. Daftar masih "
        "menampilkan frame dari filter sebelumnya.")
    assert visible_rows(page_id) == [3, 4]
    box.location_once_scrolled_into_view
    shot(page_id, "id-filter-invalid")
    heads = [th.text for th in page_id.find_elements(By.CSS_SELECTOR, "#x-conv-table th")]
    assert heads[:3] == ["Stream", "Alamat A", "Port A"] and heads[-2:] == ["Mulai (relatif)", "Durasi"]
    assert "frame per" in page_id.find_element(By.ID, "x-io").text


def test_the_indonesian_panes_show_the_indonesian_sentences_of_every_frame(page_id, default):
    # the sentences are checked for English in test_i18n_reports (test_the_explorer_is_indonesian);
    # here: the page shows exactly those, for every frame
    data = explorer.explorer_data(default, lang="id")
    for frame in data["frames"]:
        page_id.execute_script("XExplorer.select(arguments[0])", frame["n"])
        steps = page_id.execute_script(
            "return Array.from(document.querySelectorAll('#x-step li'), (li) => li.textContent)")
        assert steps == frame["step"]
        notes = page_id.execute_script(
            "const out = {}; for (const l of document.querySelectorAll('#x-tree .x-line')) {"
            " const w = l.querySelector('.x-why'); if (w) out[l.dataset.name] = w.textContent; } return out")
        assert notes == frame["notes"]
    assert page_id.execute_script("return XExplorer.current()") == data["frames"][-1]["n"]


def test_the_indonesian_page_filters_as_the_english_one(browser, pages):
    # the flag bits are shown as Diset / Tidak diset there: the filter still reads them as 1 / 0
    selections = {}
    for name in ("reqresp", "reqresp-id"):
        browser.get(pages[name].resolve().as_uri())
        selections[name] = [browser.execute_script("return XFilter.select(arguments[0])", text) for text in FILTERS]
    assert selections["reqresp-id"] == selections["reqresp"]
    assert selections["reqresp"][FILTERS.index("tcp.flags.syn == 1 && tcp.flags.ack == 0")] == [3]


# --- the page's filter engine against tshark -Y ---------------------------------------------------

FILTERS = [
    "tcp", "arp", "ip", "eth", "tcp.flags.syn == 1", "tcp.flags.syn == 1 && tcp.flags.ack == 0",
    "tcp.flags.fin == 1", "tcp.flags.reset == 1", "tcp.flags.push == 1 || tcp.flags.fin == 1",
    "!tcp", "not arp and not tcp.flags.ack == 1", "tcp.len > 0", "tcp.len >= 13", "tcp.len < 1",
    "tcp.len <= 11", "tcp.len != 0", "tcp.seq == 1", "tcp.ack == 14", "tcp.ack > 1 && tcp.len == 0",
    "tcp.port == 2222", "tcp.srcport == 2222", "tcp.dstport != 2222", "tcp.port in {80, 443, 2222}",
    "frame.number in {1, 3..5, 20..22}", "frame.len > 70", "frame.len in {42..66}",
    "tcp.flags == 0x018", "tcp.flags == 0x010", "tcp.window_size_value > 500",
    "tcp.options.mss_val == 1460", "tcp.options.wscale.shift == 10", "tcp.options.sack_perm",
    "tcp.options.timestamp.tsval > 0", "ip.src == 172.28.0.3", "ip.addr == 172.28.0.0/24",
    "ip.dst == 172.28.0.2 && tcp.len > 0", "ip.ttl == 64", "ip.flags.df == 1", "ip.id > 0",
    "eth.dst == ff:ff:ff:ff:ff:ff", "eth.src == 02:42:ac:1c:00:03", "eth.addr == 02:42:ac:1c:00:02",
    "arp.opcode == 1", "arp.opcode == 2", "arp.dst.proto_ipv4 == 172.28.0.2",
    'tcp.payload contains "Hello"', 'tcp.payload contains "Echo: "', "tcp.payload contains 0a",
    "(tcp.flags.syn == 1 || tcp.flags.fin == 1) && ip.src == 172.28.0.3",
    "tcp.stream == 0 && !(tcp.len > 0)", "tcp.seq eq 1 or tcp.ack ge 30", "tcp.nxtseq > 20",
    "tcp.flags.str contains \"S\"",
]


def _tshark_select(path: Path, text: str) -> list[int]:
    run = subprocess.run([TSHARK, "-r", str(path), "-Y", text, "-T", "fields", "-e", "frame.number"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, f"tshark rejects {text!r}: {run.stderr.strip()}"
    return [int(line) for line in run.stdout.split()]


@pytest.mark.parametrize("capture", ["reqresp", "lossy"])
def test_the_page_filter_agrees_with_tshark(browser, pages, capture):
    browser.get(pages[capture].resolve().as_uri())
    path = DATA / f"{capture}.pcap"
    disagree = {}
    for text in FILTERS:
        ours = browser.execute_script("return XFilter.select(arguments[0])", text)
        theirs = _tshark_select(path, text)
        if ours != theirs:
            disagree[text] = (ours, theirs)
    assert disagree == {}
    assert len(FILTERS) >= 50


def test_phase_and_label_filters_select_our_phases(browser, pages, default):
    browser.get(pages["reqresp"].resolve().as_uri())
    for phase in ("arp", "handshake", "data", "teardown"):
        ours = browser.execute_script("return XFilter.select(arguments[0])", f'phase == "{phase}"')
        assert ours == [f.number for f in default.frames if f.phase == phase]
    ours = browser.execute_script("return XFilter.select(arguments[0])", 'label == "syn-ack" || label == "fin"')
    assert ours == [f.number for f in default.frames if f.label in ("syn-ack", "fin")]


# --- large captures: the bound ------------------------------------------------------------------

@pytest.fixture(scope="module")
def large(tmp_path_factory):
    """About 20,000 frames: the default capture's connection replayed (bench/analyzer/inputs.py)."""
    from bench.analyzer.inputs import replicate
    from analysis import analyze

    path = tmp_path_factory.mktemp("large") / "large.pcap"
    replicate(DATA / "reqresp.pcap", path, 20_000)
    return analyze(path)


def test_a_large_capture_stays_under_the_bound_and_says_so(large, tmp_path, browser):
    assert large.frame_count >= 20_000
    write_reports(large, tmp_path)
    page = tmp_path / "report.html"
    size = page.stat().st_size
    assert size < 10_000_000, f"report.html is {size:,} bytes"
    text = page.read_text()
    assert f"This page holds the first {explorer.MAX_FRAMES:,} of the {large.frame_count:,} selected frames" in text
    assert "--conn ID" in text and "--frames FROM-TO" in text and "--filter" in text
    data = json.loads(re.search(r'<script type="application/json" id="x-data">(.*?)</script>', text,
                                re.S).group(1))
    assert len(data["frames"]) == explorer.MAX_FRAMES
    assert sum(data["io"]["frames"]) == large.frame_count             # the IO graph: every frame
    assert data["conversations"]["total"] == len(large.connections)
    for phase in ("handshake", "data", "teardown"):                   # the counts: every frame
        count = sum(1 for f in large.frames if f.phase == phase)
        assert f"<td>{phase}</td><td class=\"num\">{count}</td>" in text
    browser.get(page.resolve().as_uri())
    assert browser.find_element(By.ID, "x-count").text == (
        f"Displayed: {explorer.MAX_FRAMES} of {explorer.MAX_FRAMES} "
        f"(the page holds {explorer.MAX_FRAMES} of {large.frame_count} frames)")
    assert console_errors(browser) == []


def test_the_command_line_narrows_the_explorer(tmp_path):
    out = tmp_path / "r"
    run = subprocess.run([sys.executable, "-m", "analysis", str(DATA / "reqresp.pcap"), "--out", str(out),
                          "--filter", "tcp.len > 0 && ip.src == 172.28.0.3"],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert run.returncode == 0, run.stderr
    text = (out / "report.html").read_text()
    data = json.loads(re.search(r'id="x-data">(.*?)</script>', text, re.S).group(1))
    assert [f["n"] for f in data["frames"]] == _tshark_select(DATA / "reqresp.pcap",
                                                              "tcp.len > 0 && ip.src == 172.28.0.3")
    run = subprocess.run([sys.executable, "-m", "analysis", str(DATA / "reqresp.pcap"), "--out", str(out),
                          "--frames", "3-5"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    data = json.loads(re.search(r'id="x-data">(.*?)</script>', (out / "report.html").read_text(),
                                re.S).group(1))
    assert [f["n"] for f in data["frames"]] == [3, 4, 5]


def test_the_byte_bound_cuts_too_and_says_so(default, monkeypatch):
    monkeypatch.setattr(explorer, "MAX_EMBED_BYTES", 20_000)
    data = explorer.explorer_data(default)
    assert 0 < len(data["frames"]) < default.frame_count
    assert len(json.dumps(data["frames"])) <= 20_000
    assert data["cut"] == (f"This page holds the first {len(data['frames'])} (their bytes reach the "
                           f"page's size bound) of the {default.frame_count} selected frames "
                           f"({default.frame_count} in the capture).")


def test_the_browser_and_its_driver_listen_on_loopback_only(browser):
    """The network rule: chromedriver and Chromium accept connections on loopback only (with
    --allowed-ips chromedriver would listen on every interface, filtering by address)."""
    import psutil

    driver = psutil.Process(browser.service.process.pid)
    listening = []
    for process in (driver, *driver.children(recursive=True)):
        try:
            sockets = process.net_connections(kind="inet")
        except psutil.NoSuchProcess:     # a short-lived helper of Chromium's, gone: listens on nothing
            continue
        listening += [c.laddr for c in sockets if c.status == psutil.CONN_LISTEN]
    assert listening and all(addr.ip in ("127.0.0.1", "::1") for addr in listening), listening
