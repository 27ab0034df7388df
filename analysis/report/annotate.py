"""Carry the analysis back into Wireshark: the capture as pcapng, every frame commented.

    from analysis.report.annotate import annotate
    annotate(result, "reqresp-annotated.pcapng")    # -> Annotated(path, frames, section_comment)

Each frame's packet comment (pcapng opt_comment, Wireshark's `frame.comment`) holds its phase,
label and their explanations (analysis/vocabulary.py), its direction and Wireshark analysis
flags, e.g. `reqresp: phase=handshake label=syn conn=0 | TCP three-way handshake: ... | SYN:
...`. The section comment (Statistics > Capture File Properties) holds the summary: the
connections with their conn_state, who closed first, and the request/response exchanges.
A comment the input already had stays, ours is added after it.

Only the words of a frame's own phase and label appear in its comment, so in Wireshark
`frame.comment contains "handshake"` selects the handshake and `frame.comment contains
"phase=data"` the data phase.

The file is written beside `out` under a hidden temporary name and renamed to `out` only when
it is whole, so a failure never leaves half a file (and never touches an earlier `out`).
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import NamedTuple

from analysis import vocabulary
from analysis.errors import AnalysisError
from analysis.model import LabeledFrame
from analysis.report.pcapng_out import rewrite


class Annotated(NamedTuple):
    path: Path                  # the pcapng written
    frames: int                 # frames written, each with its comment
    section_comment: str


def frame_comment(frame: LabeledFrame) -> str:
    """The packet comment of one frame."""
    head = [f"reqresp: phase={frame.phase}", f"label={frame.label}"]
    if frame.conn is not None:
        head.append(f"conn={frame.conn}")
    if frame.direction:
        head.append(f"direction={frame.direction}")
    parts = [" ".join(head), vocabulary.PHASES[frame.phase], vocabulary.LABELS[frame.label]]
    if frame.analysis:
        parts.append("tcp.analysis: " + ", ".join(frame.analysis))
    return " | ".join(parts)


def section_comment(result) -> str:
    """The capture's summary, one line per fact (Wireshark shows the section comment as is)."""
    name = Path(result.path).name
    lines = [f"reqresp-lab analysis of {name}: {result.frame_count} frames, "
             f"{len(result.connections)} TCP connection(s), "
             f"{len(result.exchanges)} request/response exchange(s)"]
    per_conn: dict[int, int] = {}
    for exchange in result.exchanges:
        per_conn[exchange.conn] = per_conn.get(exchange.conn, 0) + 1
    for conn in result.connections:
        closer = {"orig": f"the client ({conn.orig}) closed first",
                  "resp": f"the server ({conn.resp}) closed first"}.get(conn.closed_by, "nobody closed")
        lines.append(
            f"conn {conn.id} {conn.orig} -> {conn.resp}: conn_state {conn.conn_state} "
            f"({vocabulary.CONN_STATES[conn.conn_state]}), history {conn.history}, {closer}, "
            f"{per_conn.get(conn.id, 0)} exchange(s), {conn.orig_pkts + conn.resp_pkts} frames")
    if result.votes:
        lines.append("votes: " + " ".join(f"{k}={v}" for k, v in result.votes.items()))
    for warning in result.warnings:
        lines.append(f"warning: {warning.message}")
    return "\n".join(lines)


def annotate(result, out) -> Annotated:
    """Write `result.path` to `out` as pcapng with our comments (atomic: temp file, then rename)."""
    out = Path(out)
    source = os.fspath(result.path)
    if out.is_dir():
        raise AnalysisError("is a folder, not a file name", path=str(out),
                            hint="give the pcapng file to write, e.g. annotated.pcapng")
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise AnalysisError("cannot write: its folder does not exist", path=str(out),
                            hint="create the folder first or pick another path")
    comments = {f.number: frame_comment(f) for f in result.frames}
    summary = section_comment(result)
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=folder)
    except OSError as error:
        raise AnalysisError(f"cannot write: {error.strerror}", path=str(out),
                            hint="check the folder's permissions or pick another path") from None
    try:
        with os.fdopen(fd, "w+b") as handle:
            frames = rewrite(source, handle, lambda n: comments.get(n, "reqresp: not analysed"),
                             summary)
            handle.flush()
            os.fsync(handle.fileno())
        if frames != len(result.frames):
            raise AnalysisError(f"wrote {frames} frames but the analysis has {len(result.frames)}",
                                path=source, hint="the file changed while it was read; run again")
        os.chmod(temp, 0o666 & ~_umask())
        os.replace(temp, out)
    except OSError as error:
        _remove(temp)
        raise AnalysisError(f"cannot write: {error.strerror or error}", path=str(out),
                            hint="check the disk space and permissions") from None
    except BaseException:
        _remove(temp)
        raise
    return Annotated(out, frames, summary)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
