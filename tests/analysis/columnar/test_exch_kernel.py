"""ExchangeStage (analysis/columnar/session/exchanges.py) agrees with ExchangeTracker as
analysis.api drives it: every exchange of every corpus capture, whatever the chunk size, and
on random streams that push the reassembly into its corners (pending limit, 64 KiB lines,
\\r runs, wraparound, gaps given up at the end)."""
from __future__ import annotations

import random
from typing import NamedTuple

import numpy as np
import pytest

from analysis.reference import analyze_reference as analyze
from analysis.columnar.columns import (FrameColumns, LabelColumns, TcpColumns, empty_frames,
                                       slice_frames, slice_labels, slice_tcp)
from analysis.columnar.session.exchanges import ExchangeStage, exchanges_from_columns
from analysis.columnar.session.labels import LabelStage
from analysis.session.exchanges import LINES, TURNS, ExchangeTracker, vote_totals
from analysis.model import Exchange
from tests.analysis.columnar.support.corpus import corpus_paths
from tests.analysis.columnar.support.reference_stages import Reference, chunk_bounds, reference

CHUNK_SIZES = (1_000_000, 1000, 7)


class Case(NamedTuple):
    ref: Reference
    exchanges: list[Exchange]
    votes: dict[str, int]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> list[Case]:
    cases = []
    for path in corpus_paths(tmp_path_factory.mktemp("corpus")):
        result = analyze(path)
        cases.append(Case(reference(path), result.exchanges, result.votes))
    return cases


def run_stage(cols: FrameColumns, data: np.ndarray, tcp: TcpColumns, labels: LabelColumns | None,
              size: int) -> list[Exchange]:
    """The stage fed chunk by chunk, each chunk with a fresh buffer of only its own payloads,
    scribbled over once the chunk is done (a reference kept into an old chunk shows)."""
    stage, labeller, parts = ExchangeStage(), LabelStage(), []
    for a, b in chunk_bounds(len(cols), size):
        chunk = slice_frames(cols, a, b)
        base = int(chunk.payload_off[0])
        end = int(chunk.payload_off[-1] + chunk.payload_cap[-1])
        # (not _replace: FrameColumns' len() is its number of frames)
        chunk = FrameColumns(*(c - base if name == "payload_off" else c
                               for name, c in zip(FrameColumns._fields, chunk)))
        chunk_data = data[base:end].copy()
        chunk_tcp = slice_tcp(tcp, a, b)
        chunk_labels = (labeller.run(chunk, chunk_tcp) if labels is None
                        else slice_labels(labels, a, b))
        parts.append(stage.run(chunk, chunk_data, chunk_tcp, chunk_labels))
        chunk_data[:] = 0xA5
    parts.append(stage.finish())
    assert stage.live() == {"records": 0, "blocks": 0, "bytes": 0, "pending": 0,
                            "pending_bytes": 0}
    return exchanges_from_columns(parts)


def first_mismatch(name: str, want: list[Exchange], got: list[Exchange]) -> str | None:
    for i, (w, g) in enumerate(zip(want, got)):
        for field in Exchange._fields:
            a, b = getattr(w, field), getattr(g, field)
            if a != b or type(a) is not type(b):
                return (f"{name}: exchange {i} (request frame {w.request_frame}) {field}: "
                        f"ours {b!r}, reference {a!r}")
    if len(want) != len(got):
        return f"{name}: {len(got)} exchanges, reference {len(want)}"
    return None


@pytest.mark.parametrize("size", CHUNK_SIZES)
def test_exchanges_match_the_reference(corpus, size):
    assert len(corpus) >= 38 and sum(len(c.exchanges) for c in corpus) > 5000
    for case in corpus:
        ref = case.ref
        ours = run_stage(ref.cols, ref.data, ref.tcp, None, size)
        assert first_mismatch(ref.name, case.exchanges, ours) is None
        assert vote_totals(ours) == case.votes, ref.name


def test_reference_labels_give_the_same_exchanges(corpus):
    for case in corpus:
        ref = case.ref
        ours = run_stage(ref.cols, ref.data, ref.tcp, ref.labels, 1000)
        assert first_mismatch(ref.name, case.exchanges, ours) is None


# --- random streams straight into ExchangeTracker and the stage ----------------------------------
_PIECES = (b"VOTE A\n", b"RESULTS\r\n", b"Echo: x\n", b"ERROR no\n", b"vote  b \n", b"\r", b"\r\r",
           b"\n", b"\r\n", b"abc", b"\xc3\xa9t\xc3\xa9\n", b"\xff", b"\xc2\xa0VOTE\n", b" results",
           b"\xc5\xbf\n", b"x" * 300, b"\x1fVOTE\x1c\n", b"\x0bresults\x0c\n", b"result\xc5\xbf\n",
           b"\x00VOTE\n", b"VOTE\tA\n", b"ERROR", b"Echo:")


