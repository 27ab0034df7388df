"""analysis.columnar.read.chunks (ChunkReader) against the per-frame reference, frame by frame.

The comparison (support/chunk_compare.py): every column but payload_off, the payload bytes, the
warnings, the link types and the error (raised after exactly the frames before the failing one)
equal `from_frames([decode_frame(r, ...) for r in CaptureReader(p).records()])`'s.
"""
from __future__ import annotations

import inspect
import random
import struct
import threading
from pathlib import Path

import numpy as np
import pytest

from analysis.columnar import columns as C
from analysis.columnar.decode import frames as K
from analysis.columnar.read.chunks import ChunkReader
from analysis.columnar.columns import FrameColumns
from analysis.errors import CaptureFormatError, UnknownLinkTypeError
from tests.analysis.columnar.support.crafted_frames import (HOP_BY_HOP, LINKTYPES, NETWORK, T0, TCP4, UDP4, V4A, V4B,
                                                   arp, ethernet, ipv4, link_frames, records_of, tcp)
from tests.analysis.columnar.support.corpus import (DATA_PCAPS, MADE_NAMES, NOTEBOOK_PCAPS,
                                                   conformance_pcaps, corpus_paths)
from tests.analysis.columnar.support.chunk_compare import PLAIN, check
from tests.analysis.support.pcapfiles import pcap_bytes, pcapng_block, pcapng_epb, pcapng_idb, pcapng_shb

CORPUS_NAMES = ([p.name for p in conformance_pcaps() + NOTEBOOK_PCAPS + DATA_PCAPS]
                + ["crafted_tcp.pcap", "replicated.pcap"] + [f"fuzz{s}.pcap" for s in range(8)]
                + MADE_NAMES)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, Path]:
    paths = corpus_paths(tmp_path_factory.mktemp("corpus"))
    assert [p.name for p in paths] == CORPUS_NAMES and len(conformance_pcaps()) >= 25
    return {p.name: p for p in paths}


# -- the corpus --------------------------------------------------------------------------------

@pytest.mark.parametrize("verify", [True, False], ids=["verify", "noverify"])
@pytest.mark.parametrize("chunk_frames", [7, 1000, 65536])
@pytest.mark.parametrize("name", CORPUS_NAMES)
def test_corpus_equals_the_per_frame_decoder(corpus, name, chunk_frames, verify):
    ours = check(corpus[name], verify, chunk_frames)
    assert ours.error is None and len(ours.cols) > 0


@pytest.mark.parametrize("buffer_bytes", [1, 97, 1500, 4096])
@pytest.mark.parametrize("name", ["replicated.pcap", "fuzz0.pcap", "fuzz3.pcap",
                                  "zeek_pcapng_multi_interface.pcapng", "zeek_ftp_ipv4.pcap"])
def test_small_buffers_carry_records_over_reads(corpus, name, buffer_bytes):
    """Records cut by every read boundary, records larger than the buffer (which grows)."""
    for chunk_frames in (3, 65536):
        check(corpus[name], True, chunk_frames, buffer_bytes)


def test_fast_path_decodes_the_lab_capture_and_chunks_are_full(corpus):
    reader = ChunkReader(corpus["replicated.pcap"], chunk_frames=4096)
    sizes = [len(cols) for cols, _ in reader.chunks()]
    assert reader.fallback_frames == 0
    assert sum(sizes) == reader.count == 20010 and set(sizes[:-1]) == {4096}


def test_no_corpus_frame_falls_back(corpus):
    for path in corpus.values():
        reader = ChunkReader(path)
        for _ in reader.chunks():
            pass
        assert reader.fallback_frames == 0, path.name


def test_reading_twice_gives_the_same_chunks(corpus):
    reader = ChunkReader(corpus["zeek_pcapng_multi_interface.pcapng"], chunk_frames=4)
    first = [[c.copy() for c in cols] for cols, _ in reader.chunks()]
    second = [[c.copy() for c in cols] for cols, _ in reader.chunks()]
    assert reader.count == 6 and len(first) == 2
    assert all(np.array_equal(a, b) for x, y in zip(first, second) for a, b in zip(x, y))


# -- reading ahead on a second thread (read/ahead.py) -------------------------------------------

def _ahead_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "reqresp-read-ahead"]


