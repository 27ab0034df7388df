"""Dissect the frames of a capture file, with the connection context the analyzer knows.

    from analysis.dissect import dissect_capture, dissect_frame
    for d in dissect_capture("reqresp.pcap"):       # one Dissection per frame, in order
        print(d.number, [f.name for f in d.fields()])
    d = dissect_frame("reqresp.pcap", 3)             # frame 3 only
"""
from __future__ import annotations

import os
from collections.abc import Iterator

from analysis.dissect.core import dissect
from analysis.dissect.fields import Dissection
from analysis.dissect.transport import TcpContext
from analysis.errors import UsageError
from analysis.i18n import N_


def tcp_contexts(frames) -> dict[int, TcpContext]:
    """frame number -> TcpContext, from the analyzer's LabeledFrames (relative seq/ack, stream,
    the scaled window), for the frames that have a TCP connection."""
    out = {}
    for f in frames:
        if f.conn is not None and f.seq is not None:
            out[f.number] = TcpContext(f.conn, f.seq, f.ack, f.window)
    return out


def dissect_capture(path: str | os.PathLike, *, frames=None) -> Iterator[Dissection]:
    """Every frame of the capture at `path`, dissected.  `frames`: the analyzer's LabeledFrames
    for it (analyze(path).frames) when at hand, else the capture is analysed first."""
    from analysis.read.reader import iter_records

    if frames is None:
        from analysis.api import analyze
        frames = analyze(path).frames
    contexts = tcp_contexts(frames)
    for rec in iter_records(path):
        yield dissect(rec.data, rec.linktype, number=rec.number, wirelen=rec.wirelen,
                      ts_ns=rec.ts_ns, tcp_context=contexts.get(rec.number))


def dissect_frame(path: str | os.PathLike, number: int, *, frames=None) -> Dissection:
    """One frame of the capture, by its number (1-based, as Wireshark counts)."""
    for d in dissect_capture(path, frames=frames):
        if d.number == number:
            return d
    raise UsageError(N_("there is no frame {number}"), path=str(path),
                     hint=N_("frame numbers start at 1; see the frame list for how many there are"),
                     fields={"number": number})
