"""Who handed in what: the student id rule, and ids that never collide."""
from __future__ import annotations

from pathlib import Path

import pytest

from analysis.grade import SubmissionError
from analysis.grade.submissions import find_submissions


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


def test_a_class_folder(tmp_path: Path) -> None:
    klass = tmp_path / "class"
    _touch(klass / "alice" / "reqresp.pcap")
    _touch(klass / "bob" / "capture.PCAPNG")
    _touch(klass / "carol.pcap")
    _touch(klass / "notes.txt")                    # not a capture: ignored
    (klass / "dave").mkdir()                       # no capture: a submission that fails
    _touch(klass / "erin" / "a.pcap")
    _touch(klass / "erin" / "b.cap")
    _touch(klass / "old-grades" / "gradebook.csv") # a previous run's output: not a student
    subs = find_submissions([klass])
    assert [(s.student, Path(s.path).relative_to(klass).as_posix(), s.problem and s.problem.one_line())
            for s in subs] == [
        ("alice", "alice/reqresp.pcap", None),
        ("bob", "bob/capture.PCAPNG", None),
        ("carol", "carol.pcap", None),
        ("dave", "dave", "the folder holds no capture (.pcap, .pcapng, .cap)"),
        ("erin", "erin", "the folder holds 2 captures (a.pcap, b.cap); keep one")]


def test_same_stems_take_their_folders_names(tmp_path: Path) -> None:
    a = _touch(tmp_path / "alice" / "reqresp.pcap")
    b = _touch(tmp_path / "bob" / "reqresp.pcap")
    c = _touch(tmp_path / "x" / "one" / "s.pcap")
    d = _touch(tmp_path / "y" / "one" / "s.pcap")
    e = _touch(tmp_path / "solo.pcap")
    ids = {Path(s.path): s.student for s in find_submissions([a, b, c, d, e])}
    assert ids == {a: "alice", b: "bob", c: "x-one", d: "y-one", e: "solo"}


def test_one_student_folder_and_a_file_named_twice(tmp_path: Path) -> None:
    a = _touch(tmp_path / "alice" / "reqresp.pcap")
    subs = find_submissions([tmp_path / "alice", a, str(a)])
    assert [(s.student, s.path) for s in subs] == [("alice", str(a))]


def test_ids_are_safe_folder_names(tmp_path: Path) -> None:
    a = _touch(tmp_path / "Budi Santoso (2).pcap")
    b = _touch(tmp_path / "..hidden.pcap")
    assert sorted(s.student for s in find_submissions([a, b])) == ["Budi_Santoso__2_", "hidden"]


def test_a_missing_path_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(SubmissionError) as caught:
        find_submissions([tmp_path / "nope"])
    assert caught.value.one_line() == (f"{tmp_path / 'nope'}: no such capture file or folder "
                                       "(give capture files or the folder of a class)")


def test_an_empty_class_folder(tmp_path: Path) -> None:
    with pytest.raises(SubmissionError, match="holds no capture and no student folder"):
        find_submissions([tmp_path])


def test_the_output_folder_inside_the_class_is_not_a_student(tmp_path: Path) -> None:
    _touch(tmp_path / "alice.pcap")
    _touch(tmp_path / "bob.pcap")
    (tmp_path / "grades").mkdir()                   # made by the instructor, still empty
    assert [s.student for s in find_submissions([tmp_path])] == ["alice", "bob", "grades"]
    assert [s.student for s in find_submissions([tmp_path], exclude=tmp_path / "grades")] == [
        "alice", "bob"]