def _payload(rng: random.Random) -> bytes:
    r = rng.random()
    if r < 0.01:
        return b"L" * rng.choice((65536, 65537, 70000))         # past MAX_MESSAGE, no newline
    if r < 0.02:
        return b"\n".join(b"M" * rng.randrange(40000) for _ in range(3))
    return b"".join(rng.choice(_PIECES) for _ in range(rng.randrange(1, 5)))


def random_session(seed: int, n: int):
    """Columns of n random frames on a few streams, ExchangeTracker's answer for them and the
    pairing modes it chose (streams 0-2 have a lab server, the others mostly not)."""
    rng = random.Random(seed)
    cols, payloads = empty_frames(n), []
    streams = np.full(n, -1, np.int64)
    from_client, client_is_src = np.zeros(n, np.bool_), np.zeros(n, np.bool_)
    tracker, off = ExchangeTracker(), 0
    next_seq, held = {}, {}
    for i in range(n):
        s = rng.randrange(6)
        sender = rng.random() < 0.5
        key = (s, sender)
        if key not in next_seq:
            next_seq[key] = rng.choice((rng.getrandbits(32), 0xFFFFFF00, 0))
        flags = 0x18 if rng.random() < 0.9 else rng.choice((0x02, 0x12, 0x10, 0x11))
        payload = b"" if flags & 0x02 and rng.random() < 0.7 else _payload(rng)
        if payload and s < 3:
            payload = b"Echo: " + payload      # a lab reply first on streams 0-2: paired by lines
        seq = next_seq[key]
        jump = rng.random()
        if held.get(key) and jump < 0.4:               # a held-back segment fills its gap
            flags, (seq, payload) = 0x18, held[key].pop(rng.randrange(len(held[key])))
        elif jump < 0.5 and payload and len(held.get(key, ())) < 70:
            # reordering: this segment is held back, the next one goes first
            held.setdefault(key, []).append((seq, payload))
            seq = (seq + len(payload)) & 0xFFFFFFFF
            payload = _payload(rng)
            next_seq[key] = (seq + len(payload)) & 0xFFFFFFFF
        else:
            if jump < 0.6:
                seq += rng.choice((1, 3, 7, 100, 2000, 70000))   # a gap that stays: pending
            elif jump < 0.7:
                seq -= rng.choice((1, 3, 7, 100, 2000))           # overlap: new tail only
            elif jump < 0.72:
                seq += 2**31 + rng.randrange(10)
            seq &= 0xFFFFFFFF
            if seq == next_seq[key] or rng.random() < 0.3:
                next_seq[key] = (seq + len(payload) + (1 if flags & 0x03 else 0)) & 0xFFFFFFFF
        # the labeller's client may change its mind; the tracker keeps the first it is given
        is_src = rng.random() < 0.6
        endpoint = ("10.0.0.1", 40000 + s) if sender else ("10.0.0.2", 80)
        other = ("10.0.0.2", 80) if sender else ("10.0.0.1", 40000 + s)
        client = endpoint if is_src else other
        ts = 1_700_000_000_000_000_000 + i * rng.choice((1, 999, 123_457))
        cols.number[i], cols.ts_ns[i], cols.proto[i] = i + 1, ts, 1
        cols.tcp_flags[i], cols.seq[i] = flags, seq
        cols.payload_len[i] = cols.payload_cap[i] = len(payload)
        cols.payload_off[i] = off
        off += len(payload)
        payloads.append(payload)
        streams[i], from_client[i], client_is_src[i] = s, sender, is_src
        if flags & 0x02:
            tracker.syn(s, client, endpoint, seq)
        if payload:
            tracker.add(s, client, endpoint, seq, payload, i + 1, ts / 1e9)
    data = np.frombuffer(b"".join(payloads), np.uint8).copy()
    tcp = TcpColumns(stream=streams, seq_rel=np.zeros(n, np.int64), ack_rel=np.zeros(n, np.int64),
                     next_rel=np.zeros(n, np.int64), analysis=np.zeros(n, np.uint16),
                     window=np.zeros(n, np.int64), from_client=from_client,
                     irtt_ns=np.full(n, -1, np.int64), scalefactor=np.zeros(n, np.int32))
    labels = LabelColumns(phase=np.zeros(n, np.uint8), label=np.zeros(n, np.uint8),
                          direction=np.full(n, -1, np.int8), client_is_src=client_is_src)
    want = tracker.finish()
    modes = {state.mode for state in tracker._conns.values()}
    return cols, data, tcp, labels, want, modes


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("size", (100_000, 13))
def test_random_streams_match_exchange_tracker(seed, size):
    cols, data, tcp, labels, want, modes = random_session(seed, 1500)
    got = run_stage(cols, data, tcp, labels, size)
    assert first_mismatch(f"seed {seed}", want, got) is None
    assert len(want) > 100 and modes == {LINES, TURNS}


def test_state_is_compact():
    assert ExchangeStage.STATE_BYTES_PER_STREAM <= 64
    stage = ExchangeStage()
    assert stage.st[0].nbytes == ExchangeStage.STATE_BYTES_PER_STREAM
