"""Many captures, one row each (`python -m analysis batch`), and `python -m analysis a.pcap b.pcap`."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from analysis import analyze
from analysis.grade import batch
from analysis.grade.batch_table import COLUMNS

REPO = Path(__file__).resolve().parents[3]
DATA = REPO / "notebooks" / "data"


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "caps"
    (folder / "alice").mkdir(parents=True)
    (folder / "alice" / "reqresp.pcap").write_bytes((DATA / "reqresp.pcap").read_bytes())
    (folder / "lossy.pcap").write_bytes((DATA / "lossy.pcap").read_bytes())
    (folder / "refused.pcap").write_bytes((DATA / "refused.pcap").read_bytes())
    (folder / "empty.pcap").write_bytes(b"")
    (folder / "junk.pcap").write_bytes(b"this is not a capture at all, no magic here")
    return folder


def test_a_row_per_capture_in_parquet_and_csv(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    result = batch([folder], tmp_path / "out", workers=1)
    paths = [r["path"] for r in result.rows]
    assert paths == [str(folder / n) for n in ("alice/reqresp.pcap", "empty.pcap", "junk.pcap",
                                              "lossy.pcap", "refused.pcap")]
    table = pq.read_table(tmp_path / "out" / "batch.parquet")
    assert table.column_names == list(COLUMNS)
    assert table.to_pylist() == result.rows
    assert pacsv.read_csv(tmp_path / "out" / "batch.csv").num_rows == 5
    rows = {Path(r["path"]).name: r for r in result.rows}
    one = rows["reqresp.pcap"]
    truth = analyze(DATA / "reqresp.pcap")
    assert one["frames"] == truth.frame_count == 24
    assert one["phase_arp"] == 2 and one["label_syn"] == 1 and one["label_fin"] == 2
    assert sum(one[f"phase_{p}"] for p in ("arp", "handshake", "data", "teardown", "reset", "other")) == 24
    assert one["connections"] == 1 and one["conn_SF"] == 1 and one["conn_REJ"] == 0
    assert one["exchanges"] == 7 and one["votes"] == "A=2 B=1 C=0"
    assert one["warnings"] == 0 and one["error"] == ""
    assert rows["refused.pcap"]["conn_REJ"] == 1 and rows["refused.pcap"]["label_rst"] == 1
    assert rows["lossy.pcap"]["exchanges"] == 7
    assert rows["empty.pcap"]["frames"] is None and "empty file" in rows["empty.pcap"]["error"]
    assert rows["junk.pcap"]["error"] == (f"{folder / 'junk.pcap'}: not a pcap or pcapng capture "
                                          "(starts with bytes 74686973) (give a file written by "
                                          "tcpdump, dumpcap or Wireshark)")
    assert [Path(p).name for p, _ in result.failed] == ["empty.pcap", "junk.pcap"]


def test_the_command_lists_errors_at_the_end_and_says_so_in_its_status(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "analysis", "batch", str(folder), "--out",
                           str(tmp_path / "out"), "--workers", "2"], cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 1
    assert proc.stdout.startswith("5 captures, 2 failed; wrote ")
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 2 and "empty.pcap" in errors[0] and "junk.pcap" in errors[1]
    serial = batch([folder], tmp_path / "serial", workers=1)
    assert pq.read_table(tmp_path / "out" / "batch.parquet").to_pylist() == serial.rows
    assert (tmp_path / "out" / "batch.csv").read_bytes() == (tmp_path / "serial" / "batch.csv").read_bytes()


def test_a_missing_path_is_one_line_and_exit_2(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "analysis", "batch", str(tmp_path / "nope"),
                           "--out", str(tmp_path / "out")], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2
    assert proc.stderr == f"error: {tmp_path / 'nope'}: no such capture file or folder (give capture files or folders of captures)\n"


def test_several_files_and_a_folder_each_reported_in_its_own_place(tmp_path: Path) -> None:
    a, b = tmp_path / "alice" / "reqresp.pcap", tmp_path / "bob" / "reqresp.pcap"
    for path, source in ((a, "reqresp.pcap"), (b, "refused.pcap")):
        path.parent.mkdir()
        path.write_bytes((DATA / source).read_bytes())
    out = tmp_path / "reports"
    (out / "alice").mkdir(parents=True)
    (out / "alice" / "tseq-conn1.png").write_bytes(b"stale, of an earlier capture")
    proc = subprocess.run([sys.executable, "-m", "analysis", str(a), str(b), "--out", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["alice", "bob"]
    assert not (out / "alice" / "tseq-conn1.png").exists()
    assert "Echo: Apa kabar?" in (out / "alice" / "report.txt").read_text()
    assert "REJ" in (out / "bob" / "report.txt").read_text()
    # a folder, to stdout: both reports, each announced on stderr
    proc = subprocess.run([sys.executable, "-m", "analysis", str(tmp_path / "alice"),
                           str(tmp_path / "bob"), "--phase", "handshake"], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0
    assert proc.stderr.splitlines() == [f"== alice: {a}", f"== bob: {b}"]
    assert proc.stdout.count("syn-ack") == 1          # alice's; bob's SYN was refused


def test_several_files_one_missing(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "analysis", str(DATA / "reqresp.pcap"),
                           str(tmp_path / "nope.pcap")], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().endswith("nope.pcap: no such capture file or folder (give capture "
                                        "files or the folder of a class)")


def test_make_analyze_with_several_captures_writes_each_into_reports(tmp_path: Path) -> None:
    import shutil

    names = ("lab-grade-test-a", "lab-grade-test-b")
    local = [REPO / "reports" / name for name in names]
    for folder in local:
        shutil.rmtree(folder, ignore_errors=True)
    targets = [tmp_path / f"{name}.pcap" for name in names]
    for target, source in zip(targets, ("reqresp.pcap", "refused.pcap")):
        target.write_bytes((DATA / source).read_bytes())
    try:
        done = subprocess.run(["make", "--no-print-directory", "analyze", *map(str, targets)],
                              cwd=REPO, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        for folder in local:
            assert (folder / "analysis.json").is_file() and (folder / "report.txt").is_file()
        assert "REJ" in (local[1] / "report.txt").read_text()
    finally:
        for folder in local:
            shutil.rmtree(folder, ignore_errors=True)
