"""`Analysis`: everything the analyzer found in one capture, whichever engine found it.

`analysis.api.analyze()` fills it from the columnar engine, with `frames` a lazy sequence
(analysis/columnar/labeled.py: each LabeledFrame is made from the columns when it is asked for)
and `connections` / `exchanges` made on first use; `analysis.reference.analyze_reference()` fills
it from the per-frame pipeline with plain lists. Both compare equal when they found the same.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Sequence

from analysis import vocabulary
from analysis.errors import UsageError
from analysis.i18n import N_
from analysis.model import Connection, Exchange, LabeledFrame, Warning


@dataclass(frozen=True)
class Analysis:
    """Everything the analyzer found in one capture."""

    path: str
    frames: Sequence[LabeledFrame]     # a list, or a lazy Sequence (analyze(): made on demand)
    connections: Sequence[Connection]
    exchanges: Sequence[Exchange]
    warnings: list[Warning]
    frame_count: int
    linktypes: tuple[int, ...] = ()
    votes: dict[str, int] = field(default_factory=dict)

    def phase(self, name: str) -> list[LabeledFrame]:
        """The frames of one phase (`arp`, `handshake`, `data`, `teardown`, `reset`, `other`)."""
        check_phase(name)
        where = getattr(self.frames, "where", None)     # the lazy frames pick rows by column
        if where is not None:
            return where(phase=name)
        return [f for f in self.frames if f.phase == name]

    def phase_counts(self) -> dict[str, int]:
        """Frames per phase (phases with none left out), in vocabulary.PHASES order."""
        counts = getattr(self.frames, "phase_counts", None)    # the lazy frames: one column
        if counts is not None:
            return counts()
        found: dict[str, int] = {}
        for f in self.frames:
            found[f.phase] = found.get(f.phase, 0) + 1
        return {phase: found[phase] for phase in vocabulary.PHASES if phase in found}

    @cached_property
    def _connections_by_id(self) -> dict[int, Connection]:
        return {conn.id: conn for conn in self.connections}

    def connection(self, conn_id: int) -> Connection:
        conn = self._connections_by_id.get(conn_id)
        if conn is not None:
            return conn
        known = ", ".join(str(c.id) for c in self.connections) or "-"
        raise UsageError(N_("no connection {conn_id} (connections: {known})"), path=self.path,
                         fields={"conn_id": conn_id, "known": known})

    @cached_property
    def _exchanges_by_conn(self) -> dict[int, list[Exchange]]:
        found: dict[int, list[Exchange]] = {}
        for exchange in self.exchanges:
            found.setdefault(exchange.conn, []).append(exchange)
        return found

    def exchanges_of(self, conn_id: int) -> list[Exchange]:
        """The exchanges of one connection, in order (an index made once: a report asks for
        every connection's, and a scan of all exchanges per connection is quadratic)."""
        return list(self._exchanges_by_conn.get(conn_id, ()))

    def frames_of(self, conn_id: int) -> list[LabeledFrame]:
        self.connection(conn_id)
        where = getattr(self.frames, "where", None)
        if where is not None:
            return where(conn=conn_id)
        return [f for f in self.frames if f.conn == conn_id]

    def to_dataframe(self):
        """The frames as a pandas DataFrame (one row per frame, columns = LabeledFrame fields,
        then the text views `flags` and `info`)."""
        import pandas as pd  # imported here: the analyzer itself does not need pandas

        columns = getattr(self.frames, "to_dataframe", None)    # the lazy frames: from columns
        if columns is not None:
            return columns()
        frame = pd.DataFrame.from_records(self.frames, columns=LabeledFrame._fields)
        frame["analysis"] = frame["analysis"].map(list)
        frame["flags"] = [f.flags for f in self.frames]
        frame["info"] = [f.info for f in self.frames]
        return frame.set_index("number", drop=False)


def check_phase(name: str) -> str:
    if name not in vocabulary.PHASES:
        raise UsageError(N_("unknown phase {name!r} (phases: {phases})"),
                         fields={"name": name, "phases": ", ".join(vocabulary.PHASES)})
    return name
