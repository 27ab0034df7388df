"""The text of `--live`: one line per LiveFrame, the first line's caveat, the closing summary.

    3   0.000412  handshake  syn-ack        SYN,ACK  Seq=0 Ack=1  Len=0   server accepts the connection
    9   0.004101  data       data?          PSH,ACK  Seq=1 Ack=1  Len=5   client sends 5 bytes (request)

Every function takes `t`, a gettext translation (analysis.i18n.translation(lang); None: English):
the sentences are translated, the columns (phase, label, flags, Seq/Ack, tcp.analysis flags), the
sides' names (client, server, or a --name) and the Info column of a frame we do not narrate stay
as they are in every language.
"""
from __future__ import annotations

from analysis.i18n import DEFAULT, N_, translation
from analysis.live import LiveFrame
from analysis.model import ACK
from analysis.report.text import english, render_plain

HEADER = N_("live: one line per frame as it is captured (No., seconds, phase, label, flags, "
            "relative Seq/Ack, payload length, what happened); a label marked ? is a reading "
            "that later frames may change, and the final report may correct it (python -m "
            "analysis FILE)")


_SIMPLE = {    # vocabulary.LIVE_EVENTS whose words need nothing but the record's fields
    "asks-address": N_("{who} asks who has {target} (ARP)"),
    "answers-address": N_("{who} answers: {target} is at {hardware} (ARP)"),
    "announces-address": N_("{who} announces its address {target} (ARP)"),
    "opens": N_("{who} opens the connection"),
    "accepts": N_("{who} accepts the connection"),
    "completes-handshake": N_("{who} completes the handshake: the connection is open"),
    "acknowledges-fin": N_("{who} acknowledges the {receiver}'s FIN"),
    "resets": N_("{who} resets the connection (RST)"),
}


def header(t=None) -> str:
    """The first line: what the columns are, and what a label marked ? means."""
    return english(t).gettext(HEADER)


def words(rec: LiveFrame, t=None) -> str:
    """What happened, in a few words."""
    t = english(t)
    event = rec.event
    fields = {"who": rec.sender, "receiver": rec.receiver, "target": rec.target,
              "hardware": rec.hardware}
    template = _SIMPLE.get(event)
    if template is not None:
        return t.gettext(template).format(**fields)
    if event in ("sends", "sends-again"):
        template = N_("{who} sends {bytes} again") if event == "sends-again" else N_("{who} sends {bytes}")
        text = t.gettext(template).format(bytes=_bytes(rec.length, t), **fields)
        text += f" ({rec.direction})" if rec.direction else ""      # request / response, as written
        return _also_acks(text, rec, t)
    if event == "acknowledges":
        if rec.acked:
            return t.gettext("{who} acknowledges {bytes}").format(bytes=_bytes(rec.acked, t), **fields)
        if "window-update" in rec.analysis:
            return t.gettext("{who} updates its window (nothing new to acknowledge)").format(**fields)
        if "duplicate-ack" in rec.analysis:
            return t.gettext("{who} acknowledges nothing new (duplicate ACK)").format(**fields)
        return t.gettext("{who} acknowledges nothing new").format(**fields)
    if event == "closes":
        template = (N_("{who} closes first (the connection's first FIN)") if rec.first_fin
                    else N_("{who} closes its side too"))
        return _also_acks(t.gettext(template).format(**fields), rec, t)
    return rec.info


def _bytes(n: int, t) -> str:
    return t.ngettext("{count} byte", "{count} bytes", n).format(count=n)


def _also_acks(text: str, rec: LiveFrame, t) -> str:
    """`text`, and what the same segment's ACK field acknowledges (bytes, the other side's FIN)."""
    if rec.acked and rec.acks_fin:
        template = N_("{text} and acknowledges {bytes} and the {receiver}'s FIN")
    elif rec.acked:
        template = N_("{text} and acknowledges {bytes}")
    elif rec.acks_fin:
        template = N_("{text} and acknowledges the {receiver}'s FIN")
    else:
        return text
    return t.gettext(template).format(text=text, bytes=_bytes(rec.acked, t), receiver=rec.receiver)


def frame_line(rec: LiveFrame, t=None) -> str:
    label = rec.label + ("?" if rec.provisional else "")
    seq_ack = ""
    if rec.seq is not None:
        seq_ack = f"Seq={rec.seq}" + (f" Ack={rec.ack}" if rec.tcp_flags & ACK else "")
    flags = rec.flags or "-"
    notes = f" [{','.join(rec.analysis)}]" if rec.analysis else ""
    return (f"{rec.number:>4}  {rec.rel_time:10.6f}  {rec.phase:<9}  {label:<17}  {flags:<11}  "
            f"{seq_ack:<21}  Len={rec.length:<5}  {words(rec, t)}{notes}").rstrip()


_CLOSED = {"orig": N_("conn {conn}: {orig} -> {resp}  {conn_state}  {history}  closed first by the "
                      "client ({address}), {end}"),
           "resp": N_("conn {conn}: {orig} -> {resp}  {conn_state}  {history}  closed first by the "
                      "server ({address}), {end}"),
           None: N_("conn {conn}: {orig} -> {resp}  {conn_state}  {history}  closed first by "
                    "nobody: no FIN or RST was seen")}


def summary_text(result, lang: str = DEFAULT) -> str:
    """The report's connection and exchange tables, and who closed each connection first, in
    `lang`."""
    t = translation(lang)
    lines = [render_plain(result, frames=[], lang=lang).rstrip("\n"), ""]
    for conn in result.connections:
        address = conn.orig if conn.closed_by == "orig" else conn.resp
        lines.append(t.gettext(_CLOSED[conn.closed_by]).format(
            conn=conn.id, orig=conn.orig, resp=conn.resp, conn_state=conn.conn_state,
            history=conn.history, address=address, end=conn.end))
    return "\n".join(lines).rstrip("\n") + "\n"
