"""Compile the columnar engine's kernels once, ahead of the first real capture.

numba compiles a kernel the first time it is called (about a minute for all of them on 2 cores)
and caches it on disk (cache=True). `make venv` runs `python -m analysis.columnar.warmup`, so
`make capture` / `make test` / `make analyze` pay it once at set-up, with a line saying so, and no
analysis has it inside its own time. The warm-up scans a small synthetic capture that takes every
stage down its ordinary paths: ARP, a lab TCP session (handshake, echo, votes, RESULTS, FIN from
both sides), a reset connection, IPv6, UDP and ICMP, on Ethernet.

`compiled()` says whether the kernels of the current sources were compiled (the marker is written
after a warm-up and dropped with the caches when a source changes, see kernel_cache).
"""
from __future__ import annotations

import struct
import sys
import tempfile
import time
from pathlib import Path

from analysis.columnar import kernel_cache
from analysis.progress import ProgressHook, compile_progress

MARKER = kernel_cache.CACHE_DIR / "warmup.done"
_CLIENT_MAC, _SERVER_MAC = bytes.fromhex("02420a000001"), bytes.fromhex("02420a000002")
_CLIENT_IP, _SERVER_IP = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])


def internet_checksum(data: bytes) -> int:
    """RFC 1071: the ones'-complement sum of 16-bit words (IPv4 header, TCP with its pseudo-header)."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _eth(src: bytes, dst: bytes, ethertype: int, payload: bytes) -> bytes:
    return dst + src + struct.pack("!H", ethertype) + payload


def _ipv4(src: bytes, dst: bytes, proto: int, payload: bytes) -> bytes:
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0x4000, 64, proto, 0, src, dst)
    return header[:10] + struct.pack("!H", internet_checksum(header)) + header[12:] + payload


def _tcp(src: bytes, dst: bytes, sport: int, dport: int, seq: int, ack: int, flags: int,
         data: bytes = b"", options: bytes = b"") -> bytes:
    offset = (20 + len(options)) // 4
    header = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, offset << 4, flags, 64240, 0, 0) + options
    pseudo = src + dst + struct.pack("!BBH", 0, 6, len(header) + len(data))
    csum = internet_checksum(pseudo + header + data)
    return header[:16] + struct.pack("!H", csum) + header[18:] + data


def _session_frames() -> list[bytes]:
    """ARP, then a lab session and a reset connection, as Ethernet frames."""
    arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + _CLIENT_MAC + _CLIENT_IP + b"\0" * 6 + _SERVER_IP
    arp_reply = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 2) + _SERVER_MAC + _SERVER_IP + _CLIENT_MAC + _CLIENT_IP
    frames = [_eth(_CLIENT_MAC, b"\xff" * 6, 0x0806, arp), _eth(_SERVER_MAC, _CLIENT_MAC, 0x0806, arp_reply)]

    def seg(from_client: bool, sport: int, seq: int, ack: int, flags: int, data: bytes = b"",
            options: bytes = b"") -> None:
        src, dst = (_CLIENT_IP, _SERVER_IP) if from_client else (_SERVER_IP, _CLIENT_IP)
        smac, dmac = (_CLIENT_MAC, _SERVER_MAC) if from_client else (_SERVER_MAC, _CLIENT_MAC)
        ports = (sport, 2222) if from_client else (2222, sport)
        frames.append(_eth(smac, dmac, 0x0800, _ipv4(src, dst, 6, _tcp(src, dst, *ports, seq, ack, flags,
                                                                        data, options))))

    mss = b"\x02\x04\x05\xb4\x04\x02\x08\x0a\x00\x00\x00\x01\x00\x00\x00\x00\x01\x03\x03\x07"
    c, s = 1000, 5000
    seg(True, 40000, c, 0, 0x02, options=mss)
    seg(False, 40000, s, c + 1, 0x12, options=mss)
    c, s = c + 1, s + 1
    seg(True, 40000, c, s, 0x10)
    for request, reply in ((b"Hello Server\n", b"Echo: Hello Server\n"),
                           (b"VOTE A id=w1\n", b"VOTED A A=1 B=0 C=0\n"),
                           (b"RESULTS\n", b"RESULTS A=1 B=0 C=0\n")):
        seg(True, 40000, c, s, 0x18, request)
        c += len(request)
        seg(False, 40000, s, c, 0x18, reply)
        s += len(reply)
        seg(True, 40000, c, s, 0x10)
    seg(True, 40000, c, s, 0x11)
    seg(False, 40000, s, c + 1, 0x11)
    seg(True, 40000, c + 1, s + 1, 0x10)
    seg(True, 40001, 7000, 0, 0x02)
    seg(False, 40001, 0, 7001, 0x14)
    udp = struct.pack("!HHHH", 5353, 5353, 12, 0) + b"warm"
    frames.append(_eth(_CLIENT_MAC, _SERVER_MAC, 0x0800, _ipv4(_CLIENT_IP, _SERVER_IP, 17, udp)))
    icmp = struct.pack("!BBHHH", 8, 0, 0, 1, 1)
    frames.append(_eth(_CLIENT_MAC, _SERVER_MAC, 0x0800, _ipv4(_CLIENT_IP, _SERVER_IP, 1, icmp)))
    v6 = bytes(15) + b"\x01"
    # a SYN with a damaged checksum (0x0bad: not the offload pattern, which would be trusted)
    tcp6 = struct.pack("!HHIIBBHHH", 40002, 2222, 1, 0, 5 << 4, 0x02, 64240, 0x0BAD, 0)
    frames.append(_eth(_CLIENT_MAC, _SERVER_MAC, 0x86DD,
                       struct.pack("!IHBB", 6 << 28, len(tcp6), 6, 64) + v6 + v6 + tcp6))
    return frames


def write_warmup_capture(path: Path) -> Path:
    """The synthetic capture as a classic pcap (Ethernet, microseconds)."""
    with open(path, "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for n, frame in enumerate(_session_frames()):
            out.write(struct.pack("<IIII", 1_700_000_000, n * 1000, len(frame), len(frame)) + frame)
    return path


def write_warmup_pcapng(path: Path) -> Path:
    """The synthetic capture as pcapng (one Ethernet interface, microseconds)."""
    def block(btype: int, body: bytes) -> bytes:
        return struct.pack("<II", btype, 12 + len(body)) + body + struct.pack("<I", 12 + len(body))

    with open(path, "wb") as out:
        out.write(block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)))
        out.write(block(1, struct.pack("<HHI", 1, 0, 65535)))
        for n, frame in enumerate(_session_frames()):
            ticks = 1_700_000_000_000_000 + n * 1000
            pad = b"\0" * (-len(frame) % 4)
            out.write(block(6, struct.pack("<IIIII", 0, ticks >> 32, ticks & 0xFFFFFFFF, len(frame),
                                           len(frame)) + frame + pad))
    return path


def compiled() -> bool:
    """True if a warm-up ran on the current sources (so no analysis will stop to compile)."""
    kernel_cache.drop_stale_kernel_caches()
    return MARKER.is_file()


def _grow_stream_table() -> None:
    """The TCP stage's stream table doubles when a capture has more connections than it holds
    (1,024 at first): a table of two slots doubled, with the arrays TcpStage passes, so the first
    capture of many connections does not stop to compile rehash."""
    import numpy as np

    from analysis.columnar import stream_table

    stream_table.doubled_table(stream_table.new_table(2), np.zeros((1, stream_table.KEY_WORDS), np.uint64))


def warm_up(progress: ProgressHook | None = None) -> float:
    """Scan the synthetic capture with every stage (compiling what is not cached); the seconds taken.
    `progress` (analysis.progress): told each time a kernel's compile ends (task "compile")."""
    from analysis.columnar.engine import Scan

    started = time.perf_counter()
    with compile_progress(progress), tempfile.TemporaryDirectory(prefix="reqresp-warmup-") as tmp:
        path = write_warmup_capture(Path(tmp) / "warmup.pcap")
        for verify in (True, False):
            scan = Scan(path, verify_checksums=verify)
            for _ in scan.batches():
                pass
            scan.summary().exchanges()
        # pcapng has its own index kernel (the stages after it are the ones just compiled)
        from analysis.columnar.read.chunks import ChunkReader
        for _ in ChunkReader(write_warmup_pcapng(Path(tmp) / "warmup.pcapng")).chunks():
            pass
        _grow_stream_table()
    try:
        MARKER.write_text("compiled\n")
    except OSError:  # read-only install: numba cannot cache there either
        pass
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    """`python -m analysis.columnar.warmup`: compile the kernels once, with one line before and after
    (in the locale's language: `make venv` compiles the catalogs first)."""
    del argv
    from analysis import i18n
    from analysis.errors import AnalysisError

    try:
        t = i18n.translation(i18n.resolve_lang(None))
    except AnalysisError:   # an unknown locale or an uncompiled catalog: the lines as written
        t = i18n.translation(i18n.DEFAULT)
    if compiled():
        print(t.gettext("analyzer kernels: already compiled"), file=sys.stderr)
        return 0
    from analysis.cli_progress import progress_bar

    print(t.gettext("compiling the analyzer's kernels (once; about a minute on 2 cores) ..."), file=sys.stderr,
          flush=True)
    with progress_bar(t) as progress:   # on a terminal only
        seconds = warm_up(progress)
    print(t.gettext("compiled the analyzer's kernels in {seconds} s").format(seconds=f"{seconds:.0f}"),
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
