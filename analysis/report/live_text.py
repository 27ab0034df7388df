"""The text of `--live`: one line per LiveFrame, the first line's caveat, the closing summary.

    3   0.000412  handshake  syn-ack        SYN,ACK  Seq=0 Ack=1  Len=0   server accepts the connection
    9   0.004101  data       data?          PSH,ACK  Seq=1 Ack=1  Len=5   client sends 5 bytes (request)
"""
from __future__ import annotations

from analysis.live import LiveFrame
from analysis.model import ACK
from analysis.report.text import render_plain

HEADER = ("live: one line per frame as it is captured (No., seconds, phase, label, flags, "
          "relative Seq/Ack, payload length, what happened); a label marked ? is a reading "
          "that later frames may change, and the final report may correct it (python -m "
          "analysis FILE)")


_SIMPLE = {    # vocabulary.LIVE_EVENTS whose words need nothing but the record's fields
    "asks-address": "{who} asks who has {rec.target} (ARP)",
    "answers-address": "{who} answers: {rec.target} is at {rec.hardware} (ARP)",
    "announces-address": "{who} announces its address {rec.target} (ARP)",
    "opens": "{who} opens the connection",
    "accepts": "{who} accepts the connection",
    "completes-handshake": "{who} completes the handshake: the connection is open",
    "acknowledges-fin": "{who} acknowledges the {rec.receiver}'s FIN",
    "resets": "{who} resets the connection (RST)",
}


def words(rec: LiveFrame) -> str:
    """What happened, in a few words."""
    event, who = rec.event, rec.sender
    template = _SIMPLE.get(event)
    if template is not None:
        return template.format(who=who, rec=rec)
    if event in ("sends", "sends-again"):
        text = f"{who} sends {_bytes(rec.length)}"
        text += " again" if event == "sends-again" else ""
        text += f" ({rec.direction})" if rec.direction else ""
        return text + _also_acks(rec)
    if event == "acknowledges":
        if rec.acked:
            return f"{who} acknowledges {_bytes(rec.acked)}"
        if "window-update" in rec.analysis:
            return f"{who} updates its window (nothing new to acknowledge)"
        return f"{who} acknowledges nothing new" + (" (duplicate ACK)"
                                                    if "duplicate-ack" in rec.analysis else "")
    if event == "closes":
        text = f"{who} closes first (the connection's first FIN)" if rec.first_fin else \
            f"{who} closes its side too"
        return text + _also_acks(rec)
    return rec.info


def _bytes(n: int) -> str:
    return f"{n} byte" if n == 1 else f"{n} bytes"


def _also_acks(rec: LiveFrame) -> str:
    parts = []
    if rec.acked:
        parts.append(_bytes(rec.acked))
    if rec.acks_fin:
        parts.append(f"the {rec.receiver}'s FIN")
    return " and acknowledges " + " and ".join(parts) if parts else ""


def frame_line(rec: LiveFrame) -> str:
    label = rec.label + ("?" if rec.provisional else "")
    seq_ack = ""
    if rec.seq is not None:
        seq_ack = f"Seq={rec.seq}" + (f" Ack={rec.ack}" if rec.tcp_flags & ACK else "")
    flags = rec.flags or "-"
    notes = f" [{','.join(rec.analysis)}]" if rec.analysis else ""
    return (f"{rec.number:>4}  {rec.rel_time:10.6f}  {rec.phase:<9}  {label:<17}  {flags:<11}  "
            f"{seq_ack:<21}  Len={rec.length:<5}  {words(rec)}{notes}").rstrip()


def summary_text(result) -> str:
    """The report's connection and exchange tables, and who closed each connection first."""
    lines = [render_plain(result, frames=[]).rstrip("\n"), ""]
    for conn in result.connections:
        if conn.closed_by is None:
            closed = "nobody: no FIN or RST was seen"
        else:
            side, address = ("client", conn.orig) if conn.closed_by == "orig" else ("server", conn.resp)
            closed = f"the {side} ({address}), {conn.end}"
        lines.append(f"conn {conn.id}: {conn.orig} -> {conn.resp}  {conn.conn_state}  "
                     f"{conn.history}  closed first by {closed}")
    return "\n".join(lines).rstrip("\n") + "\n"
