"""The measurements: our analyzer and the tools people would use instead, each in a child process.

Every measurement runs in its own child so its peak RSS is its own (read with os.wait4 for that
child, not RUSAGE_CHILDREN, whose maximum never goes down again between measurements).

Python peers run as `python -m bench.analyzer.peers PEER FILE [--limit N]`: the child imports its library,
then times only the loop over the file and prints one JSON line {"packets", "seconds", ...}.
For our engine's peers the import phase also loads what numba itself imports only at the first
kernel call (its typing and lowering registries, CPUContext.refresh: ~0.2-0.3 s of imports, see
_import_numba_registries); loading our kernels from numba's on-disk cache (unpickling, linking)
stays inside the timing.
tshark runs directly as the child and is timed from outside: its start-up (~0.3 s) stays inside
its time, negligible against a 2M-packet file, a few per cent of a 250k one; its field dump
goes to a file, which the agreement check reads afterwards.
"""
from __future__ import annotations

import argparse
import importlib
import json
import mmap
import os
import resource
import shutil
import struct
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

# tshark fields for both tshark peers, in this order (the agreement check reads them by position).
BASE_FIELDS = ("frame.number", "tcp.stream", "tcp.flags", "tcp.len", "tcp.seq", "tcp.ack", "tcp.nxtseq",
               "ip.src", "ipv6.src", "tcp.srcport", "ip.dst", "ipv6.dst", "tcp.dstport", "arp.opcode",
               "arp.src.proto_ipv4", "arp.dst.proto_ipv4")


def analysis_fields() -> tuple[str, ...]:
    from analysis.vocabulary import ANALYSIS_FIELDS
    return tuple(ANALYSIS_FIELDS.values())


def tshark_fields() -> tuple[str, ...]:
    return BASE_FIELDS + analysis_fields()


def tshark_argv(path: str | os.PathLike, two_pass: bool) -> list[str]:
    tshark = shutil.which("tshark") or "tshark"
    argv = [tshark, "-n", "-r", str(path), "-o", "tcp.analyze_sequence_numbers:TRUE",
            "-o", "tcp.relative_sequence_numbers:TRUE", "-T", "fields", "-E", "separator=\t",
            "-E", "occurrence=f"]
    if two_pass:
        argv.insert(1, "-2")
    for name in tshark_fields():
        argv += ["-e", name]
    return argv


@dataclass(frozen=True)
class Run:
    """One child process: how long its work took, how many packets, its peak RSS."""

    packets: int
    seconds: float
    max_rss_mb: float
    extra: dict


def run_python_peer(peer: str, path: str | os.PathLike, limit: int | None = None,
                    timeout: float = 1800) -> Run:
    argv = [sys.executable, "-m", "bench.analyzer.peers", peer, str(path)]
    if limit is not None:
        argv += ["--limit", str(limit)]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=Path(__file__).resolve().parents[2])
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise RuntimeError(f"{peer} on {path}: no result within {timeout:g} s") from None
    # communicate() has already reaped the child; its rusage is gone, so the child reports its own
    status = proc.returncode
    if status != 0:
        raise RuntimeError(f"{peer} on {path} failed ({status}): {err.decode()[-400:]}")
    result = json.loads(out.decode().strip().splitlines()[-1])
    rss_kb = result.pop("self_rss_kb") + result.pop("children_rss_kb")
    return Run(result.pop("packets"), result.pop("seconds"), rss_kb / 1024, result)


def run_tshark(path: str | os.PathLike, two_pass: bool, out: str | os.PathLike,
               timeout: float = 1800) -> Run:
    with open(out, "wb") as sink:
        t0 = time.perf_counter()
        proc = subprocess.Popen(tshark_argv(path, two_pass), stdout=sink, stderr=subprocess.PIPE,
                                env={**os.environ, "LC_ALL": "C"})
        deadline = t0 + timeout
        while True:   # reaped here with wait4 (not poll()), so its rusage is ours to read
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                proc.returncode = os.waitstatus_to_exitcode(status)
                break
            if time.perf_counter() > deadline:
                proc.kill()
                proc.wait()
                raise RuntimeError(f"tshark on {path}: no result within {timeout:g} s")
            time.sleep(0.01)
        seconds = time.perf_counter() - t0
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if proc.returncode != 0:
        raise RuntimeError(f"tshark failed on {path}: {err.strip()[-300:]}")
    return Run(count_lines(out), seconds, usage.ru_maxrss / 1024, {})


def count_lines(path: str | os.PathLike) -> int:
    n = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            n += chunk.count(b"\n")
    return n


# --- the Python peers (run inside the child) --------------------------------------------------------

