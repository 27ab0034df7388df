"""analyze() - the columnar engine behind the front door - against the per-frame reference
(analysis.reference.analyze_reference), record for record: every LabeledFrame field of every
frame (MAC addresses, Info text, malformed reasons included), the connections with their frame
lists, the exchanges, votes, warnings and counts (and so the flags and Info views), on every corpus capture (the 25 conformance
captures, the lab and notebook captures, crafted and fuzz files), in whole and in tiny chunks."""
from __future__ import annotations

import pytest

from analysis import analyze, summarize
from analysis.api import _analyze_columnar
from analysis.model import LabeledFrame
from analysis.reference import analyze_reference, summarize_reference
from tests.analysis.columnar.support.corpus import corpus_paths
from tests.analysis.support.conformance import CONFORMANCE_DIR


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return corpus_paths(tmp_path_factory.mktemp("front_door_corpus"))


def _disagreements(ours, ref, where: str) -> list[str]:
    out = []
    if len(ours.frames) != len(ref.frames):
        out.append(f"{where}: {len(ours.frames)} frames against {len(ref.frames)}")
    for mine, theirs in zip(ours.frames, ref.frames):
        if mine != theirs:
            diff = {name: (a, b) for name, a, b in zip(LabeledFrame._fields, mine, theirs) if a != b}
            out.append(f"{where}: frame {theirs.number}: {diff}")
    for name in ("connections", "exchanges", "warnings", "frame_count", "linktypes", "votes", "path"):
        if getattr(ours, name) != getattr(ref, name):
            out.append(f"{where}: {name} differ")
    return out


def test_the_conformance_set_is_all_there(corpus):
    conformance = sorted((CONFORMANCE_DIR / "pcaps").glob("*.pcap*"))
    assert len(conformance) >= 25
    assert {p.name for p in conformance} <= {p.name for p in corpus}


@pytest.mark.parametrize("chunk_frames", [None, 7])
def test_analyze_agrees_with_the_reference_on_every_frame(corpus, chunk_frames):
    bad = []
    for path in corpus:
        ours = _analyze_columnar(path, chunk_frames=chunk_frames)
        bad += _disagreements(ours, analyze_reference(path), f"{path.name} ({chunk_frames})")
    assert bad == [], "\n".join(bad[:20])


def test_checksum_options_agree(corpus):
    bad = []
    for path in corpus:
        if "checksum" in path.name or path.name.startswith("fuzz"):
            for options in ({"verify_checksums": False}, {"strict_checksums": True}):
                bad += _disagreements(analyze(path, **options), analyze_reference(path, **options),
                                      f"{path.name} {options}")
    assert bad == [], "\n".join(bad[:20])


def test_frames_index_slice_and_filter_without_a_list(corpus):
    path = next(p for p in corpus if p.name == "replicated.pcap")
    ours, ref = _analyze_columnar(path, chunk_frames=50), analyze_reference(path)
    frames = ours.frames
    assert not isinstance(frames, list) and len(frames) == len(ref.frames) > 120
    assert frames[0] == ref.frames[0] and frames[-1] == ref.frames[-1]
    assert frames[49] == ref.frames[49] and frames[50] == ref.frames[50]
    assert frames[30:130] == ref.frames[30:130]
    assert frames[::17] == ref.frames[::17]
    with pytest.raises(IndexError):
        frames[len(frames)]
    for phase in ("handshake", "data", "teardown"):
        assert ours.phase(phase) == ref.phase(phase)
    conn = ref.connections[1].id
    assert ours.frames_of(conn) == ref.frames_of(conn)
    assert [f for f in frames if f.label == "syn"] == [f for f in ref.frames if f.label == "syn"]


def test_to_dataframe_equals_the_records(corpus):
    import pandas as pd

    for name in ("reqresp.pcap", "replicated.pcap"):
        path = next(p for p in corpus if p.name == name)
        ours = _analyze_columnar(path, chunk_frames=33).to_dataframe()
        ref = analyze_reference(path).frames
        records = pd.DataFrame.from_records(ref, columns=LabeledFrame._fields)
        records["analysis"] = records["analysis"].map(list)
        records["flags"] = [f.flags for f in ref]
        records["info"] = [f.info for f in ref]
        pd.testing.assert_frame_equal(ours, records.set_index("number", drop=False))


