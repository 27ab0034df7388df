"""A whole class graded: the gradebook written by hand from what each capture holds, every verdict,
every integrity signal, the evidence filters checked with tshark, the outputs.

The class (support/klass.py) comes from running the real lab; criteria of the default rubric:
port 1, arp 1, handshake 2, echo 2, votes 2, results 1, close 1, fins 1, no_rst 1,
retransmissions 1 (allowed) = 13.
"""
from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from analysis.grade.checks import CHECKS

CRITERIA = ["port", "arp", "handshake", "echo", "votes", "results", "close", "fins", "no_rst",
            "retransmissions"]
# the first test to use the class waits for it to be made: ~25 lab runs, which queue behind any
# other capture run on the machine (the lab network is machine-global)
pytestmark = pytest.mark.timeout(1800)
POINTS = dict(zip(CRITERIA, [1, 1, 2, 2, 2, 1, 1, 1, 1, 1]))

# The failing criteria of each kind of capture, with the reason's message (the English msgid).
NO_VOTES = {"votes": "no VOTE request in the capture",
            "results": "no RESULTS request in the capture"}
NO_FIN = "connection {conn} has no FIN: it was not closed normally"
UNREADABLE = {c: "not graded: {reason}" for c in CRITERIA}
FAILS = {
    "default": {},
    "echo": NO_VOTES,                                   # Hello Server, Apa kabar?, bye
    "vote": {"echo": "{count} echo exchanges answered, at least {min} needed"},   # only "bye"
    "multi": {},                                        # three clients, 6 votes, 3 "bye"
    "legacy": {},                                       # no newlines; one vote
    "refused": {"handshake": "the SYN in frame {syn} was answered by RST in frame {rst}: nothing "
                             "listened on the server's port",
                "echo": "{count} echo exchanges answered, at least {min} needed", **NO_VOTES,
                "close": NO_FIN, "fins": NO_FIN, "no_rst": "RST in frame {frames}"},
    "reset": {"echo": "{count} echo exchanges answered, at least {min} needed", **NO_VOTES,
              "close": NO_FIN, "fins": NO_FIN, "no_rst": "RST in frame {frames}"},
    "lossy": {},                                        # retransmissions, allowed by the rubric
    "cut-before-fin": {"close": NO_FIN, "fins": NO_FIN},
    "byte-edited": {"echo": "the reply in frame {frame} is {got!r}, expected {expected!r}"},
    "copy-truncated": {"fins": "the FIN in frame {frame} was never acknowledged"},
    "non-lab-http": {"port": "no connection to port {port} (connections to {ports})",
                     "arp": "no ARP request before the first SYN (frame {syn})",
                     "echo": "the reply in frame {frame} is {got!r}, expected {expected!r}",
                     **NO_VOTES},
    "non-lab-syn": {"port": "no connection to port {port} (connections to {ports})",
                    "arp": "no ARP request before the first SYN (frame {syn})",
                    "echo": "{count} echo exchanges answered, at least {min} needed", **NO_VOTES,
                    "close": NO_FIN, "fins": NO_FIN},
    "unreadable": UNREADABLE,
}
# student -> (kind of capture, error column)
EMPTY = "empty file (0 bytes), not a capture"
CLASS = {
    "s01": ("default", ""), "s02": ("default", ""), "s03": ("default", ""), "s04": ("default", ""),
    "s05": ("default", ""), "s06": ("echo", ""), "s07": ("echo", ""), "s08": ("vote", ""),
    "s09": ("vote", ""), "s10": ("multi", ""), "s11": ("multi", ""), "s12": ("legacy", ""),
    "s13": ("legacy", ""), "s14": ("refused", ""), "s15": ("reset", ""), "s16": ("reset", ""),
    "s17": ("lossy", ""), "s18": ("lossy", ""),
    "s19": ("default", ""),             # s01's capture handed in again
    "s20": ("cut-before-fin", ""),
    "s21": ("byte-edited", ""),         # "Apa kabar?" -> "APa kabar?" in the request frame
    "s22": ("default", ""),             # frame 10's timestamp one second back: graded as is
    "s23": ("default", ""),             # frame 7's IP total length +4: graded as is
    "s24": ("default", ""),             # pcapng
    "s25": ("unreadable", EMPTY),
    "s26": ("non-lab-http", ""),        # conformance: zeek_http_get.pcap (port 80)
    "s27": ("non-lab-syn", ""),         # conformance: tcpdump_tcp_handshake_nano.pcap
    "s28": ("copy-truncated", ""),      # s17's capture cut in its last record: the last ACK lost
    "s29": ("unreadable", "the folder holds 2 captures (first.pcap, second.pcap); keep one"),
    "s30": ("default", ""),             # s02's capture, renamed mine.pcap
}
# student -> the kinds of integrity signals on its row
INTEGRITY = {"s01": "duplicate", "s19": "duplicate", "s02": "duplicate", "s30": "duplicate",
             "s17": "duplicate", "s28": "duplicate", "s21": "bad-checksums",
             "s22": "time-backwards", "s23": "bad-length", "s26": "not-lab", "s27": "not-lab"}


