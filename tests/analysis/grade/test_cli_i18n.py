"""`python -m analysis grade` and `batch` in the chosen language (issue 16): their help, their
summary lines (plurals: "1 submission" / "2 submissions"; Indonesian has one form) and each
failing capture's error line, from --lang or the locale; the data they write stays English."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from analysis import i18n
from tests.analysis.support.english import english_left

REPO = Path(__file__).resolve().parents[3]
DATA = REPO / "notebooks" / "data"
# placeholders argparse prints as given (metavars, option names, the program), as the main CLI's test
HELP_KEEP = ["python -m analysis grade", "python -m analysis batch", "FILE-OR-FOLDER", "--no-reports",
             "SUBMISSION", "tcp://HOST:8786", "DIR/batch.parquet", "DIR/batch.csv", "README.id.md"]
NOT_A_CAPTURE = b"this is not a capture at all, no magic here"


def _run(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in i18n.LOCALE_VARIABLES}
    return subprocess.run([sys.executable, "-m", "analysis", *args], cwd=REPO, capture_output=True,
                          text=True, env={**clean, **env}, timeout=300)


def _class(root: Path) -> Path:
    """A class folder as students hand it in: a folder, a file, a damaged capture, a folder with
    two captures (graded as failed before it is read)."""
    klass = root / "class"
    (klass / "alice").mkdir(parents=True)
    (klass / "alice" / "reqresp.pcap").write_bytes((DATA / "reqresp.pcap").read_bytes())
    (klass / "bob.pcap").write_bytes((DATA / "refused.pcap").read_bytes())
    (klass / "dani.pcap").write_bytes(NOT_A_CAPTURE)
    (klass / "eka").mkdir()
    for name in ("first.pcap", "second.pcap"):
        (klass / "eka" / name).write_bytes((DATA / "reqresp.pcap").read_bytes())
    return klass


@pytest.mark.parametrize("command", ["grade", "batch"])
@pytest.mark.parametrize("choice", [("--lang", "id"), ("LANG", "id_ID.UTF-8")])
def test_the_help_is_indonesian(command: str, choice: tuple[str, str]) -> None:
    flag, value = choice
    run = _run(command, "--help", "--lang", value) if flag == "--lang" else _run(
        command, "--help", **{flag: value})
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(f"penggunaan: python -m analysis {command}")
    assert "--lang {en,id}" in run.stdout                      # batch has it too
    assert english_left(run.stdout, HELP_KEEP) == [], run.stdout
    english = _run(command, "--help", "--lang", "en", LANG="id_ID.UTF-8").stdout
    assert english.startswith("usage: ") and english_left(english, HELP_KEEP) != []


def test_grade_says_its_summary_and_each_error_in_indonesian(tmp_path: Path) -> None:
    klass = _class(tmp_path)
    run = _run("grade", str(klass), "--out", str(tmp_path / "id"), "--workers", "1",
               "--no-reports", LANG="id_ID.UTF-8")
    assert run.returncode == 1                       # dani's and eka's could not be graded
    summary = run.stdout.splitlines()
    assert summary[0].startswith("4 pengumpulan dinilai (rata-rata ")
    assert summary[0].endswith(" dari 13); 0 sinyal integritas")
    assert summary[1].startswith(f"ditulis: {tmp_path / 'id' / 'gradebook.csv'}, ")
    errors = run.stderr.splitlines()
    assert errors == [
        f"kesalahan: dani: {klass / 'dani.pcap'}: bukan capture pcap atau pcapng (diawali byte "
        "74686973) (berikan file yang ditulis tcpdump, dumpcap, atau Wireshark)",
        "kesalahan: eka: folder ini memuat 2 capture (first.pcap, second.pcap); sisakan satu"]
    keep = [str(klass / "dani.pcap"), str(tmp_path / "id")]
    assert english_left(run.stdout + run.stderr, keep) == [], run.stdout + run.stderr
    # the feedback says it in its language too; the data keeps the English line
    feedback = (tmp_path / "id" / "dani" / "feedback.txt").read_text()
    assert "Capture tidak dapat dibaca: " + errors[0].split(": ", 2)[2] in feedback
    verdicts = json.loads((tmp_path / "id" / "dani" / "verdicts.json").read_text())
    assert verdicts["error"].endswith("not a pcap or pcapng capture (starts with bytes 74686973) "
                                      "(give a file written by tcpdump, dumpcap or Wireshark)")
    assert verdicts["verdicts"][0]["args"]["reason"][1]["error"] == verdicts["error"]
    assert "keep one" in (tmp_path / "id" / "gradebook.csv").read_text()

    english = _run("grade", str(klass), "--out", str(tmp_path / "en"), "--workers", "1",
                   "--no-reports", "--lang", "en", LANG="id_ID.UTF-8")
    assert english.stdout.startswith("graded 4 submissions (mean ")
    assert english.stderr.splitlines()[1] == ("error: eka: the folder holds 2 captures "
                                              "(first.pcap, second.pcap); keep one")


def test_grade_counts_one_submission_in_the_singular(tmp_path: Path) -> None:
    klass = _class(tmp_path)
    one = ["grade", str(klass / "alice"), "--workers", "1", "--no-reports"]
    english = _run(*one, "--out", str(tmp_path / "en"), "--lang", "en")
    assert english.returncode == 0, english.stderr
    assert english.stdout.startswith("graded 1 submission (mean 13.0 of 13); 0 integrity signals\n")
    indonesian = _run(*one, "--out", str(tmp_path / "id"), "--lang", "id")
    assert indonesian.stdout.startswith("1 pengumpulan dinilai (rata-rata 13.0 dari 13); "
                                        "0 sinyal integritas\n")


def test_batch_says_its_summary_and_each_error_in_indonesian(tmp_path: Path) -> None:
    folder = tmp_path / "caps"
    folder.mkdir()
    (folder / "reqresp.pcap").write_bytes((DATA / "reqresp.pcap").read_bytes())
    (folder / "junk.pcap").write_bytes(NOT_A_CAPTURE)
    (folder / "empty.pcap").write_bytes(b"")
    for choice in ({"LANG": "id_ID.UTF-8"}, {"LANG": "C", "args": "--lang=id"}):
        extra = [choice.pop("args")] if "args" in choice else []
        run = _run("batch", str(folder), "--out", str(tmp_path / "out"), "--workers", "1", *extra,
                   **choice)
        assert run.returncode == 1
        assert run.stdout.startswith(f"3 capture, 2 gagal; ditulis: {tmp_path / 'out' / 'batch.parquet'}")
        assert run.stderr.splitlines() == [
            f"kesalahan: {folder / 'empty.pcap'}: file kosong (0 byte), bukan capture (capture ulang; "
            "tcpdump mungkin dihentikan sebelum sempat menulis)",
            f"kesalahan: {folder / 'junk.pcap'}: bukan capture pcap atau pcapng (diawali byte "
            "74686973) (berikan file yang ditulis tcpdump, dumpcap, atau Wireshark)"]
        keep = [str(folder / "empty.pcap"), str(folder / "junk.pcap"), str(tmp_path / "out")]
        assert english_left(run.stdout + run.stderr, keep) == [], run.stdout + run.stderr
    # the table is data: its error column stays English whatever the language
    assert "not a pcap or pcapng capture" in (tmp_path / "out" / "batch.csv").read_text()
    one = _run("batch", str(folder / "reqresp.pcap"), "--out", str(tmp_path / "one"), "--lang", "en")
    assert one.returncode == 0 and one.stdout.startswith("1 capture, 0 failed; wrote ")


def test_a_bad_argument_of_the_library_is_one_indonesian_line(tmp_path: Path) -> None:
    run = _run("batch", str(tmp_path / "nope"), "--out", str(tmp_path / "out"), "--lang", "id")
    assert run.returncode == 2
    assert run.stderr == (f"kesalahan: {tmp_path / 'nope'}: file atau folder capture tidak ditemukan "
                          "(berikan file capture atau folder berisi capture)\n")
    run = _run("grade", str(DATA / "reqresp.pcap"), "--out", str(tmp_path / "g"), "--workers", "0",
               "--lang", "id")
    assert run.returncode == 2 and run.stderr == "kesalahan: --workers minimal 1, bukan 0\n"


def test_a_bad_rubric_is_one_indonesian_line_naming_its_line(tmp_path: Path) -> None:
    rubric = tmp_path / "rubric.toml"
    rubric.write_text('[[criterion]]\ncheck = "echo_exchanges"\nmin = -1\n')
    args = ["grade", str(DATA / "reqresp.pcap"), "--rubric", str(rubric), "--out", str(tmp_path / "g")]
    run = _run(*args, LANG="id_ID.UTF-8")
    assert run.returncode == 2
    assert run.stderr == (f"kesalahan: {rubric}:3: echo_exchanges: min harus bilangan bulat dari 0 "
                          "sampai 10000, bukan -1\n")
    assert _run(*args, "--lang", "en").stderr == (
        f"error: {rubric}:3: echo_exchanges: min must be a whole number from 0 to 10000, not -1\n")
