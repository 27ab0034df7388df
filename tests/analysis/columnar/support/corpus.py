"""The captures both engines are compared on: every test capture we have, plus seeded fuzz.

    paths = corpus_paths(tmp_dir)        # conformance set, notebook captures, crafted TCP cases,
                                         # a replicated lab capture, fuzz files

The fuzz files (`fuzz_pcap`) are random but reproducible TCP conversations between a few
endpoints - random flags, sequence numbers near the expected ones with jumps and wraparound,
zero windows, window-scale options, bad checksums, cut frames, payloads with and without
newlines, some ARP/UDP/IPv6 frames - to drive every state machine into its corners. The
per-frame pipeline is the reference; a fuzz frame's "meaning" does not matter, only agreement.
"""
from __future__ import annotations

import random
import struct
from pathlib import Path

from analysis.columnar.warmup import internet_checksum
from tests.analysis.support.conformance import CONFORMANCE_DIR
from tests.analysis.support.pcapfiles import pcap_bytes
from tests.analysis.support.encap_captures import ENCAPSULATIONS

REPO = Path(__file__).resolve().parents[4]
NOTEBOOK_PCAPS = sorted((REPO / "notebooks" / "data").glob("*.pcap"))


_checksum = internet_checksum   # the warm-up capture's builder, one copy of RFC 1071


def _tcp_options(rng: random.Random, syn: bool) -> bytes:
    if not syn or rng.random() < 0.3:
        return b"" if rng.random() < 0.9 else b"\x01\x01\x08\x0a" + struct.pack("!II", rng.getrandbits(32), 0)
    opts = struct.pack("!BBH", 2, 4, 1460)
    if rng.random() < 0.7:
        opts += struct.pack("!BBB", 3, 3, rng.choice((0, 2, 7, 14, 15))) + b"\x01"
    if rng.random() < 0.5:
        opts += b"\x04\x02\x01\x01"
    return opts + b"\0" * (-len(opts) % 4)


def _tcp_frame(rng, src, dst, sport, dport, seq, ack, flags, window, payload, v6=False,
               bad_checksum=False):
    opts = _tcp_options(rng, bool(flags & 0x02))
    off = (20 + len(opts)) // 4
    tcp = struct.pack("!HHIIHHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                      (off << 12) | flags, window, 0, 0) + opts + payload
    if v6:
        pseudo = src + dst + struct.pack("!IxxxB", len(tcp), 6)
    else:
        pseudo = src + dst + struct.pack("!BBH", 0, 6, len(tcp))
    csum = _checksum(pseudo + tcp)
    if bad_checksum:
        csum ^= 0x5A5A
    tcp = tcp[:16] + struct.pack("!H", csum) + tcp[18:]
    if v6:
        ip = struct.pack("!IHBB", 6 << 28, len(tcp), 6, 64) + src + dst
        eth = b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x86\xdd"
    else:
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0x4000, 64, 6, 0, src, dst)
        ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
        eth = b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00"
    return eth + ip + tcp


_ARP = (b"\xff\xff\xff\xff\xff\xff\x02\0\0\0\0\x01\x08\x06\x00\x01\x08\x00\x06\x04\x00\x01"
        b"\x02\0\0\0\0\x01\x0a\x00\x00\x01\0\0\0\0\0\0\x0a\x00\x00\x02")
_UDP = (b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00" + struct.pack(
    "!BBHHHBBH4s4s", 0x45, 0, 33, 0, 0, 64, 17, 0, b"\x0a\0\0\x01", b"\x0a\0\0\x02")
    + struct.pack("!HHHH", 5353, 5353, 13, 0) + b"hello")
_FLAGS = (0x02, 0x12, 0x10, 0x18, 0x18, 0x10, 0x11, 0x19, 0x04, 0x14, 0x01, 0x00, 0x03, 0x06,
          0x12, 0x02, 0x05, 0x38, 0x10, 0x18)
# calm files (odd seeds): mostly data and ACKs, so conversations get far
_CALM_FLAGS = (0x10, 0x18) * 8 + (0x11, 0x19, 0x02, 0x12, 0x04, 0x14)
_WORDS = (b"hello\n", b"VOTE A\n", b"RESULTS\n", b"Echo: hello\n", b"VOTED A=1 B=0 C=0\n",
          b"ERROR unknown option\n", b"partial", b"li", b"ne\n", b"a\r\nb\n", b"\xff\xfe\n", b"x")


