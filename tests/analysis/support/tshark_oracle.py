"""The real tshark as an oracle for our TCP analysis: run it on a pcap, read its per-frame fields,
and compare them with what `analysis.tcp.analysis.TcpAnalyzer` says about the same frames.

    frames = tshark_tcp_fields("trace.pcap")          # {frame number: TsharkTcp} (TCP frames only)
    problems = tcp_disagreements("trace.pcap")        # [] when we agree with tshark on every frame

tshark runs in ONE pass (no -2), with the defaults the conformance truth was made with (sequence
analysis and relative sequence numbers on).  The lead reuses `tcp_disagreements` on fresh lab
captures; the tests use it on every conformance capture and every crafted capture.
"""
from __future__ import annotations

import csv
import os
import shutil
import subprocess
from pathlib import Path
from typing import NamedTuple

from analysis.vocabulary import ANALYSIS_FIELDS, ANALYSIS_FLAGS

TSHARK = shutil.which("tshark")

# tshark field -> our TsharkTcp attribute (the analysis flags come from ANALYSIS_FIELDS)
_VALUE_FIELDS = (
    "frame.number", "tcp.stream", "tcp.seq", "tcp.ack", "tcp.nxtseq", "tcp.len",
    "tcp.window_size", "tcp.window_size_scalefactor", "tcp.analysis.initial_rtt",
    "tcp.analysis.flags",
)
FIELDS = _VALUE_FIELDS + tuple(ANALYSIS_FIELDS.values())


class TsharkTcp(NamedTuple):
    """What tshark says about the (first) TCP header of one frame."""

    number: int
    stream: int
    seq: int | None
    ack: int | None               # None when the ACK flag is off (tshark prints no tcp.ack)
    nxtseq: int | None
    seglen: int | None
    window: int | None            # tcp.window_size (scaled where the scale is known)
    scalefactor: int | None       # tcp.window_size_scalefactor: -1 unknown, -2 no scaling, else 2**shift
    initial_rtt_ns: int | None    # tcp.analysis.initial_rtt, on the frames tshark shows it
    any_flag: bool                # tcp.analysis.flags
    analysis: tuple[str, ...]     # vocabulary.ANALYSIS_FLAGS names present, in vocabulary order


class Disagreement(NamedTuple):
    frame: int
    field: str                    # "stream", "seq", ..., or an analysis flag name
    ours: object
    tshark: object


def tshark_available() -> bool:
    return TSHARK is not None


def _first(text: str) -> str:
    # several TCP headers in one frame (an ICMP error quoting one) are joined with ';': keep the first
    return text.split(";", 1)[0]


def _int(text: str) -> int | None:
    text = _first(text)
    return int(text) if text else None


def _seconds_to_ns(text: str) -> int | None:
    text = _first(text)
    if not text:
        return None
    whole, _, frac = text.partition(".")
    return int(whole) * 1_000_000_000 + int((frac + "000000000")[:9])


def run_tshark(pcap: str | os.PathLike, fields: tuple[str, ...] = FIELDS) -> list[dict[str, str]]:
    """`tshark -T fields` (one pass) on `pcap`: one dict per frame, field name -> text ('' if absent)."""
    if TSHARK is None:
        raise RuntimeError("tshark is not installed")
    args = [TSHARK, "-n", "-r", str(pcap), "-o", "tcp.analyze_sequence_numbers:TRUE",
            "-o", "tcp.relative_sequence_numbers:TRUE",
            "-T", "fields", "-E", "header=y", "-E", "separator=\t", "-E", "occurrence=a",
            "-E", "aggregator=;"]
    for name in fields:
        args += ["-e", name]
    done = subprocess.run(args, capture_output=True, text=True, check=False,
                          env={**os.environ, "LC_ALL": "C"})
    if done.returncode != 0:
        raise RuntimeError(f"tshark failed on {pcap}: {done.stderr.strip()}")
    lines = done.stdout.splitlines()
    return list(csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE))