@pytest.mark.parametrize("name", ["replicated.pcap", "fuzz3.pcap", "zeek_ftp_ipv4.pcap",
                                  "zeek_pcapng_multi_interface.pcapng"])
def test_in_line_reading_equals_the_per_frame_decoder(corpus, name):
    """read_ahead=False (one CPU, or asked): the same frames, with no thread."""
    for chunk_frames, buffer_bytes in ((7, 97), (1000, None)):
        check(corpus[name], True, chunk_frames, buffer_bytes, read_ahead=False)
    assert not _ahead_threads()


@pytest.mark.parametrize("buffer_bytes", [1500, 65536, None])
@pytest.mark.parametrize("name", ["replicated.pcap", "zeek_pcapng_multi_interface.pcapng"])
def test_reading_ahead_never_writes_the_chunk_the_caller_holds(corpus, name, buffer_bytes):
    """Each chunk is held a while before it is read: the producer has made the next one by
    then (into the other slot, the read buffers carried over in turn) and waits; the held chunk
    is still exactly the reference's frames and payload bytes."""
    seen: list[int] = []
    chunk_frames = 1 if name.endswith(".pcapng") else 3001
    check(corpus[name], True, chunk_frames, buffer_bytes, read_ahead=True, hold=0.02, ahead_seen=seen)
    assert len(seen) >= 3          # the producer was one chunk ahead of the caller
    assert not _ahead_threads()


def test_pcapng_blocks_between_frames_carry_the_buffers_past_the_chunk_held(tmp_path):
    """Blocks that are not frames (skipped, as the pcapng spec says) between two frames, each
    larger than half the read buffer: the buffers take turns more than once before the next
    frame, and the one the held chunk points into is written only after the caller lets go."""
    body = [pcapng_shb(), pcapng_idb(1)]
    for i in range(6):
        body.append(pcapng_epb(0, T0 + i, PLAIN + bytes([i]) * 40))
        body += [pcapng_block(0x0BAD, bytes([i]) * 300)] * 4
    path = tmp_path / "blocks.pcapng"
    path.write_bytes(b"".join(body))
    # the producer waits for the caller at the second turn, so it is never a chunk ahead here;
    # were it not to wait, the held chunk's payload bytes would differ from the reference's
    check(path, True, 1, 512, read_ahead=True, hold=0.02)


def test_fallback_payloads_of_a_chunk_survive_the_next_chunks_fallbacks(tmp_path):
    """Frames left to decode_frame put their payload in the read buffer's spare area; while
    the caller holds a chunk, the next chunk's fallbacks go after them, not over them."""
    hop = ethernet(0x86DD, HOP_BY_HOP)
    path = tmp_path / "fallbacks.pcap"
    path.write_bytes(pcap_bytes([(T0 + i, hop if i % 3 else PLAIN) for i in range(600)]))
    seen: list[int] = []
    check(path, True, 50, read_ahead=True, hold=0.01, ahead_seen=seen)
    assert len(seen) >= 3


def test_stopping_early_stops_the_read_ahead_thread(corpus):
    reader = ChunkReader(corpus["replicated.pcap"], chunk_frames=1000, read_ahead=True)
    chunks = reader.chunks()
    cols, _ = next(chunks)
    assert len(cols) == 1000 and _ahead_threads()
    chunks.close()
    assert not _ahead_threads()
    # a second reading from the start while the first is unfinished: the first is stopped
    first = reader.chunks()
    next(first)
    assert sum(len(cols) for cols, _ in reader.chunks()) == 20010 == reader.count
    assert not _ahead_threads()


def test_kernel_contract_matches_columns():
    params = list(inspect.signature(K.decode_records.py_func).parameters)
    assert params[10:-1] == list(FrameColumns._fields[2:])
    assert [C.NET_CODE[n] for n in ("other", "ipv4", "ipv6", "arp", "rarp")] == \
        [K.NET_OTHER, K.NET_IPV4, K.NET_IPV6, K.NET_ARP, K.NET_RARP]
    assert [C.PROTO_CODE[n] for n in C.PROTOS] == [K.P_OTHER, K.P_TCP, K.P_UDP, K.P_ICMP,
                                                  K.P_ICMPV6, K.P_ARP, K.P_RARP, K.P_IPV4, K.P_IPV6]
    assert [C.MAL_CODE[n] for n in C.MALFORMED] == [K.MAL_TCP_OPTIONS, K.MAL_TCP_CUT, K.MAL_TCP_INVALID,
                                                     K.MAL_CUT, K.MAL_LENGTH, K.MAL_INVALID]
    assert C.MAL_NONE == K.MAL_NONE == 0