def expected_row(student: str) -> dict[str, str]:
    kind, error = CLASS[student]
    earned = {c: 0 if c in FAILS[kind] else POINTS[c] for c in CRITERIA}
    return {"student": student, **{c: f"{v:g}" for c, v in earned.items()},
            "total": f"{sum(earned.values()):g}", "max": "13",
            "integrity": INTEGRITY.get(student, ""), "error": error}


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_the_class_is_at_least_30_captures_from_the_real_lab(klass) -> None:
    folder, students = klass
    assert [s.id for s in students] == sorted(CLASS)
    captures = [p for p in folder.rglob("*") if p.is_file()]
    assert len(captures) >= 30
    scenarios = {s.run.rstrip("0123456789") for s in students if s.run}
    assert scenarios == {"default", "echo", "vote", "multi", "legacy", "refused", "reset", "lossy"}


def test_the_gradebook_is_the_hand_written_one(serial, klass) -> None:
    rows = _rows((serial.out / "gradebook.csv").read_text())
    assert list(rows[0]) == ["student", "capture", *CRITERIA, "total", "max", "integrity", "error"]
    for row in rows:
        got = {k: v for k, v in row.items() if k != "capture"}
        want = expected_row(row["student"])
        if want["error"]:
            assert want["error"] in got["error"], row
            got["error"] = want["error"]
        assert got == want, row["student"]
    assert [r["student"] for r in rows] == sorted(CLASS)


def test_every_verdict_gives_its_reason(serial) -> None:
    for result in serial.results:
        kind = CLASS[result.student][0]
        for verdict in result.verdicts:
            failing = FAILS[kind].get(verdict.criterion)
            assert verdict.passed == (failing is None), (result.student, verdict)
            if failing is not None:
                assert verdict.message == failing, (result.student, verdict)
            else:
                assert verdict.message in PASS_MESSAGES[verdict.check], (result.student, verdict)
            # a filter for every verdict, except when there was no capture to look into
            assert bool(verdict.filter) == (kind != "unreadable"), (result.student, verdict)
            verdict.message.format(**{k: v for k, v in verdict.args.items()})   # fields complete


PASS_MESSAGES = {
    "port": {"the client connects to port {port}"},
    "arp_before_handshake": {"ARP request (frame {request}) and reply (frame {reply}) before the "
                             "first SYN (frame {syn})"},
    "handshake": {"three-way handshake: SYN, SYN-ACK, ACK in frames {frames}"},
    "echo_exchanges": {"{count} echo exchanges answered 'Echo: <the same text>' (at least {min})"},
    "votes_consistent": {"{count} votes answered with consistent running totals, last {totals}"},
    "results_match_votes": {"RESULTS equals the votes ({totals})"},
    "client_closes_first": {"the client sent the first FIN (frame {frames})"},
    "fins_acknowledged": {"both FINs acknowledged (frames {frames})"},
    "no_rst": {"no RST"},
    "retransmissions": {"{count} retransmissions (allowed: {allowed})"},
}


