"""TcpStage (analysis/columnar/tcp/kernel.py) against TcpAnalyzer (analysis/tcp/analysis.py):
every TcpColumns field of every frame of every corpus capture, whole or in chunks."""
from __future__ import annotations

import numpy as np
import pytest

from analysis.columnar.columns import (
    TcpColumns, empty_frames, from_frames, slice_frames, tcp_from_infos)
from analysis.columnar.tcp.flows import MAX_UNACKED_SEGMENTS
from analysis.columnar.tcp.kernel import TcpStage
from analysis.decode.frame import decode_frame
from analysis.read.reader import CaptureReader
from analysis.tcp.analysis import TcpAnalyzer
from tests.analysis.columnar.support.corpus import corpus_paths

CHUNK_SIZES = (1_000_000, 1000, 7)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """[(name, FrameColumns, reference TcpColumns, reference stream count)] for every capture."""
    out = []
    for path in corpus_paths(tmp_path_factory.mktemp("corpus")):
        frames = [decode_frame(r, path=str(path)) for r in CaptureReader(str(path)).records()]
        analyzer = TcpAnalyzer()
        reference = tcp_from_infos([analyzer.process(f) for f in frames])
        cols, _ = from_frames(frames)
        out.append((path.name, cols, reference, len(analyzer)))
    return out


def run_chunks(cols, chunk: int) -> tuple[TcpColumns, TcpStage]:
    stage = TcpStage()
    parts = [stage.run(slice_frames(cols, a, min(a + chunk, len(cols))))
             for a in range(0, len(cols), chunk)] or [stage.run(cols)]
    return TcpColumns(*(np.concatenate(c) for c in zip(*parts))), stage


def first_mismatch(cols, ours: TcpColumns, reference: TcpColumns) -> str | None:
    """'frame N field: ours X, reference Y' for the first differing frame (lowest number)."""
    for name in TcpColumns._fields:
        a, b = getattr(ours, name), getattr(reference, name)
        assert a.dtype == b.dtype, f"{name}: dtype {a.dtype} != {b.dtype}"
    bad = np.zeros(len(cols), bool)
    for a, b in zip(ours, reference):
        bad |= a != b
    if not bad.any():
        return None
    i = int(np.flatnonzero(bad)[0])
    fields = [f"{name}: ours {getattr(ours, name)[i]}, reference {getattr(reference, name)[i]}"
              for name in TcpColumns._fields if getattr(ours, name)[i] != getattr(reference, name)[i]]
    return f"frame {int(cols.number[i])}: " + "; ".join(fields) + \
        f" ({int(np.count_nonzero(bad))} frames differ)"


@pytest.mark.parametrize("chunk", CHUNK_SIZES)
def test_tcp_stage_matches_reference(corpus, chunk):
    failures = []
    for name, cols, reference, streams in corpus:
        ours, stage = run_chunks(cols, chunk)
        problem = first_mismatch(cols, ours, reference)
        if problem is None and stage.n_streams != streams:
            problem = f"{stage.n_streams} streams, reference {streams}"
        if problem is not None:
            failures.append(f"{name} (chunk {chunk}): {problem}")
    assert not failures, "\n".join(failures)


def test_corpus_exercises_every_flag(corpus):
    """The comparison above means something: the corpus shows every analysis flag."""
    seen = 0
    for _, _, reference, _ in corpus:
        seen |= int(np.bitwise_or.reduce(reference.analysis))
    assert seen == (1 << 15) - 1, f"flags never seen: {~seen & 0x7FFF:#x}"


def _unacked_flow(n_data: int):
    """A handshake, n_data unacknowledged 10-byte segments client -> server, then one ACK from
    the server that acknowledges all of them; as columns, and the reference's TcpInfos."""
    from analysis.model import Frame, TcpHeader

    def frame(number, src, sport, dst, dport, seq, ack, flags, payload_len):
        tcp = TcpHeader(seq, ack, flags, 1000, 20, 0, 0, None, None, False, (), None, None)
        return Frame(number=number, ts_ns=number * 1000, caplen=60, wirelen=60, linktype=1,
                     interface=0, eth_src=None, eth_dst=None, vlan_ids=(), ethertype=0x0800,
                     net="ipv4", src=src, dst=dst, ip_proto=6, ip_ttl=64, proto="tcp",
                     sport=sport, dport=dport, tcp=tcp, payload_len=payload_len, payload=b"",
                     checksum_ok=None, arp=None, icmp_type=None, icmp_code=None, truncated=False,
                     malformed=None)

    c, s = ("10.0.0.1", 40000), ("10.0.0.2", 80)
    isn, peer = 0xFFFFF000, 5000           # the client's numbers wrap around 2**32
    frames = [frame(1, *c, *s, isn, 0, 0x02, 0), frame(2, *s, *c, peer, isn + 1, 0x12, 0),
              frame(3, *c, *s, isn + 1, peer + 1, 0x10, 0)]
    seq = isn + 1
    for k in range(n_data):
        frames.append(frame(4 + k, *c, *s, seq & 0xFFFFFFFF, peer + 1, 0x18, 10))
        seq += 10
    frames.append(frame(len(frames) + 1, *s, *c, peer + 1, seq & 0xFFFFFFFF, 0x10, 0))
    # retransmit the first segment: spurious, and the pool is empty again
    frames.append(frame(len(frames) + 1, *c, *s, (isn + 1) & 0xFFFFFFFF, peer + 1, 0x18, 10))
    analyzer = TcpAnalyzer()
    infos = [analyzer.process(f) for f in frames]
    return from_frames(frames)[0], infos, analyzer


def _listed(analyzer: TcpAnalyzer) -> int:
    """Unacknowledged segments the reference holds over all flows."""
    return sum(len(c.client.unacked) + len(c.server.unacked) for c in analyzer._streams)


@pytest.mark.parametrize("chunk", (100_000, 4096, 7))
def test_unacked_segments_cap(chunk):
    n_data = MAX_UNACKED_SEGMENTS + 500
    cols, infos, analyzer = _unacked_flow(n_data)
    # the cap is visible: the last segments were not listed, so the ACK of the last one has no
    # tcp_acked record and shows no iRTT (it would without the cap)
    final_ack = infos[3 + n_data]
    assert final_ack.analysis == () and final_ack.irtt_ns is None
    assert infos[2].irtt_ns is not None
    reference = tcp_from_infos(infos)
    ours, stage = run_chunks(cols, chunk)
    assert first_mismatch(cols, ours, reference) is None
    assert stage.unacked_segments == _listed(analyzer) == 1   # the spurious retransmission
    # before the final ACK the list held exactly the cap
    stage = TcpStage()
    stage.run(slice_frames(cols, 0, 3 + n_data))
    assert stage.unacked_segments == MAX_UNACKED_SEGMENTS


def test_empty_and_non_tcp_chunks():
    stage = TcpStage()
    out = stage.run(empty_frames(0))
    assert all(len(c) == 0 for c in out)
    out = stage.run(empty_frames(3))
    expected = tcp_from_infos([None, None, None])
    assert all(np.array_equal(a, b) for a, b in zip(out, expected))
    assert stage.n_streams == 0