def peer_ours(path: str, limit: int | None) -> tuple[int, dict]:
    """Our full analysis with the columnar engine (the Scan `--summary` runs; peer_ours_summary
    is --summary itself): every frame labelled (phase, label, tcp.analysis flags, stream,
    relative seq/ack), the connections with their Zeek states, the request/response exchanges
    and the vote totals. Like the tshark peers, it writes its per-frame results and the
    exchanges to a file as it goes (binary columns) instead of keeping them."""
    import tempfile

    from analysis.columnar.engine import Scan

    scan = Scan(path, keep_exchanges=False)
    n = 0
    with tempfile.TemporaryFile() as out:
        for batch in scan.batches():
            n += len(batch.frames.number)
            for column in (batch.frames.number, batch.tcp.stream, batch.tcp.seq_rel,
                           batch.tcp.ack_rel, batch.tcp.analysis, batch.labels.phase,
                           batch.labels.label, batch.labels.direction):
                column.tofile(out)
            for column in batch.exchanges:
                column.tofile(out)
            if limit is not None and n >= limit:
                return n, {}
        summary = scan.summary()
        written = out.tell()
    return n, {"connections": len(summary.connections.id), "exchanges": summary.exchange_count,
               "votes": summary.votes, "bytes_written": written}


def peer_ours_per_frame(path: str, limit: int | None) -> tuple[int, dict]:
    """The same analysis with the per-frame pipeline (analysis.api.iter_labeled): one Python
    object per frame, the reference the columnar engine is tested against."""
    from analysis.api import iter_labeled

    finished = []
    n = 0
    frames = iter_labeled(path, on_finish=finished.append)
    for _ in frames:
        n += 1
        if limit is not None and n >= limit:
            frames.close()
            return n, {}
    result = finished[0]
    return n, {"connections": len(result.connections), "exchanges": len(result.exchanges)}


def peer_ours_analyze(path: str, limit: int | None) -> tuple[int, dict]:
    """What users call: `analysis.analyze(path)`, then every frame iterated as a LabeledFrame
    (made from the columns chunk by chunk, not kept), as a notebook loop over result.frames."""
    from analysis import analyze

    result = analyze(path)
    n = 0
    for frame in result.frames:
        n += 1
        if limit is not None and n >= limit:
            break
    return n, {"frame_count": result.frame_count}


def peer_ours_report(path: str, limit: int | None) -> tuple[int, dict]:
    """What `make analyze FILE=...` runs: `python -m analysis FILE --out DIR` (every report
    file: analysis.json, frames.csv, report.txt/.md/.html, figures), stdout discarded."""
    import contextlib
    import io
    import tempfile

    from analysis.cli import main

    with tempfile.TemporaryDirectory() as out, contextlib.redirect_stdout(io.StringIO()), \
            contextlib.redirect_stderr(io.StringIO()):
        status = main([path, "--out", str(Path(out) / "report"), "--lang", "en"])
        if status != 0:
            raise RuntimeError(f"python -m analysis {path} --out ... exited {status}")
        frames = sum(1 for _ in open(Path(out) / "report" / "frames.csv", encoding="utf-8")) - 1
    return frames, {}


def peer_ours_summary(path: str, limit: int | None) -> tuple[int, dict]:
    """What `python -m analysis FILE --summary --json` runs, through cli.main (argument parsing,
    the Scan, the Tally, the JSON document), its stdout kept in memory; the packets are the
    document's frame_count. `limit` cannot stop the command line: it is refused."""
    import contextlib
    import io

    from analysis.cli import main

    if limit is not None:
        raise ValueError("ours-summary reads the whole file (no --limit)")
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(io.StringIO()):
        status = main([path, "--summary", "--json", "--lang", "en"])
    if status != 0:
        raise RuntimeError(f"python -m analysis {path} --summary --json exited {status}")
    document = json.loads(stdout.getvalue())
    return document["frame_count"], {"connections": document["connection_count"]}


def peer_scapy(path: str, limit: int | None) -> tuple[int, dict]:
    """scapy's streaming PcapReader, touching each packet's TCP flags."""
    from scapy.layers.inet import TCP
    from scapy.utils import PcapReader

    n = syns = 0
    with PcapReader(path) as reader:
        for pkt in reader:
            if TCP in pkt and pkt[TCP].flags & 0x02:
                syns += 1
            n += 1
            if limit is not None and n >= limit:
                break
    return n, {"syns": syns}


def _pyshark(path: str, limit: int | None, use_json: bool) -> tuple[int, dict]:
    import pyshark

    n = syns = 0
    cap = pyshark.FileCapture(path, use_json=use_json, keep_packets=False)
    try:
        for pkt in cap:
            if "TCP" in pkt and int(pkt.tcp.flags, 16) & 0x02:
                syns += 1
            n += 1
            if limit is not None and n >= limit:
                break
    finally:
        cap.close()
    return n, {"syns": syns}


def peer_pyshark(path: str, limit: int | None) -> tuple[int, dict]:
    """pyshark (tshark's PDML, parsed in Python), touching each packet's TCP flags."""
    return _pyshark(path, limit, use_json=False)


def peer_pyshark_json(path: str, limit: int | None) -> tuple[int, dict]:
    """pyshark with use_json=True (tshark's JSON output)."""
    return _pyshark(path, limit, use_json=True)