def test_what_the_verdicts_say_about_particular_captures(serial, klass) -> None:
    by_id = {r.student: r for r in serial.results}
    v = {s: {x.criterion: x for x in r.verdicts} for s, r in by_id.items()}
    # default: the course's session, frame by frame as the lab sends it
    assert v["s01"]["echo"].args == {"count": 3, "min": 2}          # Hello Server, Apa kabar?, bye
    assert v["s01"]["votes"].args == {"count": 3, "totals": "A=2 B=1 C=0"}
    assert v["s01"]["results"].args == {"totals": "A=2 B=1 C=0"}
    assert v["s01"]["arp"].args == {"request": 1, "reply": 2, "syn": 3}
    assert v["s01"]["handshake"].frames == (3, 4, 5)
    # multi: six votes over three connections reach exactly A=3 B=2 C=1
    assert v["s10"]["votes"].args == {"count": 6, "totals": "A=3 B=2 C=1"}
    assert len(v["s10"]["handshake"].frames) == 9 and len(v["s10"]["close"].frames) == 3
    assert v["s12"]["votes"].args == {"count": 1, "totals": "A=1 B=0 C=0"}   # legacy: VOTE A
    assert v["s08"]["echo"].args == {"count": 1, "min": 2}                   # vote: only bye
    assert v["s14"]["handshake"].args == {"syn": 3, "rst": 4}                # refused
    assert v["s15"]["echo"].args == {"count": 1, "min": 2}                   # reset: Hello Server
    # lossy: retransmissions, each one tshark's (checked with tshark below)
    assert v["s17"]["retransmissions"].args["count"] >= 1
    assert v["s21"]["echo"].args == {"frame": v["s21"]["echo"].frames[1],
                                     "got": "Echo: Apa kabar?", "expected": "Echo: APa kabar?"}
    assert v["s26"]["port"].args == {"port": 2222, "ports": "80"}
    assert by_id["s25"].verdicts[0].args["reason"].args["error"].one_line().endswith(
        "(capture again; tcpdump may have been stopped before writing)")


def test_the_integrity_signals(serial, klass) -> None:
    folder, students = klass
    signals = sorted((s.kind, s.students, s.frames) for s in serial.signals)
    from analysis import analyze
    runs = {s.id: s for s in students}
    edited_frame = next(s.frames for s in serial.signals if s.kind == "bad-checksums")
    # the conformance captures: not one frame of the lab's
    not_lab_26 = tuple(range(1, analyze(runs["s26"].path).frame_count + 1))
    not_lab_27 = tuple(range(1, analyze(runs["s27"].path).frame_count + 1))
    assert signals == sorted([
        ("duplicate", ("s01", "s19"), ()), ("duplicate", ("s02", "s30"), ()),
        ("duplicate", ("s17", "s28"), ()),
        ("bad-checksums", ("s21",), edited_frame),
        ("time-backwards", ("s22",), (10,)),
        ("bad-length", ("s23",), (7,)),
        ("not-lab", ("s26",), not_lab_26), ("not-lab", ("s27",), not_lab_27)])
    # the edited frame is the one holding the request "APa kabar?"
    by_id = {r.student: r for r in serial.results}
    echo = next(x for x in by_id["s21"].verdicts if x.criterion == "echo")
    assert edited_frame == (echo.frames[0],)
    keys = {s.students: s.args["keys"] for s in serial.signals if s.kind == "duplicate"}
    assert keys[("s01", "s19")] == ["initial sequence numbers", "timestamps", "payload digests"]
    assert keys[("s02", "s30")] == ["initial sequence numbers", "timestamps", "payload digests"]
    # cut in its last record: every SYN and payload is still there, one timestamp is not
    assert keys[("s17", "s28")] == ["initial sequence numbers", "payload digests"]
    # integrity is shown, never graded: the edited-in-time and edited-length captures score full
    assert by_id["s22"].earned == by_id["s23"].earned == 13


