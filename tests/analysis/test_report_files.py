"""`--out DIR` on a second capture replaces the first report whole: no stale files of ours, the
user's own files kept, and a failure half-way leaves the earlier report as it was."""
from __future__ import annotations

from pathlib import Path

import pytest

from analysis import cli

from analysis.report import html as report_html
from tests.analysis.support.conformance import CONFORMANCE_DIR

FTP = CONFORMANCE_DIR / "pcaps" / "zeek_ftp_ipv4.pcap"        # 5 connections
ONE = Path(__file__).resolve().parents[2] / "notebooks" / "data" / "reqresp.pcap"  # 1 connection


def _names(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def test_a_rerun_leaves_no_stale_figure_and_keeps_the_users_files(tmp_path: Path, capsys) -> None:
    out = tmp_path / "report"
    assert cli.main([str(FTP), "--out", str(out)]) == 0
    first = _names(out)
    assert "tseq-conn1.png" in first
    (out / "notes.txt").write_text("my own notes")
    assert cli.main([str(ONE), "--out", str(out)]) == 0
    second = _names(out)
    assert "tseq-conn1.png" not in second and "tseq-conn0.png" in second
    assert (out / "notes.txt").read_text() == "my own notes"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "staging folder left behind"
    wrote = capsys.readouterr().err.strip().splitlines()[-1]
    assert wrote.startswith("wrote ") and f"{out}/report.html" in wrote and ".staging" not in wrote


def test_a_failure_half_way_keeps_the_earlier_report(tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "report"
    assert cli.main([str(FTP), "--out", str(out)]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def broken(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(report_html, "write_reports", broken)
    assert cli.main([str(ONE), "--out", str(out)]) == 2
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("name", ["analysis.json", "tseq-conn12.png", "summary.txt", "ladder.svg"])
def test_report_file_names_are_ours(name: str) -> None:
    from analysis.report.files import is_report_file
    assert is_report_file(name)
    assert not is_report_file("notes.txt") and not is_report_file("reqresp.pcap")
