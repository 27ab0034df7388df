"""The agreement check finds differences when there are some, and none on a faithful dump."""
from __future__ import annotations

import pytest

from bench import inputs, peers
from bench.agreement import TsharkLabeler, compare
from tests.bench.support.base import needs_tshark


@pytest.fixture(scope="module")
def dumps(tiny_base, tmp_path_factory):
    base, facts = tiny_base
    work = tmp_path_factory.mktemp("agree")
    pcap = work / "r.pcap"
    inputs.replicate(base, pcap, facts["packets"] * 3)
    one, two = work / "one.tsv", work / "two.tsv"
    peers.run_tshark(pcap, False, one)
    peers.run_tshark(pcap, True, two)
    return pcap, one, two


@needs_tshark
def test_no_disagreement_on_the_replicated_base(dumps, tiny_base):
    pcap, one, two = dumps
    found = compare(pcap, one, two)
    assert found.frames == tiny_base[1]["packets"] * 3
    assert found.tcp_frames == found.frames - 2 * 3          # the ARP pair of each replica
    assert (found.disagreeing_frames, found.by_field, found.two_pass_frames) == (0, {}, 0)


def _edit_line(src, dst, number: int, column: int, value: str) -> None:
    lines = src.read_text().splitlines(keepends=True)
    cells = lines[number - 1].rstrip("\n").split("\t")
    cells[column] = value
    lines[number - 1] = "\t".join(cells) + "\n"
    dst.write_text("".join(lines))


@needs_tshark
def test_a_flag_tshark_sets_and_we_do_not_is_counted(dumps, tmp_path):
    pcap, one, _ = dumps
    edited = tmp_path / "edited.tsv"
    column = len(peers.BASE_FIELDS) + list(peers.analysis_fields()).index("tcp.analysis.duplicate_ack")
    _edit_line(one, edited, 5, column, "1")
    found = compare(pcap, edited)
    assert found.disagreeing_frames == 1
    assert found.by_field == {"duplicate-ack": 1}
    assert found.examples[0].startswith("frame 5: duplicate-ack")
    assert found.two_pass_frames is None


@needs_tshark
def test_a_different_stream_and_flags_are_counted(dumps, tmp_path):
    pcap, one, _ = dumps
    edited = tmp_path / "edited.tsv"
    _edit_line(one, edited, 3, peers.BASE_FIELDS.index("tcp.flags"), "0x0012")   # SYN -> SYN-ACK
    found = compare(pcap, edited)
    # the SYN-ACK makes the other side the client, so the handshake ACK (frame 5) is a plain ACK now
    assert found.by_field == {"flags": 1, "label": 2}
    _edit_line(one, edited, 8, peers.BASE_FIELDS.index("tcp.stream"), "7")   # a data segment
    assert compare(pcap, edited).by_field == {"stream": 1}


@needs_tshark
def test_a_missing_frame_is_counted(dumps, tmp_path):
    pcap, one, _ = dumps
    short = tmp_path / "short.tsv"
    short.write_text("".join(one.read_text().splitlines(keepends=True)[:-1]))
    assert compare(pcap, short).by_field == {"frame-count": 1}


def test_tsharklabeler_follows_the_vocabulary_rules():
    lab = TsharkLabeler()
    c, s = ("10.0.0.3", "41000"), ("10.0.0.2", "2222")
    seq = [(c, s, 0x002, 0, 0, None, 1), (s, c, 0x012, 0, 0, 1, 1), (c, s, 0x010, 0, 1, 1, 1),
           (c, s, 0x018, 5, 1, 1, 6), (s, c, 0x010, 0, 1, 6, 1), (c, s, 0x011, 0, 6, 1, 7),
           (s, c, 0x011, 0, 1, 7, 2), (c, s, 0x010, 0, 7, 2, 7)]
    labels = [lab.tcp(0, flags, length, sq, ak, nxt, src, dst)
              for src, dst, flags, length, sq, ak, nxt in seq]
    assert labels == ["syn", "syn-ack", "handshake-ack", "data", "ack", "fin", "fin", "teardown-ack"]
    assert TsharkLabeler.arp(1, "10.0.0.3", "10.0.0.2") == "arp-request"
    assert TsharkLabeler.arp(1, "10.0.0.3", "10.0.0.3") == "arp-announcement"
    assert TsharkLabeler.arp(2, "10.0.0.2", "10.0.0.3") == "arp-reply"
