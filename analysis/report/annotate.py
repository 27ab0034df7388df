"""Carry the analysis back into Wireshark: the capture as pcapng, every frame commented.

    from analysis.report.annotate import annotate
    annotate(result, "reqresp-annotated.pcapng")    # -> Annotated(path, frames, section_comment)

Each frame's packet comment (pcapng opt_comment, Wireshark's `frame.comment`) holds its phase,
label and their explanations (analysis/vocabulary.py), its direction and Wireshark analysis
flags, e.g. `reqresp: phase=handshake label=syn conn=0 | TCP three-way handshake: ... | SYN:
...`. The section comment (Statistics > Capture File Properties) holds the summary: the
connections with their conn_state, who closed first, and the request/response exchanges.
A comment the input already had stays, ours is added after it.

The comments are in the language asked for (`lang`, as the reports): the explanations and the
summary's sentences are translated, the `reqresp: phase=... label=...` head, the phase and label
names, conn_state, history and tcp.analysis flags are the vocabulary's in every language. Only the
words of a frame's own phase and label appear in its comment, so in Wireshark `frame.comment
contains "handshake"` selects the handshake and `frame.comment contains "phase=data"` the data
phase, whichever the language.

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
from analysis.i18n import DEFAULT, N_, translation
from analysis.model import LabeledFrame
from analysis.report.pcapng_out import rewrite
from analysis.report.text import english, headline


class Annotated(NamedTuple):
    path: Path                  # the pcapng written
    frames: int                 # frames written, each with its comment
    section_comment: str


def frame_comment(frame: LabeledFrame, t=None) -> str:
    """The packet comment of one frame, its explanations in the language of `t` (None: English)."""
    t = english(t)
    head = [f"reqresp: phase={frame.phase}", f"label={frame.label}"]
    if frame.conn is not None:
        head.append(f"conn={frame.conn}")
    if frame.direction:
        head.append(f"direction={frame.direction}")
    parts = [" ".join(head), t.gettext(vocabulary.PHASES[frame.phase]),
             t.gettext(vocabulary.LABELS[frame.label])]
    if frame.analysis:
        parts.append("tcp.analysis: " + ", ".join(frame.analysis))
    return " | ".join(parts)


_CLOSER = {"orig": N_("the client ({address}) closed first"),
           "resp": N_("the server ({address}) closed first")}


def section_comment(result, t=None) -> str:
    """The capture's summary, one line per fact (Wireshark shows the section comment as is), in
    the language of `t` (None: English)."""
    t = english(t)
    lines = [t.gettext("reqresp-lab analysis of {name}: {counts}").format(
        name=Path(result.path).name, counts=headline(result, t))]
    per_conn: dict[int, int] = {}
    for exchange in result.exchanges:
        per_conn[exchange.conn] = per_conn.get(exchange.conn, 0) + 1
    for conn in result.connections:
        if conn.closed_by in _CLOSER:
            closer = t.gettext(_CLOSER[conn.closed_by]).format(
                address=conn.orig if conn.closed_by == "orig" else conn.resp)
        else:
            closer = t.gettext("nobody closed")
        exchanges = per_conn.get(conn.id, 0)
        frames = conn.orig_pkts + conn.resp_pkts
        lines.append(t.gettext("conn {conn} {orig} -> {resp}: conn_state {conn_state} ({meaning}), "
                               "history {history}, {closer}, {exchanges}, {frames}").format(
            conn=conn.id, orig=conn.orig, resp=conn.resp, conn_state=conn.conn_state,
            meaning=t.gettext(vocabulary.CONN_STATES[conn.conn_state]), history=conn.history,
            closer=closer,
            exchanges=t.ngettext("{count} exchange", "{count} exchanges", exchanges).format(count=exchanges),
            frames=t.ngettext("{count} frame", "{count} frames", frames).format(count=frames)))
    if result.votes:
        lines.append(t.gettext("votes: {votes}").format(
            votes=" ".join(f"{k}={v}" for k, v in result.votes.items())))
    for warning in result.warnings:
        lines.append(t.gettext("warning: {message}").format(message=warning.text(t)))
    return "\n".join(lines)


def annotate(result, out, lang: str = DEFAULT) -> Annotated:
    """Write `result.path` to `out` as pcapng with our comments in `lang` (atomic: temp file, then
    rename)."""
    out = Path(out)
    t = translation(lang)
    source = os.fspath(result.path)
    if out.is_dir():
        raise AnalysisError(N_("is a folder, not a file name"), path=str(out),
                            hint=N_("give the pcapng file to write, e.g. annotated.pcapng"))
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise AnalysisError(N_("cannot write: its folder does not exist"), path=str(out),
                            hint=N_("create the folder first or pick another path"))
    comments = {f.number: frame_comment(f, t) for f in result.frames}
    summary = section_comment(result, t)
    unanalysed = t.gettext("reqresp: not analysed")
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=folder)
    except OSError as error:
        raise AnalysisError(N_("cannot write: {reason}"), path=str(out),
                            hint=N_("check the folder's permissions or pick another path"),
                            fields={"reason": error.strerror}) from None
    try:
        with os.fdopen(fd, "w+b") as handle:
            frames = rewrite(source, handle, lambda n: comments.get(n, unanalysed), summary)
            handle.flush()
            os.fsync(handle.fileno())
        if frames != len(result.frames):
            raise AnalysisError(N_("wrote {written} frames but the analysis has {analysed}"),
                                path=source, hint=N_("the file changed while it was read; run again"),
                                fields={"written": frames, "analysed": len(result.frames)})
        os.chmod(temp, 0o666 & ~_umask())
        os.replace(temp, out)
    except OSError as error:
        _remove(temp)
        raise AnalysisError(N_("cannot write: {reason}"), path=str(out),
                            hint=N_("check the disk space and permissions"),
                            fields={"reason": error.strerror or str(error)}) from None
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