def test_summarize_keeps_no_frames_and_agrees(corpus):
    for path in corpus[:12]:
        ours, ref = summarize(path), summarize_reference(path)
        assert ours.frames == [] == ref.frames
        assert ours.connections == ref.connections and ours.exchanges == ref.exchanges
        assert ours.warnings == ref.warnings and ours.votes == ref.votes


@pytest.mark.parametrize("chunk_frames", [None, 7])
def test_field_chunks_equal_the_records_fields(corpus, chunk_frames):
    """analysis.frame_fields.field_chunks gives, for any subset of fields, what the records hold:
    from the lazy frames' columns (chunked, extras patched in) and from a reference list alike."""
    from analysis.frame_fields import field_chunks

    subsets = (LabeledFrame._fields, ("src", "dst", "arp"), ("conn", "time"), ("malformed",),
               ("tcp_options", "icmp_type", "ip_proto", "number"))
    bad = []
    for path in corpus:
        ours = _analyze_columnar(path, chunk_frames=chunk_frames)
        ref = analyze_reference(path)
        for names in subsets:
            want = {name: [getattr(f, name) for f in ref.frames] for name in names}
            for frames, engine in ((ours.frames, "lazy"), (ref.frames, "list")):
                got = {name: [] for name in names}
                for part in field_chunks(frames, names):
                    assert tuple(part) == names
                    for name in names:
                        got[name] += part[name]
                if got != want:
                    bad.append(f"{path.name} {engine} {names}")
    assert bad == [], "\n".join(bad[:20])


def test_field_chunks_refuse_an_unknown_field(corpus):
    from analysis.frame_fields import field_chunks

    with pytest.raises(ValueError, match="not LabeledFrame fields: flags"):
        next(field_chunks(analyze(corpus[0]).frames, ("time", "flags")))
    with pytest.raises(ValueError, match="not LabeledFrame fields: flags"):
        next(field_chunks([], ("flags",)))


def test_take_and_exchanges_of_agree_with_the_lists(corpus):
    """frame_fields.take (LazyFrames.take: only the frames asked for are made) and
    Analysis.exchanges_of (an index by connection) give what the plain lists give."""
    from analysis.frame_fields import take

    for path in corpus[:12]:
        ours, ref = analyze(path), analyze_reference(path)
        n = len(ref.frames)
        positions = sorted({0, n // 3, n // 2, n - 1} & set(range(n)))
        assert take(ours.frames, positions) == [ref.frames[i] for i in positions] == take(ref.frames, positions)
        for conn in ref.connections:
            want = [e for e in ref.exchanges if e.conn == conn.id]
            assert ours.exchanges_of(conn.id) == want == ref.exchanges_of(conn.id), path.name
    ours = analyze(corpus[0])
    if len(ours.frames) > 1:
        assert ours.frames.take([1, 0]) == [ours.frames[0], ours.frames[1]]


def test_plain_arp_is_read_from_its_bytes_and_other_arp_from_the_decoder(tmp_path):
    """ARP over untagged Ethernet with IPv4 addresses keeps its 42 header bytes (aside.py), not a
    record of what the per-frame decoder said; VLAN-tagged, cut or non-IPv4 ARP still asks the
    decoder. Either way every field equals the reference's."""
    from tests.analysis.columnar.support.crafted_frames import T0, arp, ethernet
    from tests.analysis.support.pcapfiles import pcap_bytes

    plain = ethernet(0x0806, arp(1))
    tagged = ethernet(0x0806, arp(2), vlans=((0x8100, 5),))
    other_protocol = ethernet(0x0806, arp(1, ptype=0x86DD))
    cut = plain[:40]
    path = tmp_path / "arp.pcap"
    path.write_bytes(pcap_bytes([(T0 + i, f) for i, f in
                                 enumerate((plain, tagged, other_protocol, cut, plain))]))
    ours, ref = _analyze_columnar(path, chunk_frames=2), analyze_reference(path)
    assert not _disagreements(ours, ref, path.name)
    aside = ours.frames._store.aside
    assert sorted(aside.extras) == [1, 2, 3] and len(aside) == 5
    assert ours.frames[0].arp.sha == ref.frames[0].arp.sha and ours.frames[4].arp.opcode == 1
