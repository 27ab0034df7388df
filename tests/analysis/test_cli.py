"""`python -m analysis` and `make analyze FILE`: outputs, filters, exit status and error lines."""
from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.cli import main
from analysis import vocabulary
from analysis.report.export import CSV_COLUMNS

REPO = Path(__file__).resolve().parents[2]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analysis", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=60)


@pytest.fixture
def http_get(conformance_dir) -> str:
    return str(conformance_dir / "pcaps" / "zeek_http_get.pcap")


def test_text_report_groups_frames_by_phase_with_filters(http_get):
    done = run_cli(http_get)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for heading in ("Phase: handshake (3 frames)", "Phase: data (8 frames)", "Phase: teardown (3 frames)",
                    "Connections (1)", "Exchanges ("):
        assert heading in out
    assert "Wireshark filter (exactly these frames): tcp.flags.syn == 1" in out
    assert "Wireshark filter (exactly these frames): (tcp.flags.fin == 1) || frame.number in {14}" in out
    assert re.search(r"\n  1 +0\.000000 +141\.142\.228\.5:59856 +192\.150\.187\.43:80 +SYN +78 +syn ", out)
    assert out.index("Phase: handshake") < out.index("Phase: data") < out.index("Phase: teardown")
    assert re.search(r"SF +ShADadFf", out)
    assert done.stderr == ""


def test_json_document_has_the_documented_schema(http_get):
    done = run_cli(http_get, "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["schema"] == "reqresp-lab/analysis" and doc["schema_version"] == 3
    first = doc["frames"][0]
    for key in ("number", "time", "src", "dst", "flags", "len", "phase", "label", "analysis", "conn",
                "tcp_flags", "info", "malformed", "arp", "tcp_options"):
        assert key in first
    assert (first["number"], first["flags"], first["label"], first["conn"]) == (1, "SYN", "syn", 0)
    assert (first["tcp_flags"], first["malformed"], first["arp"]) == (0x002, None, None)
    assert first["tcp_options"]["mss"] == 1460 and first["tcp_options"]["wscale"] == 4
    assert first["info"].endswith(" MSS=1460 SACK_PERM WS=16")
    assert set(doc["vocabulary"]["malformed"]) == set(vocabulary.MALFORMED)
    conn = doc["connections"][0]
    assert (conn["orig"], conn["resp"], conn["conn_state"], conn["history"], conn["closed_by"], conn["end"]) == (
        "141.142.228.5:59856", "192.150.187.43:80", "SF", "ShADadFf", "orig", "fin-both")
    assert conn["irtt"] == pytest.approx(0.070034)
    assert {"conn", "request", "response", "latency"} <= set(doc["exchanges"][0])
    assert doc["warnings"] == []


def test_csv_and_filters(conformance_dir):
    ftp = str(conformance_dir / "pcaps" / "zeek_ftp_ipv4.pcap")
    done = run_cli(ftp, "--csv", "--conn", "1", "--phase", "handshake")
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    # version 1's columns, in their order, then the structured fields
    assert list(rows[0])[:24] == ["number", "time", "rel_time", "src", "dst", "sport", "dport", "proto",
                                  "flags", "len", "payload_len", "phase", "label", "direction",
                                  "analysis", "conn", "seq", "ack", "seq_raw", "ack_raw", "window",
                                  "info", "truncated", "malformed"]
    assert list(rows[0]) == list(CSV_COLUMNS) and "tcp_flags" in CSV_COLUMNS
    assert [(r["flags"], r["tcp_flags"]) for r in rows] == [("SYN", "2"), ("SYN,ACK", "18"), ("ACK", "16")]
    assert [r["label"] for r in rows] == ["syn", "syn-ack", "handshake-ack"]
    assert {r["conn"] for r in rows} == {"1"}


@pytest.mark.parametrize("args, needle", [
    (("/nonexistent/x.pcap",), "no such capture file"),
    (("{http_get}", "--conn", "42"), "no connection 42"),
])
def test_bad_arguments_give_one_line_and_status_2(http_get, args, needle):
    done = run_cli(*(a.format(http_get=http_get) for a in args))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and needle in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("content", [b"", b"hello, this is not a capture\n", b"\xd4\xc3\xb2\xa1\x02\x00"])
def test_not_a_capture_is_status_2_naming_the_file(tmp_path, content):
    path = tmp_path / "broken.pcap"
    path.write_bytes(content)
    done = run_cli(str(path))
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and str(path) in done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_a_cut_file_is_analysed_with_a_warning_and_status_0(http_get, tmp_path):
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(Path(http_get).read_bytes()[:-10])
    done = run_cli(str(cut), "--json")
    assert done.returncode == 0
    assert len(json.loads(done.stdout)["frames"]) == 13
    assert done.stderr.startswith("warning: ") and "byte" in done.stderr and done.stderr.count("\n") == 1


def test_out_dir_gets_the_report_files(http_get, tmp_path, capsys):
    assert main([http_get, "--out", str(tmp_path / "rep")]) == 0
    written = {p.name for p in (tmp_path / "rep").iterdir()}
    assert {"analysis.json", "frames.csv", "report.txt"} <= written
    assert "Phase: handshake" in (tmp_path / "rep" / "report.txt").read_text()
    printed = capsys.readouterr().out
    # what is printed is the report written (read back, not made twice), and what render_plain says
    from analysis import analyze
    from analysis.report.text import render_plain
    assert printed == (tmp_path / "rep" / "report.txt").read_text() == render_plain(analyze(http_get))
    assert main([http_get, "--out", str(tmp_path / "rep2"), "--phase", "handshake"]) == 0
    narrowed = capsys.readouterr().out
    assert "Phase: handshake" in narrowed and "Phase: data" not in narrowed


@pytest.mark.skipif(not shutil.which("make"), reason="make not installed")
def test_make_analyze_takes_the_capture_as_second_goal(http_get, tmp_path):
    local = REPO / "reports" / "lab-test-capture"
    shutil.rmtree(local, ignore_errors=True)
    target = tmp_path / "lab-test-capture.pcap"
    shutil.copy(http_get, target)
    try:
        done = subprocess.run(["make", "--no-print-directory", "analyze", str(target)], cwd=REPO,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        assert "is up to date" not in done.stdout + done.stderr
        assert "Phase: handshake" in done.stdout
        assert (local / "analysis.json").is_file() and (local / "frames.csv").is_file()
    finally:
        shutil.rmtree(local, ignore_errors=True)
