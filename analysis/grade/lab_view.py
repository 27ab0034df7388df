"""What the checks read off one capture, derived from the analyzer's public records only.

`LabView.of(analysis, port)` groups the labelled frames by connection and picks the lab's
connections (those whose responder port is the rubric's port; if there is none, every TCP
connection, so a check can still say what happened instead of only "nothing on port 2222").
Everything here comes from `Analysis.frames` / `.connections` / `.exchanges` and the names of
`analysis.vocabulary`: no stage internals.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

from analysis.api import Analysis
from analysis.model import FIN, Connection, Exchange, LabeledFrame

_COUNTS = re.compile(r"\b([A-Za-z0-9_]+)=(\d+)\b")
_VOTE = re.compile(r"^\s*vote\s+(\S+)", re.IGNORECASE)


class ConnView(NamedTuple):
    """One TCP connection: its summary, its frames in order, its exchanges."""

    conn: Connection
    frames: tuple[LabeledFrame, ...]
    exchanges: tuple[Exchange, ...]

    def from_client(self, frame: LabeledFrame) -> bool:
        """Sent by the originator (the side that sent the SYN: the student's client)."""
        return (frame.src, frame.sport) == (self.conn.orig_ip, self.conn.orig_port)

    def first(self, label: str, *, client: bool | None = None) -> LabeledFrame | None:
        for frame in self.frames:
            if frame.label == label and (client is None or self.from_client(frame) == client):
                return frame
        return None

    def fins(self) -> list[LabeledFrame]:
        """Frames with the FIN bit, retransmitted copies left out (a FIN counts once per side)."""
        seen: set[bool] = set()
        fins = []
        for frame in self.frames:
            if frame.tcp_flags & FIN:
                side = self.from_client(frame)
                if side not in seen:
                    seen.add(side)
                    fins.append(frame)
        return fins


@dataclass(frozen=True)
class LabView:
    analysis: Analysis
    port: int
    conns: tuple[ConnView, ...]          # the lab's connections (see the module docstring)
    on_port: bool                        # True when they are on the rubric's port

    @classmethod
    def of(cls, analysis: Analysis, port: int) -> "LabView":
        by_conn: dict[int, list[LabeledFrame]] = {}
        for frame in analysis.frames:
            if frame.conn is not None:
                by_conn.setdefault(frame.conn, []).append(frame)
        views = [ConnView(c, tuple(by_conn.get(c.id, ())),
                          tuple(analysis.exchanges_of(c.id)))
                 for c in analysis.connections]
        lab = [v for v in views if v.conn.resp_port == port]
        return cls(analysis, port, tuple(lab or views), bool(lab))

    def exchanges(self) -> list[Exchange]:
        """The lab connections' exchanges in the order their requests started."""
        return sorted((e for v in self.conns for e in v.exchanges),
                      key=lambda e: (e.request_frame, e.conn))

    def frames(self) -> list[LabeledFrame]:
        return sorted((f for v in self.conns for f in v.frames), key=lambda f: f.number)


def vote_option(request: str) -> str | None:
    """'VOTE a id=k1' -> 'A' (the server is case-insensitive); None if not a vote."""
    match = _VOTE.match(request)
    return match.group(1).upper() if match else None


def is_results(request: str) -> bool:
    return request.strip().upper() == "RESULTS"


def counts(reply: str) -> dict[str, int]:
    """'VOTED A A=2 B=1 C=0' -> {'A': 2, 'B': 1, 'C': 0} (in the reply's order)."""
    return {name.upper(): int(value) for name, value in _COUNTS.findall(reply)}


def counts_text(values: dict[str, int]) -> str:
    return " ".join(f"{k}={v}" for k, v in values.items())
