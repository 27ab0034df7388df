"""Every display filter we print selects in tshark exactly the frames we say it selects (issue 15
item 3): the per-phase filters of the reports, each lab question's filter, and the per-connection
`tcp.stream eq N`; on the lab captures shipped with the notebook, on every lab scenario captured
afresh on network namespaces (root), and on the conformance captures."""
from __future__ import annotations

import os
import shutil
from concurrent.futures import ThreadPoolExecutor

import pytest

from analysis import analyze
from analysis.filter.exact import exact_filter, phase_filters
from analysis.report.html import render_html
from analysis.report.markdown import render_md
from analysis.report.questions import answer_all
from analysis.report.text import render_plain
from tests.analysis.dissect_captures import conformance_pcaps, lab_pcaps
from tests.analysis.wireshark_oracle import tshark_select

pytestmark = pytest.mark.skipif(not shutil.which("tshark"), reason="tshark not installed")


def printed_filters(result) -> dict[str, list[int]]:
    """filter -> the frames we say it selects, for every filter the reports print."""
    claims: dict[str, list[int]] = {}

    def claim(text: str, frames) -> None:
        frames = sorted(set(frames))
        assert claims.setdefault(text, frames) == frames, f"{text!r} claimed for two frame sets"

    for phase, text in phase_filters(result).items():
        claim(text, [f.number for f in result.frames if f.phase == phase])
    for answer in answer_all(result):
        if answer.frames:
            claim(answer.wireshark_filter, answer.frames)
    for c in result.connections:
        claim(f"tcp.stream eq {c.id}", [f.number for f in result.frames if f.conn == c.id])
    return claims


def _check(pcaps) -> list:
    results = [analyze(p) for p in pcaps]
    claims = [printed_filters(r) for r in results]
    with ThreadPoolExecutor(max_workers=2) as pool:
        theirs = list(pool.map(lambda pc: tshark_select(pc[0], list(pc[1])), zip(pcaps, claims)))
    return [(p.name, text, frames, tshark[text]) for p, mine, tshark in zip(pcaps, claims, theirs)
            for text, frames in mine.items() if tshark[text] != frames]


def test_printed_filters_select_exactly_our_frames_on_the_lab_and_conformance_captures():
    wrong = _check(lab_pcaps() + conformance_pcaps())
    assert not wrong, f"{len(wrong)} printed filters select other frames in tshark: {wrong[:5]}"


def _can_capture() -> str | None:
    if os.geteuid() != 0:
        return "needs root (network namespaces)"
    return None if shutil.which("tcpdump") else "needs tcpdump"


@pytest.mark.root
@pytest.mark.skipif(_can_capture() is not None, reason=str(_can_capture()))
def test_printed_filters_select_exactly_our_frames_on_every_lab_scenario(tmp_path):
    import capture
    from capture.scenarios import SCENARIOS

    pcaps = [capture.run_scenario(name, tmp_path / f"{name}.pcap").pcap for name in SCENARIOS]
    wrong = _check([type(tmp_path)(p) for p in pcaps])
    assert not wrong, f"{len(wrong)} printed filters select other frames in tshark: {wrong[:5]}"


def test_the_default_capture_says_which_frames_the_general_filters_get_wrong(default):
    # the finding: the data filter also selects 24, the teardown filter misses it
    filters = phase_filters(default)
    assert filters["data"] == "(tcp.len > 0 || (tcp.flags == 0x010 && tcp.ack > 1)) && !(frame.number in {24})"
    assert filters["teardown"] == "(tcp.flags.fin == 1) || frame.number in {24}"
    assert filters["arp"] == "arp"
    text, md, page = render_plain(default), render_md(default), render_html(default, ())
    for f in filters.values():
        assert f"Wireshark filter (exactly these frames): {f}" in text
        assert "`" + f.replace("|", "\\|") + "`" in md          # a table cell escapes the pipes
        assert f.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") in page


def test_a_filter_wrong_on_many_frames_gives_way_to_the_frame_list():
    assert exact_filter("tcp", [1, 2], [1, 2]) == "tcp"
    assert exact_filter("tcp", [1, 2], [1, 2, 3]) == "(tcp) && !(frame.number in {3})"
    assert exact_filter("tcp", [1, 2, 5], [1, 2]) == "(tcp) || frame.number in {5}"
    assert exact_filter("tcp", [1, 2, 5], [1, 2, 3]) == "((tcp) && !(frame.number in {3})) || frame.number in {5}"
    assert exact_filter("tcp", [1, 2], [1, 2, 3, 4, 7, 9]) == "frame.number in {1..2}"