def tshark_tcp_fields(pcap: str | os.PathLike) -> dict[int, TsharkTcp]:
    """tshark's view of every TCP frame of `pcap`, by frame number."""
    out: dict[int, TsharkTcp] = {}
    for row in run_tshark(pcap):
        stream = _int(row["tcp.stream"])
        if stream is None:
            continue
        names = tuple(name for name, field in ANALYSIS_FIELDS.items() if row[field])
        out[int(row["frame.number"])] = TsharkTcp(
            number=int(row["frame.number"]), stream=stream, seq=_int(row["tcp.seq"]),
            ack=_int(row["tcp.ack"]), nxtseq=_int(row["tcp.nxtseq"]), seglen=_int(row["tcp.len"]),
            window=_int(row["tcp.window_size"]),
            scalefactor=_int(row["tcp.window_size_scalefactor"]),
            initial_rtt_ns=_seconds_to_ns(row["tcp.analysis.initial_rtt"]),
            any_flag=bool(row["tcp.analysis.flags"]), analysis=names)
    return out


def tshark_tcp_fields_many(pcaps, workers: int = 4) -> dict:
    """tshark_tcp_fields for several captures at once (tshark's start-up dominates small files)."""
    from concurrent.futures import ThreadPoolExecutor

    pcaps = list(pcaps)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return dict(zip(pcaps, pool.map(tshark_tcp_fields, pcaps)))


def our_tcp_infos(pcap: str | os.PathLike):
    """(frame number -> TcpInfo, the analyzer) from our reader, decoder and TcpAnalyzer."""
    from analysis.decode.frame import decode_frame
    from analysis.read.reader import iter_records
    from analysis.tcp.analysis import TcpAnalyzer

    analyzer = TcpAnalyzer()
    infos = {}
    for record in iter_records(pcap):
        info = analyzer.process(decode_frame(record))
        if info is not None:
            infos[record.number] = info
    return infos, analyzer


def tcp_disagreements(pcap: str | os.PathLike, *, values: bool = True,
                      theirs: dict[int, TsharkTcp] | None = None) -> list[Disagreement]:
    """Every frame-level difference between our TCP analysis and tshark's on `pcap`.

    Compared per TCP frame: which frames are TCP, tcp.stream, every tcp.analysis.* flag of
    vocabulary.ANALYSIS_FLAGS, tcp.analysis.flags (set iff we report any flag) and
    tcp.analysis.initial_rtt (on exactly the frames tshark shows it); with `values`, also the
    relative seq / ack / nxtseq, the calculated window size and its scale factor.  `theirs`:
    tshark_tcp_fields(pcap) if already at hand.
    """
    if theirs is None:
        theirs = tshark_tcp_fields(pcap)
    ours, _ = our_tcp_infos(pcap)
    problems: list[Disagreement] = []
    for number in sorted(set(theirs) | set(ours)):
        t, o = theirs.get(number), ours.get(number)
        if t is None or o is None:
            problems.append(Disagreement(number, "is-tcp", o is not None, t is not None))
            continue
        if o.stream != t.stream:
            problems.append(Disagreement(number, "stream", o.stream, t.stream))
        for name in ANALYSIS_FLAGS:
            if (name in o.analysis) != (name in t.analysis):
                problems.append(Disagreement(number, name, name in o.analysis, name in t.analysis))
        if bool(o.analysis) != t.any_flag:
            problems.append(Disagreement(number, "flags", bool(o.analysis), t.any_flag))
        if o.irtt_ns != t.initial_rtt_ns:
            problems.append(Disagreement(number, "initial_rtt", o.irtt_ns, t.initial_rtt_ns))
        if values:
            pairs = (("seq", o.seq_rel, t.seq), ("nxtseq", o.next_seq_rel, t.nxtseq),
                     ("window", o.window, t.window), ("scalefactor", o.scalefactor, t.scalefactor))
            for field, mine, real in pairs:
                if real is not None and mine != real:
                    problems.append(Disagreement(number, field, mine, real))
            if t.ack is not None and o.ack_rel != t.ack:
                problems.append(Disagreement(number, "ack", o.ack_rel, t.ack))
    return problems


def default_tshark_path() -> Path | None:
    return Path(TSHARK) if TSHARK else None