def fuzz_frames(seed: int, n: int) -> list[tuple[int, bytes, int]]:
    """n random frames: (ts_ns, captured bytes, wire length)."""
    rng = random.Random(seed)
    ends = [((b"\x0a\0\0" + bytes([1 + k % 3])), 40000 + k % 4) for k in range(5)] + [
        (b"\x0a\0\0\x09", 80), (b"\x0a\0\0\x08", 5000)]
    v6ends = [(bytes(15) + b"\x01", 40001), (b"\x20\x01\x0d\xb8" + bytes(11) + b"\x02", 2222)]
    next_seq: dict[tuple, int] = {}
    ts = 1_700_000_000 * 10**9
    frames = []
    for _ in range(n):
        ts += rng.choice((1, 1000, 50_000, 2_000_000, 15_000_000, 300_000_000))
        r = rng.random()
        if r < 0.02:
            frames.append((ts, _ARP, len(_ARP)))
            continue
        if r < 0.03:
            frames.append((ts, _UDP, len(_UDP)))
            continue
        v6 = r < 0.08
        pool = v6ends if v6 else ends
        a, b = rng.sample(range(len(pool)), 2) if len(pool) > 2 and rng.random() < 0.3 else (0, 1) \
            if rng.random() < 0.5 else (1, 0)
        (sip, sport), (dip, dport) = pool[a], pool[b]
        if rng.random() < 0.05:
            sport = rng.choice((40000, 40001, 2222, 80, 5000))
        key, back = (sip, sport, dip, dport), (dip, dport, sip, sport)
        flags = rng.choice(_CALM_FLAGS if seed % 2 else _FLAGS)
        if key not in next_seq or (flags & 0x02 and rng.random() < 0.3):
            next_seq[key] = rng.choice((rng.getrandbits(32), 0xFFFFFFF0, 0, 1000))
        seq = next_seq[key]
        jump = rng.random()
        if jump < 0.08:
            seq -= rng.choice((1, 5, 100, 2**20))
        elif jump < 0.14:
            seq += rng.choice((1, 7, 1000, 2**31))
        ack = next_seq.get(back, rng.getrandbits(32))
        if rng.random() < 0.1:
            ack += rng.choice((-3, 1, 500, 2**30))
        payload = b"" if flags & 0x04 or rng.random() < 0.45 else rng.choice(_WORDS)
        if rng.random() < 0.05:
            payload = b"Z" * rng.choice((1, 1, 3, 70, 1400))
        window = rng.choice((0, 0, 1, 502, 8192, 8192, 65535, 64240))
        frame = _tcp_frame(rng, sip, dip, sport, dport, seq, ack, flags, window, payload, v6=v6,
                           bad_checksum=rng.random() < 0.03)
        if seq == next_seq[key] or rng.random() < 0.5:
            next_seq[key] = (seq + len(payload) + (1 if flags & 0x03 else 0)) & 0xFFFFFFFF
        cut = len(frame)
        if rng.random() < 0.04:
            cut = rng.choice((40, 54, 60, len(frame) - 1))
            cut = max(14, min(cut, len(frame)))
        frames.append((ts, frame[:cut], len(frame)))
    return frames


def fuzz_pcap(path: Path, seed: int, n: int = 3000) -> Path:
    path.write_bytes(pcap_bytes(fuzz_frames(seed, n), snaplen=65535))
    return path


def crafted_tcp_pcap(path: Path) -> Path:
    """Every crafted TCP-analysis case (tests/analysis/support/tcp_cases.py) in one pcap."""
    from tests.analysis.support.crafted import TcpConversation, write_conversations
    from tests.analysis.support.tcp_cases import CRAFTED

    convs = []
    for index, case in enumerate(sorted(CRAFTED)):
        conv = TcpConversation(client=("10.0.0.1", 40000 + index))
        CRAFTED[case](conv)
        convs.append(conv)
    write_conversations(path, convs)
    return path


def replicated_pcap(path: Path, packets: int = 20_000) -> Path:
    """The lossy lab capture replicated with shifted ports and times (as make bench does)."""
    from bench.inputs import replicate

    replicate(REPO / "notebooks" / "data" / "lossy.pcap", path, packets)
    return path


def conformance_pcaps() -> list[Path]:
    pcaps = CONFORMANCE_DIR / "pcaps"
    return sorted(p for p in pcaps.iterdir() if p.is_file()) if pcaps.is_dir() else []


def made_pcaps(tmp: Path) -> list[Path]:
    """The encapsulated sessions, the undecoded layers and the not-lab sessions of
    tests/analysis/support/encap_captures.py (both engines must agree on them too)."""
    from tests.analysis.support.encap_captures import encap_pcap, turns_pcap, undecoded_pcap

    paths = [encap_pcap(tmp / f"encap_{kind}.pcap", kind) for kind in ENCAPSULATIONS]
    return paths + [undecoded_pcap(tmp / "undecoded.pcap"), turns_pcap(tmp / "turns.pcap")]


MADE_NAMES = [f"encap_{kind}.pcap" for kind in ENCAPSULATIONS] + ["undecoded.pcap", "turns.pcap"]


def corpus_paths(tmp: Path, fuzz_seeds: range = range(8)) -> list[Path]:
    tmp.mkdir(parents=True, exist_ok=True)
    paths = conformance_pcaps() + NOTEBOOK_PCAPS
    paths.append(crafted_tcp_pcap(tmp / "crafted_tcp.pcap"))
    paths.append(replicated_pcap(tmp / "replicated.pcap"))
    paths += [fuzz_pcap(tmp / f"fuzz{seed}.pcap", seed) for seed in fuzz_seeds]
    return paths + made_pcaps(tmp)
