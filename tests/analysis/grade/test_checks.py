"""The vote checks on replies the real lab server never sends (a server that loses or
double-counts votes): records built by hand, read by the same LabView the grader uses."""
from __future__ import annotations

from analysis.api import Analysis
from analysis.grade.checks import check_results, check_votes
from analysis.grade.lab_view import LabView
from analysis.model import Connection, Exchange

OPTIONS = {"options": ["A", "B", "C"]}


def _view(*pairs: tuple[str, str]) -> LabView:
    conn = Connection(0, "172.28.0.3:40000", "172.28.0.2:2222", "172.28.0.3", 40000, "172.28.0.2",
                      2222, "SF", "ShADadFf", 0.0, 1.0, 10, 10, 10, 10, 0.001, "orig", "fin-both",
                      tuple(range(3, 30)))
    exchanges = [Exchange(0, request, response, 6 + 2 * i, 7 + 2 * i, float(i), 0.001, "other")
                 for i, (request, response) in enumerate(pairs)]
    return LabView.of(Analysis("crafted.pcap", [], [conn], exchanges, [], 30), 2222)


def test_a_lost_vote_fails_with_both_frames() -> None:
    out = check_votes(_view(("VOTE A id=1", "VOTED A A=1 B=0 C=0"),
                            ("VOTE B id=2", "VOTED B A=1 B=0 C=0")), OPTIONS)
    assert not out.passed
    assert out.args == {"frame": 8, "got": "A=1 B=0 C=0", "other": 6}
    assert out.frames == (6, 8, 9)


def test_a_retried_vote_counts_once() -> None:
    out = check_votes(_view(("VOTE A id=1", "VOTED A A=1 B=0 C=0"),
                            ("VOTE A id=1", "VOTED A A=1 B=0 C=0"),
                            ("VOTE C id=3", "VOTED C A=1 B=0 C=1")), OPTIONS)
    assert out.passed and out.args == {"count": 2, "totals": "A=1 B=0 C=1"}


def test_a_vote_counted_twice_breaks_the_running_totals() -> None:
    out = check_votes(_view(("VOTE A id=1", "VOTED A A=1 B=0 C=0"),
                            ("VOTE B id=2", "VOTED B A=2 B=1 C=0")), OPTIONS)
    assert not out.passed
    assert out.message.startswith("the totals in frame {frame} ({got}) are not the previous")
    assert out.args == {"frame": 9, "got": "A=2 B=1 C=0", "before": "A=1 B=0 C=0", "option": "B"}


def test_a_vote_for_an_option_of_another_lab() -> None:
    out = check_votes(_view(("VOTE yes", "ERROR unknown option 'YES' (options: A, B, C)")), OPTIONS)
    assert not out.passed and out.args == {"option": "YES", "frame": 6, "options": "A, B, C"}


def test_results_that_do_not_follow_the_votes() -> None:
    view = _view(("VOTE A id=1", "VOTED A A=1 B=0 C=0"), ("RESULTS", "RESULTS A=0 B=1 C=0"))
    out = check_results(view, OPTIONS)
    assert not out.passed
    assert out.args == {"frame": 9, "got": "A=0 B=1 C=0", "expected": "A=1 B=0 C=0"}
    good = _view(("VOTE A id=1", "VOTED A A=1 B=0 C=0"), ("RESULTS", "RESULTS A=1 B=0 C=0"))
    assert check_results(good, OPTIONS).passed