def _tshark(capture: Path, display_filter: str) -> tuple[int, ...]:
    proc = subprocess.run(["tshark", "-n", "-r", str(capture), "-Y", display_filter, "-T", "fields",
                           "-e", "frame.number"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, (display_filter, proc.stderr)
    return tuple(int(line) for line in proc.stdout.split())


# one student of every kind of capture (tshark takes a while to start; 2 cores are shared)
SAMPLE = ["s01", "s06", "s08", "s10", "s12", "s14", "s15", "s17", "s20", "s21", "s24", "s26", "s27"]


@pytest.mark.parametrize("student", SAMPLE)
def test_every_filter_shows_the_evidence_in_wireshark(serial, student) -> None:
    result = next(r for r in serial.results if r.student == student)
    capture = Path(result.path)
    seen: dict[str, tuple[int, ...]] = {}
    for item in [*result.verdicts, *result.signals]:
        if item.filter not in seen:
            seen[item.filter] = _tshark(capture, item.filter)
        if item.frames:
            assert seen[item.filter] == item.frames, (student, item)
        elif getattr(item, "check", None) in ("no_rst", "retransmissions"):
            assert seen[item.filter] == (), (student, item)   # nothing of what was looked for


def test_a_strict_rubric_counts_tsharks_retransmissions(serial, klass, tmp_path: Path) -> None:
    from analysis.grade import grade

    rubric = tmp_path / "strict.toml"
    rubric.write_text('[[criterion]]\nid = "none"\ncheck = "retransmissions"\nallowed = false\n')
    lossy = next(s for s in klass[1] if s.id == "s17")
    cohort = grade([lossy.path], rubric=rubric, out=None, workers=1)
    verdict = cohort.results[0].verdicts[0]
    assert not verdict.passed
    assert verdict.frames == _tshark(lossy.capture, "tcp.analysis.retransmission")
    assert verdict.args["allowed"] == ["0"]


def test_each_student_has_a_folder_with_report_and_feedback(serial) -> None:
    out = serial.out
    for student in CLASS:
        files = {p.name for p in (out / student).iterdir()}
        assert {"feedback.txt", "feedback.html", "verdicts.json"} <= files, student
        readable = not CLASS[student][1]
        assert ("report.html" in files) == readable, student
        saved = json.loads((out / student / "verdicts.json").read_text())
        assert saved["student"] == student and len(saved["verdicts"]) == len(CRITERIA)
    text = (out / "s14" / "feedback.txt").read_text()
    assert "3. [FAILED] TCP three-way handshake (0/2)" in text
    assert "the SYN in frame 3 was answered by RST in frame 4" in text
    assert "Wireshark display filter: frame.number in {3..4}" in text
    assert "Score: 3 of 13" in text


def test_the_cohort_page_is_self_contained_and_links_every_student(serial) -> None:
    page = (serial.out / "grades.html").read_text()
    # nothing to fetch: no script, no link, no remote source; the only URLs are SVG's namespaces
    assert "<script" not in page and "<link" not in page and "src=" not in page
    assert set(re.findall(r"https?://[^\"' ]*", page)) == {"http://www.w3.org/2000/svg",
                                                          "http://www.w3.org/1999/xlink"}
    assert all(re.fullmatch(r'xmlns(:xlink)?="http://www\.w3\.org/[^"]*"', m) for m in
               re.findall(r'\S*="https?://[^"]*"', page))
    assert page.count("<svg") == 3                          # RTT, latency, exchanges
    for student in CLASS:
        assert f"href='{student}/feedback.html'" in page
        assert (f"href='{student}/report.html'" in page) == (not CLASS[student][1])
    for criterion in CRITERIA:
        assert f"<td>{criterion}</td>" in page
    assert "Most common failures" in page and "Integrity signals (not graded)" in page


def test_indonesian_feedback(klass, tmp_path: Path) -> None:
    from analysis.grade import grade

    folder, students = klass
    refused = next(s for s in students if s.id == "s14").capture
    cohort = grade([refused], out=tmp_path / "id", lang="id", workers=1, reports=False)
    text = (cohort.out / "s14" / "feedback.txt").read_text()
    assert text.startswith("Umpan balik untuk s14\n")
    assert "Nilai: 3 dari 13" in text
    assert "3. [GAGAL] TCP three-way handshake (0/2)" in text
    assert "SYN pada frame 3 dijawab RST pada frame 4: tidak ada yang listen di port server" in text
    assert "Display filter Wireshark: frame.number in {3..4}" in text
    assert "<html lang='id'>" in (cohort.out / "grades.html").read_text()


def test_a_rerun_replaces_each_folder_whole(klass, tmp_path: Path) -> None:
    from analysis.grade import grade

    folder, students = klass
    picked = [s.path for s in students if s.id in ("s01", "s06", "s14")]
    out = tmp_path / "grades"
    grade(picked, out=out, workers=1, reports=False)
    (out / "s01" / "tseq-conn1.png").write_bytes(b"stale")
    (out / "notes.txt").write_text("the instructor's own")
    grade(picked[:2], out=out, workers=1, reports=False)
    assert not (out / "s01" / "tseq-conn1.png").exists()
    assert not (out / "s14").exists()                      # no longer in the class
    assert (out / "notes.txt").read_text() == "the instructor's own"
    assert "report.html" not in (out / "grades.html").read_text()     # --no-reports: no dead link
    assert sorted(p.name for p in out.iterdir()) == [
        ".students", "gradebook.csv", "grades.html", "integrity.csv", "notes.txt", "s01", "s06"]


def test_the_command_line(klass, serial, tmp_path: Path) -> None:
    import sys

    out = tmp_path / "cli"
    proc = subprocess.run([sys.executable, "-m", "analysis", "grade", str(klass[0]), "--out",
                           str(out), "--workers", "1", "--no-reports"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 1                             # two submissions could not be graded
    assert proc.stdout.startswith("graded 30 submissions (mean ")
    errors = proc.stderr.splitlines()
    assert len(errors) == 2 and errors[0].startswith("error: s25: ") and errors[1].startswith(
        "error: s29: the folder holds 2 captures")
    assert (out / "gradebook.csv").read_bytes() == (serial.out / "gradebook.csv").read_bytes()


def test_checks_are_the_documented_closed_set() -> None:
    from analysis.grade import checks

    for name in CHECKS:
        assert f"| {name} |" in checks.__doc__, name
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    for name in CHECKS:
        assert f"`{name}`" in readme, name


def test_reports_of_a_copied_class_do_not_collide(klass, tmp_path: Path) -> None:
    from analysis.grade import grade

    folder, students = klass
    a, b = tmp_path / "alice", tmp_path / "bob"
    for target, sid in ((a, "s01"), (b, "s06")):
        target.mkdir()
        source = next(s.capture for s in students if s.id == sid)
        shutil.copyfile(source, target / "reqresp.pcap")
    cohort = grade([a / "reqresp.pcap", b / "reqresp.pcap"], out=tmp_path / "g", workers=1,
                   reports=False)
    assert [r.student for r in cohort.results] == ["alice", "bob"]
    assert "Score: 13 of 13" in (cohort.out / "alice" / "feedback.txt").read_text()
    assert "Score: 10 of 13" in (cohort.out / "bob" / "feedback.txt").read_text()
