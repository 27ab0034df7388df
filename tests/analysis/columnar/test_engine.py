"""The columnar engine against the per-frame pipeline, end to end, on every corpus capture:
every frame's fields, the connections, the exchanges, the votes, warnings and counts."""
from __future__ import annotations

import pytest

from analysis.reference import analyze_reference as analyze
from analysis.columnar.conn.kernel import connections_from_table
from analysis.columnar.engine import Scan
from analysis.columnar.frames_view import FrameRow, collect, row_of
from analysis.errors import AnalysisError
from tests.analysis.columnar.support.corpus import corpus_paths


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return corpus_paths(tmp_path_factory.mktemp("engine_corpus"))


def _compare(path, chunk_frames: int, verify_checksums: bool = True) -> None:
    ref = analyze(path, verify_checksums=verify_checksums)
    scan = Scan(path, chunk_frames=chunk_frames, verify_checksums=verify_checksums)
    table = collect(scan)
    summary = scan.summary()
    where = f"{path.name} (chunks of {chunk_frames})"
    assert summary.frame_count == ref.frame_count, where
    ours_rows = list(table.rows())
    assert len(ours_rows) == len(ref.frames), where
    for mine, theirs in zip(ours_rows, ref.frames):
        want = row_of(theirs)
        if mine != want:
            diff = {name: (a, b) for name, a, b in zip(FrameRow._fields, mine, want) if a != b}
            pytest.fail(f"{where}: frame {theirs.number}: ours vs per-frame pipeline {diff}")
    ours_conns = connections_from_table(summary.connections)
    want_conns = [c._replace(frames=()) for c in ref.connections]
    assert [c.id for c in ours_conns] == [c.id for c in want_conns], where
    for mine, theirs, full in zip(ours_conns, want_conns, ref.connections):
        assert mine == theirs, f"{where}: connection {theirs.id}"
    assert list(summary.connections.frames) == [len(c.frames) for c in ref.connections], where
    assert summary.exchanges() == ref.exchanges, where
    assert summary.exchange_count == len(ref.exchanges), where
    assert summary.votes == ref.votes, where
    assert summary.warnings == ref.warnings, where
    assert summary.linktypes == ref.linktypes, where


def test_every_corpus_capture_agrees_with_the_per_frame_pipeline(corpus):
    assert len(corpus) >= 36
    for path in corpus:
        _compare(path, 65536)


def test_small_chunks_agree_too(corpus):
    # state carried across chunk boundaries: a chunk of 7 frames splits every conversation
    for path in corpus:
        _compare(path, 7)


def test_without_checksum_verification(corpus):
    for path in corpus:
        if "checksum" in path.name or path.name.startswith("fuzz"):
            _compare(path, 1000, verify_checksums=False)


def test_keep_exchanges_false_still_counts_and_votes(corpus):
    path = next(p for p in corpus if p.name == "replicated.pcap")
    kept = Scan(path).summary()
    light = Scan(path, keep_exchanges=False).summary()
    assert light.exchange_parts == [] and light.exchange_count == kept.exchange_count > 0
    assert light.votes == kept.votes


def test_dataframe_has_one_row_per_frame(corpus):
    path = next(p for p in corpus if p.name == "reqresp.pcap")
    ref = analyze(path)
    df = collect(Scan(path)).to_dataframe()
    assert list(df["number"]) == [f.number for f in ref.frames]
    assert list(df["label"].astype(str)) == [f.label for f in ref.frames]
    assert list(df["src"].astype(str)) == [f.src if f.proto not in ("arp", "rarp") else ""
                                           for f in ref.frames]