def peer_dpkt(path: str, limit: int | None) -> tuple[int, dict]:
    """dpkt with a minimal labeller: phase names from the TCP flags alone, ARP by opcode."""
    import dpkt

    counts: dict[str, int] = {}
    n = 0
    with open(path, "rb") as f:
        reader = dpkt.pcap.Reader(f)
        decode = dpkt.sll.SLL if reader.datalink() == 113 else dpkt.ethernet.Ethernet
        for _, buf in reader:
            n += 1
            net = decode(buf).data
            if isinstance(net, (dpkt.ip.IP, dpkt.ip6.IP6)) and isinstance(net.data, dpkt.tcp.TCP):
                tcp = net.data
                fl = tcp.flags
                if fl & dpkt.tcp.TH_SYN:
                    label = "syn-ack" if fl & dpkt.tcp.TH_ACK else "syn"
                elif fl & dpkt.tcp.TH_RST:
                    label = "rst"
                elif fl & dpkt.tcp.TH_FIN:
                    label = "fin"
                elif tcp.data:
                    label = "data"
                else:
                    label = "ack"
            elif isinstance(net, dpkt.arp.ARP):
                label = "arp-request" if net.op == 1 else "arp-reply"
            else:
                label = "other"
            counts[label] = counts.get(label, 0) + 1
            if limit is not None and n >= limit:
                break
    return n, {"labels": counts}


def peer_record_loop(path: str, limit: int | None) -> tuple[int, dict]:
    """The headroom: a bare Python loop over the pcap records (mmap + struct), reading each
    frame's TCP flags byte at a fixed offset - no decoding, no state."""
    n = syns = 0
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        unpack = struct.Struct("<IIII").unpack_from
        off, end = 24, len(mm)
        while off + 16 <= end:
            caplen = unpack(mm, off)[2]
            if caplen > 47 and mm[off + 16 + 47] & 0x02:   # Ethernet + 20-byte IPv4: flags at 47
                syns += 1
            off += 16 + caplen
            n += 1
            if limit is not None and n >= limit:
                break
    return n, {"syns": syns}


PYTHON_PEERS: dict[str, Callable[[str, int | None], tuple[int, dict]]] = {
    "ours": peer_ours, "ours-per-frame": peer_ours_per_frame, "ours-analyze": peer_ours_analyze,
    "ours-report": peer_ours_report, "ours-summary": peer_ours_summary, "scapy": peer_scapy, "pyshark": peer_pyshark,
    "pyshark-json": peer_pyshark_json, "dpkt": peer_dpkt, "record-loop": peer_record_loop,
}


_IMPORTS = {"ours": ("analysis.columnar.engine",), "ours-per-frame": ("analysis.api",),
            "ours-analyze": ("analysis.api", "analysis.columnar.engine", "analysis.columnar.labeled"),
            "ours-report": ("analysis.cli", "analysis.api", "analysis.columnar.engine",
                            "analysis.columnar.labeled", "analysis.report.html"),
            "ours-summary": ("analysis.cli", "analysis.columnar.engine", "analysis.columnar.tally"),
            "scapy": ("scapy.layers.inet", "scapy.utils"),
            "pyshark": ("pyshark",), "pyshark-json": ("pyshark",), "dpkt": ("dpkt",)}
# the peers that run our numba kernels (the per-frame pipeline is pure Python)
_NUMBA_PEERS = ("ours", "ours-analyze", "ours-report", "ours-summary")


def _import_numba_registries() -> None:
    """What numba imports at its first kernel call, done in the import phase: a kernel loaded
    from the cache calls CPUContext.refresh (numba/core/caching.py, load_overload), whose first
    call imports numba's typing and lowering modules (load_additional_registries: numba.cpython.*,
    numba.np.*, numba.typed.*, ...) and initialises its runtime - the same work on any capture,
    not the reading of one. Our kernels' dispatchers use this target context (the CPU target's)."""
    from numba.core.registry import cpu_target

    cpu_target.target_context.refresh()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.analyzer.peers",
                                     description="one measurement, in this process (the bench's child)")
    parser.add_argument("peer", choices=sorted(PYTHON_PEERS))
    parser.add_argument("path")
    parser.add_argument("--limit", type=int, default=None, help="stop after this many packets")
    args = parser.parse_args(argv)
    func = PYTHON_PEERS[args.peer]
    for module in _IMPORTS.get(args.peer, ()):   # import time is not part of the measurement
        importlib.import_module(module)
    if args.peer in _NUMBA_PEERS:
        _import_numba_registries()
    t0, cpu0 = time.perf_counter(), time.process_time()
    packets, extra = func(args.path, args.limit)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    # CPU seconds beside wall seconds: ours reads ahead on a second thread (more CPU than wall)
    print(json.dumps({"packets": packets, "seconds": seconds, "cpu_seconds": cpu, **extra,
                      "self_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                      "children_rss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