# -- crafted frames (crafted_frames.py), every link type, cut at every length --------------------



@pytest.mark.parametrize("linktype", LINKTYPES)
@pytest.mark.parametrize("verify", [True, False])
def test_crafted_frames_of_every_link_type_cut_at_every_length(tmp_path, linktype, verify):
    path = tmp_path / "crafted.pcap"
    recs = records_of(link_frames(linktype))
    path.write_bytes(pcap_bytes(recs, linktype=linktype))
    ours = check(path, verify, 500)
    assert len(ours.cols) > 100 and ours.error is None


def test_frames_left_to_the_per_frame_decoder(tmp_path):
    """IPv6 extension headers and a wire length below the captured length fall back; nothing else."""
    path = tmp_path / "fallback.pcap"
    hop = ethernet(0x86DD, HOP_BY_HOP)
    plain = ethernet(0x0800, TCP4)
    path.write_bytes(pcap_bytes([(T0, hop), (T0, plain), (T0, plain, 20), (T0, hop), (T0, plain)]))
    reader = ChunkReader(path)
    for _ in reader.chunks():
        pass
    assert reader.fallback_frames == 3
    check(path)


def test_values_the_columns_cannot_hold_behave_as_the_reference(tmp_path):
    """A window scale above 127 (int8) or a wire length above 2**31 - 1 (int32): whatever
    fill_from_frame does with them, ChunkReader does too, after the frames before them."""
    frames = [ethernet(0x0800, TCP4),
              ethernet(0x0800, ipv4(6, tcp(V4A, V4B, options=b"\x03\x03\xc8", flags=0x02))),
              ethernet(0x0806, arp(40000))]
    for bad in (1, 2):
        path = tmp_path / f"range{bad}.pcap"
        path.write_bytes(pcap_bytes([(T0, frames[0]), (T0, frames[bad]), (T0, frames[0])]))
        check(path)
    path = tmp_path / "wire.pcap"
    path.write_bytes(pcap_bytes([(T0, frames[0]), (T0, frames[0], 2**31), (T0, frames[0])]))
    check(path)


# -- seeded mutation fuzz over every link type, read as pcapng -----------------------------------

def mutated(seed: int, n: int) -> list[tuple[int, int, bytes, int]]:
    """(interface, ts, data, wirelen): crafted frames with random bytes overwritten and cuts."""
    rng = random.Random(seed)
    pool = [(i, f) for i, lt in enumerate(LINKTYPES) for f in link_frames(lt)]
    out = []
    while len(out) < n:
        iface, data = rng.choice(pool)
        data = bytearray(data)
        for _ in range(rng.choice((1, 1, 2, 3, 6))):
            pos = min(int(rng.expovariate(1 / 24)), len(data) - 1) if data else 0
            if data:
                data[pos] = rng.choice((0, 1, 2, 3, 4, 5, 6, 0x11, 0x3A, 0x45, 0x60, 0x80, 0xFF,
                                        rng.getrandbits(8)))
        data = bytes(data[:rng.choice((len(data),) * 4 + (rng.randrange(len(data) + 1),))])
        wire = max(len(data) + rng.choice((0, 0, 0, 1, 40, -2)), 0)
        out.append((iface, T0 + len(out), data, wire))
    return out


@pytest.mark.parametrize("seed", range(4))
def test_mutation_fuzz_equals_the_per_frame_decoder(tmp_path, seed):
    path = tmp_path / f"mutated{seed}.pcapng"
    body = [pcapng_shb()] + [pcapng_idb(lt, tsresol=9) for lt in LINKTYPES]
    body += [pcapng_epb(iface, ts, data, wire) for iface, ts, data, wire in mutated(seed, 4000)]
    path.write_bytes(b"".join(body))
    for verify in (True, False):
        ours = check(path, verify, 999)
        assert len(ours.cols) == 4000


# -- containers, warnings and errors ----------------------------------------------------------



