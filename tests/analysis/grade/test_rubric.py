"""Rubrics as data: the default, an instructor's own, and a one-line error naming the line."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from analysis.grade import RubricError, load_rubric
from analysis.grade.checks import CHECKS
from analysis.grade.rubric import DEFAULT_RUBRIC

REPO = Path(__file__).resolve().parents[3]


def test_the_default_rubric_is_the_course_lab() -> None:
    rubric = load_rubric()
    assert rubric.path == str(DEFAULT_RUBRIC)
    assert (rubric.port, rubric.network) == (2222, "172.28.0.0/24")
    assert [(c.id, c.check, c.points) for c in rubric.criteria] == [
        ("port", "port", 1), ("arp", "arp_before_handshake", 1), ("handshake", "handshake", 2),
        ("echo", "echo_exchanges", 2), ("votes", "votes_consistent", 2),
        ("results", "results_match_votes", 1), ("close", "client_closes_first", 1),
        ("fins", "fins_acknowledged", 1), ("no_rst", "no_rst", 1),
        ("retransmissions", "retransmissions", 1)]
    assert rubric.max_points == 13
    assert rubric.criteria[3].param("min") == 2
    assert rubric.criteria[4].param("options") == ["A", "B", "C"]
    assert rubric.criteria[-1].param("allowed") is True
    # every check of the closed set is used by the default rubric
    assert {c.check for c in rubric.criteria} == set(CHECKS)


def test_an_instructors_rubric_for_a_modified_lab(tmp_path: Path) -> None:
    path = tmp_path / "yes-no.toml"
    path.write_text('[lab]\nport = 5000\n\n[[criterion]]\nid = "votes"\ncheck = "votes_consistent"\n'
                    'options = ["yes", "no"]\npoints = 3\n\n[[criterion]]\ncheck = "port"\n'
                    'title = "Port 5000"\n\n[[criterion]]\nid = "strict"\ncheck = "retransmissions"\n'
                    'allowed = 0\npoints = 0.5\n')
    rubric = load_rubric(path)
    assert rubric.port == 5000 and rubric.max_points == 4.5
    votes, port, strict = rubric.criteria
    assert votes.param("options") == ["YES", "NO"]
    assert (port.id, port.title, port.param("number"), port.points) == ("port", "Port 5000", 5000, 1)
    assert strict.param("allowed") == 0


BAD = [
    # (rubric text, line named, words of the message)
    ('[[criterion]]\nid = "x"\ncheck = "handshak"\n', 3, "unknown check 'handshak'"),
    ('[[criterion]]\ncheck = "handshake"\n\n[[criterion]]\ncheck = "echo_exchanges"\nmin = -1\n', 6,
     "echo_exchanges: min must be a whole number"),
    ('[[criterion]]\ncheck = "echo_exchanges"\nmni = 3\n', 3, "unknown parameter 'mni' for check echo_exchanges (parameters: min)"),
    ('[[criterion]]\ncheck = "votes_consistent"\n# a comment\noptions = "A,B"\n', 4, "options must be a non-empty list"),
    ('[[criterion]]\ncheck = "votes_consistent"\noptions = ["A", "a"]\n', 3, "lists an option twice"),
    ('[[criterion]]\ncheck = "retransmissions"\nallowed = "no"\n', 3, "allowed must be true, false or a whole number"),
    ('[[criterion]]\ncheck = "port"\nnumber = 70000\n', 3, "port: number must be a whole number from 1 to 65535"),
    ('[[criterion]]\ncheck = "no_rst"\npoints = 0\n', 3, "points must be a number above 0"),
    ('[[criterion]]\ncheck = "no_rst"\n[[criterion]]\ncheck = "no_rst"\n', 3, "criterion id 'no_rst' is used twice"),
    ('[[criterion]]\nid = "has space"\ncheck = "no_rst"\n', 2, "criterion id 'has space' must start with a letter"),
    ('[[criterion]]\nid = "x"\n', 1, "criterion without check"),
    ('[lab]\nport = "2222"\n[[criterion]]\ncheck = "no_rst"\n', 2, "port must be a whole number"),
    ('[lab]\nnetwork = "172.28.0.0/33"\n[[criterion]]\ncheck = "no_rst"\n', 2, "network must be an address block"),
    ('[lab]\nprot = 1\n[[criterion]]\ncheck = "no_rst"\n', 2, "unknown key 'prot' in [lab]"),
    ('title = "x"\n[[criterion]]\ncheck = "no_rst"\n', 1, "unknown table or key 'title'"),
    ('[lab]\nport = 2222\n', None, "no criteria"),
    ('[[criterion]]\ncheck = "no_rst"\npoints = \n', 3, "not valid TOML"),
]


@pytest.mark.parametrize("text,line,words", BAD)
def test_a_bad_rubric_is_one_line_naming_the_file_and_line(tmp_path: Path, text, line, words) -> None:
    path = tmp_path / "rubric.toml"
    path.write_text(text)
    with pytest.raises(RubricError) as caught:
        load_rubric(path)
    message = caught.value.one_line()
    assert "\n" not in message
    where = f"{path}:{line}: " if line is not None else f"{path}: "
    assert message.startswith(where), message
    assert words in message, message
    assert caught.value.line == line


def test_the_command_line_says_it_in_one_line_and_writes_nothing(tmp_path: Path) -> None:
    rubric = tmp_path / "r.toml"
    rubric.write_text('[[criterion]]\ncheck = "handshake"\n\n[[criterion]]\ncheck = "vote"\n')
    capture = REPO / "notebooks" / "data" / "reqresp.pcap"
    out = tmp_path / "grades"
    proc = subprocess.run([sys.executable, "-m", "analysis", "grade", str(capture), "--rubric",
                           str(rubric), "--out", str(out)], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        f"error: {rubric}:5: unknown check 'vote' (checks: {', '.join(CHECKS)})"]
    assert not out.exists()


def test_a_missing_rubric_file(tmp_path: Path) -> None:
    with pytest.raises(RubricError, match=r"nope.toml: cannot read the rubric"):
        load_rubric(tmp_path / "nope.toml")
