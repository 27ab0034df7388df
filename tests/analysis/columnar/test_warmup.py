"""The kernel warm-up: its capture takes every stage down its ordinary paths, and the CLI compiles
before its clock starts, saying so in one line."""
from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

import analysis
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


_COUNT_COMPILES = """
import sys
from numba.core import event
compiled = []
class Listener(event.Listener):
    def on_start(self, ev):
        pass
    def on_end(self, ev):
        compiled.append(ev.data["dispatcher"].py_func.__qualname__)
event.register("numba:compile", Listener())
from analysis import analyze
from analysis.columnar.engine import Scan
for path in sys.argv[1:]:
    result = analyze(path)
    sum(1 for _ in result.frames), list(result.exchanges), list(result.connections)
    scan = Scan(path, keep_exchanges=False)
    for _ in scan.batches():
        pass
    scan.summary()
print(" ".join(sorted(set(compiled))) or "none")
"""


def _many_connections(path: Path, connections: int) -> Path:
    """A SYN and a RST per connection, `connections` client ports: more than the TCP stage's first
    stream table holds."""
    frames = []
    for n in range(connections):
        frames.append(warmup._eth(warmup._CLIENT_MAC, warmup._SERVER_MAC, 0x0800, warmup._ipv4(
            warmup._CLIENT_IP, warmup._SERVER_IP, 6,
            warmup._tcp(warmup._CLIENT_IP, warmup._SERVER_IP, 20000 + n, 2222, n, 0, 0x02))))
        frames.append(warmup._eth(warmup._SERVER_MAC, warmup._CLIENT_MAC, 0x0800, warmup._ipv4(
            warmup._SERVER_IP, warmup._CLIENT_IP, 6,
            warmup._tcp(warmup._SERVER_IP, warmup._CLIENT_IP, 2222, 20000 + n, 0, n + 1, 0x14))))
    with open(path, "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for n, frame in enumerate(frames):
            out.write(struct.pack("<IIII", 1_700_000_000, n, len(frame), len(frame)) + frame)
    return path


def test_after_the_warmup_no_capture_compiles_anything(tmp_path: Path, conformance_dir) -> None:
    # as on a fresh clone: the package copied without any cached kernel, warmed up as make venv
    # does, then the shipped captures and one of more connections than the first stream table
    # holds analysed every way the commands do; numba reports each compile it makes
    source = Path(analysis.__file__).resolve().parent
    shutil.copytree(source, tmp_path / "tree" / "analysis", ignore=shutil.ignore_patterns("__pycache__"))
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "tree")}
    env.pop("NUMBA_CACHE_DIR", None)
    run = subprocess.run([sys.executable, "-m", "analysis.columnar.warmup"], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr
    captures = [str(_many_connections(tmp_path / "many.pcap", 3000))] + [
        str(p) for p in sorted((conformance_dir / "pcaps").iterdir())]
    run = subprocess.run([sys.executable, "-c", _COUNT_COMPILES, *captures], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["none"], f"compiled after the warm-up: {run.stdout.strip()}"
