"""Counts over a whole scan (frames per phase, label, protocol, analysis flag; connections per
state) and their plain-text report: what `python -m analysis FILE --summary` prints.

The counts are accumulated batch by batch with numpy, so a summary of a capture of any size
needs no more memory than its largest batch plus the connection table.
"""
from __future__ import annotations

import gettext
from dataclasses import dataclass, field

import numpy as np

from analysis.columnar.columns import ANALYSIS_FLAGS, CONN_STATES, LABELS, PHASES, PROTOS
from analysis.i18n import N_, NP_

_FRAMES = NP_("{count} frame over {span} s", "{count} frames over {span} s")
_CONNECTIONS = NP_("{count} TCP connection", "{count} TCP connections")
_EXCHANGES = NP_("{count} exchange", "{count} exchanges")
_TIMED = N_("(analysed in {seconds} s, {rate} frames/s)")


@dataclass
class Tally:
    frames: int = 0
    phases: np.ndarray = field(default_factory=lambda: np.zeros(len(PHASES), np.int64))
    labels: np.ndarray = field(default_factory=lambda: np.zeros(len(LABELS), np.int64))
    protos: np.ndarray = field(default_factory=lambda: np.zeros(len(PROTOS), np.int64))
    flags: np.ndarray = field(default_factory=lambda: np.zeros(len(ANALYSIS_FLAGS), np.int64))
    first_ns: int | None = None
    last_ns: int | None = None

    def add(self, batch) -> None:
        n = len(batch.frames.number)
        if not n:
            return
        self.frames += n
        self.phases += np.bincount(batch.labels.phase, minlength=len(PHASES))
        self.labels += np.bincount(batch.labels.label, minlength=len(LABELS))
        self.protos += np.bincount(batch.frames.proto, minlength=len(PROTOS))
        bits = batch.tcp.analysis
        for i in range(len(ANALYSIS_FLAGS)):
            self.flags[i] += int(np.count_nonzero(bits & (1 << i)))
        ts = batch.frames.ts_ns
        if self.first_ns is None:
            self.first_ns = int(ts[0])
        self.last_ns = int(ts[-1])


def counts(summary, tally: Tally) -> dict[str, dict[str, int]]:
    """The non-zero counts of a scan by what is counted (the vocabulary's names, in its order):
    what render_summary prints and summary_document holds (one helper, so the two never differ)."""
    def nonzero(names, values) -> dict[str, int]:
        return {name: int(v) for name, v in zip(names, values) if v}

    states = np.bincount(summary.connections.conn_state, minlength=len(CONN_STATES))
    return {"phases": nonzero(PHASES, tally.phases), "labels": nonzero(LABELS, tally.labels),
            "protocols": nonzero(PROTOS, tally.protos),
            "analysis_flags": nonzero(ANALYSIS_FLAGS, tally.flags),
            "conn_states": nonzero(CONN_STATES, states)}


def _rows(counted: dict[str, int]) -> list[str]:
    return [f"  {name:<26} {count:>12,}" for name, count in counted.items()]


def render_summary(summary, tally: Tally, seconds: float | None = None, t=None) -> str:
    """The plain-text summary of a scan (summary: engine.ScanSummary), in t's language (a gettext
    translation; None: English). The names counted are the vocabulary's, as in every language."""
    t = t or gettext.NullTranslations()
    counted = counts(summary, tally)
    conns = summary.connections
    span = ((tally.last_ns or 0) - (tally.first_ns or 0)) / 1e9
    parts = [t.ngettext(*_FRAMES, summary.frame_count).format(count=f"{summary.frame_count:,}", span=f"{span:,.3f}"),
             t.ngettext(*_CONNECTIONS, len(conns.id)).format(count=f"{len(conns.id):,}"),
             t.ngettext(*_EXCHANGES, summary.exchange_count).format(count=f"{summary.exchange_count:,}")]
    lines = [f"{summary.path}: " + ", ".join(parts)]
    if seconds:
        lines[0] += " " + t.gettext(_TIMED).format(seconds=f"{seconds:.2f}",
                                                   rate=f"{summary.frame_count / seconds:,.0f}")
    lines += ["", t.gettext(N_("frames by phase"))] + _rows(counted["phases"])
    lines += ["", t.gettext(N_("frames by label"))] + _rows(counted["labels"])
    lines += ["", t.gettext(N_("frames by protocol"))] + _rows(counted["protocols"])
    if counted["analysis_flags"]:
        lines += ["", t.gettext(N_("Wireshark TCP analysis flags (frames)"))] + _rows(counted["analysis_flags"])
    if len(conns.id):
        lines += ["", t.gettext(N_("connections by Zeek conn_state"))] + _rows(counted["conn_states"])
    if summary.votes:
        lines += ["", t.gettext(N_("votes (last totals the server reported): {totals}")).format(
            totals=" ".join(f"{k}={v}" for k, v in summary.votes.items()))]
    return "\n".join(lines) + "\n"


SUMMARY_SCHEMA = "reqresp-lab/summary"
SUMMARY_SCHEMA_VERSION = 1


def summary_document(summary, tally: Tally, t=None) -> dict:
    """`--summary --json`: the counts render_summary prints, as data (schema SUMMARY_SCHEMA,
    version 1; names from vocabulary.py, counts of zero left out as in the text; warning
    messages in t's language, English when t is None)."""
    conns = summary.connections
    return {
        "schema": SUMMARY_SCHEMA, "schema_version": SUMMARY_SCHEMA_VERSION,
        "file": summary.path, "frame_count": summary.frame_count,
        "tcp_frames": summary.tcp_frames, "linktypes": list(summary.linktypes),
        "first_time": None if tally.first_ns is None else tally.first_ns / 1e9,
        "last_time": None if tally.last_ns is None else tally.last_ns / 1e9,
        "connection_count": len(conns.id), "exchange_count": summary.exchange_count,
        **counts(summary, tally),
        "votes": dict(summary.votes),
        "warnings": [{"code": w.code, "message": w.text(t), "frame": w.frame, "offset": w.offset}
                     for w in summary.warnings],
    }


def connections_dataframe(table):
    """The ConnectionTable as a pandas DataFrame with conn.log-style text columns."""
    import pandas as pd

    from analysis.columnar.columns import CONN_ENDS, SIDES
    from analysis.columnar.frames_view import address_texts

    def addresses(family, hi, lo):
        texts, codes = address_texts(family, hi, lo)
        return np.array(texts, dtype=object)[codes] if len(codes) else np.array([], dtype=object)

    irtt = table.irtt_ns.astype(np.float64) / 1e9
    irtt[table.irtt_ns < 0] = np.nan
    closed = np.asarray(table.closed_by)
    return pd.DataFrame({
        "id": table.id,
        "orig_ip": addresses(table.family, table.orig_hi, table.orig_lo),
        "orig_port": table.orig_port,
        "resp_ip": addresses(table.family, table.resp_hi, table.resp_lo),
        "resp_port": table.resp_port,
        "conn_state": pd.Categorical.from_codes(table.conn_state, CONN_STATES),
        "history": table.history,
        "start": table.start_ns / 1e9, "duration": table.duration_ns / 1e9,
        "orig_pkts": table.orig_pkts, "orig_bytes": table.orig_bytes,
        "resp_pkts": table.resp_pkts, "resp_bytes": table.resp_bytes, "irtt": irtt,
        "closed_by": pd.Categorical.from_codes(closed, SIDES),
        "end": pd.Categorical.from_codes(table.end, CONN_ENDS), "frames": table.frames,
    })
