"""The kernel warm-up: its capture takes every stage down its ordinary paths, and the CLI compiles
before its clock starts, saying so in one line."""
from __future__ import annotations

from pathlib import Path

import pytest

from analysis import analyze, cli
from analysis.columnar import warmup
from analysis.columnar.engine import Scan


def test_the_warmup_capture_is_a_lab_session_both_engines_read_alike(tmp_path: Path) -> None:
    path = warmup.write_warmup_capture(tmp_path / "w.pcap")
    result = analyze(path)
    labels = [f.label for f in result.frames]
    assert labels[:5] == ["arp-request", "arp-reply", "syn", "syn-ack", "handshake-ack"]
    assert {"data", "ack", "fin", "teardown-ack", "rst", "udp", "icmp"} <= set(labels)
    assert [c.conn_state for c in result.connections] == ["SF", "REJ", "OTH"]
    assert [e.kind for e in result.exchanges] == ["echo", "vote", "results"]
    scan = Scan(path)
    for _ in scan.batches():
        pass
    summary = scan.summary()
    assert summary.frame_count == len(result.frames)
    assert [(e.request_frame, e.response_frame, e.kind) for e in summary.exchanges()] == \
           [(e.request_frame, e.response_frame, e.kind) for e in result.exchanges]


def test_summary_compiles_first_with_one_line_when_not_warm(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(warmup, "MARKER", tmp_path / "warmup.done")   # as on a fresh clone
    capture = warmup.write_warmup_capture(tmp_path / "w.pcap")
    assert cli.main([str(capture), "--summary"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err == ["compiling the analyzer's kernels first (once; about a minute on 2 cores) ..."]
    assert warmup.compiled()
    assert cli.main([str(capture), "--summary"]) == 0
    assert capsys.readouterr().err == ""


def test_warmup_command_says_what_it_did(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(warmup, "MARKER", tmp_path / "warmup.done")
    assert warmup.main([]) == 0
    assert capsys.readouterr().err.splitlines()[-1].startswith("compiled the analyzer's kernels in ")
    assert warmup.main([]) == 0
    assert capsys.readouterr().err == "analyzer kernels: already compiled\n"