@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("kind", ["us", "ns", "modified"])
def test_pcap_byte_orders_resolutions_and_modified_magic(tmp_path, order, kind):
    path = tmp_path / "x.pcap"
    frames = [(T0 + i * 1_000_001, ethernet(et, net)) for i, (et, net) in enumerate(NETWORK)]
    path.write_bytes(pcap_bytes(frames, order=order, nano=kind == "ns", modified=kind == "modified"))
    for buffer_bytes in (None, 50):
        assert len(check(path, True, 5, buffer_bytes).cols) == len(NETWORK)


@pytest.mark.parametrize("cut", [1, 5, 15, 16, 20, 16 + len(PLAIN) - 1])
@pytest.mark.parametrize("modified", [False, True])
def test_pcap_cut_mid_record_warns_like_the_reader(tmp_path, cut, modified):
    path = tmp_path / "cut.pcap"
    whole = pcap_bytes([(T0, PLAIN)] * 3, modified=modified)
    path.write_bytes(whole[:24 + 2 * (len(whole) - 24) // 3 + cut])
    for chunk_frames, buffer_bytes in ((1, None), (1000, None), (1000, 70)):
        ours = check(path, True, chunk_frames, buffer_bytes)
        assert len(ours.cols) == 2 and [w.code for w in ours.warnings] == ["truncated-file"]


def test_pcapng_interfaces_sections_and_a_cut_block(tmp_path):
    path = tmp_path / "multi.pcapng"
    body = [pcapng_shb(), pcapng_idb(1), pcapng_idb(113, tsresol=9),
            pcapng_block(0x10A, b"unknown block"), pcapng_epb(0, 5, PLAIN),
            pcapng_epb(1, T0, link_frames(113)[0]),
            pcapng_block(3, struct.pack("<I", len(PLAIN)) + PLAIN),           # simple packet block
            pcapng_shb(">"), pcapng_idb(228, order=">"), pcapng_epb(0, 7, UDP4, order=">")]
    whole = b"".join(body)
    path.write_bytes(whole + pcapng_epb(0, 9, PLAIN, order=">")[:30])
    for chunk_frames in (1, 2, 100):
        ours = check(path, True, chunk_frames)
        assert ours.linktypes == (1, 113, 228) and len(ours.cols) == 4 and len(ours.warnings) == 1


def test_unknown_link_type_raises_like_the_reference(tmp_path):
    path = tmp_path / "unknown.pcap"
    path.write_bytes(pcap_bytes([(T0, PLAIN)] * 2, linktype=147))
    ours = check(path)
    assert isinstance(ours.error, UnknownLinkTypeError) and len(ours.cols) == 0
    mixed = tmp_path / "unknown.pcapng"       # the Ethernet frames before it are yielded first
    mixed.write_bytes(b"".join([pcapng_shb(), pcapng_idb(1), pcapng_idb(147)]
                               + [pcapng_epb(int(i >= 2), i, PLAIN) for i in range(4)]))
    for chunk_frames in (1, 1000):
        ours = check(mixed, True, chunk_frames)
        assert isinstance(ours.error, UnknownLinkTypeError) and len(ours.cols) == 2
        assert "frame 3" in str(ours.error)


@pytest.mark.parametrize("content", [b"", b"GET / HTTP/1.1\r\n\r\n", pcap_bytes([])[:10],
                                     b"\x0a\x0d\x0d\x0a" + bytes(20)])
def test_files_that_are_not_captures_raise_like_the_reader(tmp_path, content):
    path = tmp_path / "not.pcap"
    path.write_bytes(content)
    ours = check(path)
    assert isinstance(ours.error, CaptureFormatError) and ours.cols is None


def test_corrupt_records_raise_after_the_frames_before_them(tmp_path):
    absurd = tmp_path / "absurd.pcap"
    data = bytearray(pcap_bytes([(T0, PLAIN)] * 3))
    struct.pack_into("<I", data, 24 + 2 * (16 + len(PLAIN)) + 8, 0x7FFFFFF0)   # frame 3's caplen
    absurd.write_bytes(bytes(data))
    noidb = tmp_path / "noidb.pcapng"
    noidb.write_bytes(pcapng_shb() + pcapng_idb() + pcapng_epb(0, 1, PLAIN) * 2
                      + pcapng_epb(4, 1, PLAIN))
    for path in (absurd, noidb):
        for chunk_frames in (1, 1000):
            ours = check(path, True, chunk_frames)
            assert isinstance(ours.error, CaptureFormatError) and len(ours.cols) == 2