def test_bad_input_gives_the_same_error_as_the_per_frame_pipeline(tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("this is not a capture\n" * 10)
    with pytest.raises(AnalysisError) as theirs:
        analyze(bad)
    with pytest.raises(AnalysisError) as ours:
        Scan(bad).summary()
    assert type(ours.value) is type(theirs.value) and str(ours.value) == str(theirs.value)


def test_a_scan_runs_once(corpus):
    scan = Scan(corpus[0])
    scan.summary()
    with pytest.raises(RuntimeError):
        next(scan.batches())


def test_cli_summary_counts_and_connections_csv(corpus, tmp_path, capsys):
    import csv

    from analysis.cli import main

    path = next(p for p in corpus if p.name == "replicated.pcap")
    ref = analyze(path)
    assert main([str(path), "--summary", "--out", str(tmp_path / "out")]) == 0
    text = capsys.readouterr().out
    assert f"{ref.frame_count:,} frames" in text
    assert f"{len(ref.connections):,} TCP connections" in text
    labels = {}
    for frame in ref.frames:
        labels[frame.label] = labels.get(frame.label, 0) + 1
    for label, count in labels.items():
        assert f"  {label:<26} {count:>12,}" in text
    with open(tmp_path / "out" / "connections.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(int(r["id"]), r["conn_state"], r["history"], r["orig_ip"], int(r["orig_port"]))
            for r in rows] == [(c.id, c.conn_state, c.history, c.orig_ip, c.orig_port)
                               for c in ref.connections]


def test_cli_summary_refuses_frame_options(corpus, capsys):
    from analysis.cli import main

    for option in (["--csv"], ["--phase", "data"], ["--conn", "0"], ["--json", "--fields"]):
        assert main([str(corpus[0]), "--summary", *option]) == 2, option
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1, option


def test_cli_summary_json_has_the_counts(corpus, tmp_path, capsys):
    import json

    from analysis.cli import main

    path = next(p for p in corpus if p.name == "replicated.pcap")
    ref = analyze(path)
    assert main([str(path), "--summary", "--json", "--out", str(tmp_path / "out")]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document == json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert document["schema"] == "reqresp-lab/summary" and document["frame_count"] == ref.frame_count
    assert document["connection_count"] == len(ref.connections)
    assert document["exchange_count"] == len(ref.exchanges) and document["votes"] == ref.votes
    labels: dict[str, int] = {}
    for frame in ref.frames:
        labels[frame.label] = labels.get(frame.label, 0) + 1
    assert document["labels"] == labels
    states: dict[str, int] = {}
    for conn in ref.connections:
        states[conn.conn_state] = states.get(conn.conn_state, 0) + 1
    assert document["conn_states"] == states
    assert document["first_time"] == ref.frames[0].time and document["last_time"] == ref.frames[-1].time
def test_every_malformed_code_agrees(tmp_path):
    """One frame per vocabulary.MALFORMED code: both engines give it the same code (the corpus
    has cut headers only), and tcp analysis / connections skip the same frames for it."""
    from scapy.layers.inet import IP, TCP, UDP
    from scapy.layers.l2 import Ether
    from scapy.packet import Raw

    from analysis import vocabulary
    from tests.analysis.support.pcapfiles import pcap_bytes

    a, b = dict(src="10.0.0.1", dst="10.0.0.2"), dict(src="10.0.0.2", dst="10.0.0.1")
    handshake = [Ether() / IP(**a) / TCP(sport=40000, dport=7, flags="S", seq=9),
                 Ether() / IP(**b) / TCP(sport=7, dport=40000, flags="SA", seq=99, ack=10),
                 Ether() / IP(**a) / TCP(sport=40000, dport=7, flags="A", seq=10, ack=100)]
    bad_offset = bytearray(bytes(Ether() / IP(**a) / TCP(sport=40000, dport=7, flags="PA", seq=10,
                                                        ack=100) / Raw(b"hi")))
    bad_offset[14 + 20 + 12] = 0x30                          # data offset 3: 12 bytes
    bad_version = bytearray(bytes(Ether() / IP(**a) / UDP() / Raw(b"x")))
    bad_version[14] = 0x65
    frames = [(bytes(p), None) for p in handshake] + [
        (bytes(Ether() / IP(**a) / TCP(sport=40000, dport=7, flags="A", seq=10, ack=100,
                                       options=[("Timestamp", (1, 2))])), 14 + 20 + 24),   # tcp-options-cut
        (bytes(Ether() / IP(**b) / TCP(sport=7, dport=40000, flags="A", seq=100, ack=10)), 14 + 20 + 8),  # tcp-cut
        (bytes(bad_offset), None),                                                        # tcp-invalid
        (bytes(Ether() / IP(**a) / UDP(sport=5, dport=6) / Raw(b"x" * 8)), 14 + 20 + 4),    # cut
        (bytes(Ether() / IP(**a, len=400) / UDP(sport=5, dport=6) / Raw(b"x")), None),      # length
        (bytes(Ether() / IP(**a) / UDP(sport=5, dport=6, len=99) / Raw(b"x")), None),       # length (udp)
        (bytes(bad_version), None),                                                       # invalid
    ]
    path = tmp_path / "malformed.pcap"
    path.write_bytes(pcap_bytes([(1_700_000_000_000_000_000 + i * 1000, data[:cut or len(data)], len(data))
                                 for i, (data, cut) in enumerate(frames)]))
    codes = [f.malformed.code if f.malformed else None for f in analyze(path).frames]
    assert set(codes) - {None} == set(vocabulary.MALFORMED), codes
    for chunk in (3, 65536):
        _compare(path, chunk)
