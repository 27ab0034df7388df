"""The ladder diagram (Wireshark's Flow Graph, done for a student): one arrow per frame.

One vertical line per host - the client, the server, and the broadcast address that ARP
requests go to - with time going down. Each frame is an arrow from its sender to its receiver,
labelled with its flags, relative seq/ack, payload length and our label, coloured by phase; the
request and response text sit under the data arrows; each run of one phase is bracketed and named
on the right. Rows are evenly spaced in capture order (as in Wireshark) and the left column gives
each frame's number and time, so a 40-frame session fits on one page.

Long captures: pick one connection (`conn=`), a frame range (`first=`/`last=`) or phases
(`phases=`); beyond `max_rows` the ladder is summarised - runs of unremarkable data frames
collapse into one "frames not drawn" row, keeping every handshake, teardown, reset, ARP frame and
every frame Wireshark's analysis flags.
"""
from __future__ import annotations

import ipaddress
import textwrap
from pathlib import Path
from typing import Iterable, NamedTuple

from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from analysis.figures.common import PHASE_COLORS, TROUBLE_COLOR, new_figure, phase_title, safe_text
from analysis.figures.ladder_select import HiddenFrames, LadderRow, ladder_rows
from analysis.i18n import translation
from analysis.model import ACK, LabeledFrame
from analysis.session.arp import BROADCAST_MAC, mac_to_ip
from analysis.tcp.measures import is_retransmission
from analysis.vocabulary import RETRANSMISSION_FLAGS

BROADCAST = "broadcast"
# Layout, in inches (the axes span the whole figure and use inches as data units).
_ROW = 0.5          # one frame
_HEAD = 1.05        # title and host names
_FOOT = 0.75        # legend and notes
_LEFT = 1.55        # frame number and time column
_LANE_GAP = 3.7     # between two hosts
_RIGHT = 2.3        # phase brackets and names
_FONT = 7.5


class _Lane(NamedTuple):
    key: str
    title: str


# --- which hosts -------------------------------------------------------------------------------

def _is_group_ip(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return ip.is_multicast or address == "255.255.255.255"


class _Hosts:
    """Maps each frame to (sender lane, receiver lane), and names the lanes."""

    def __init__(self, analysis, frames: list[LabeledFrame]) -> None:
        # the bindings come from ARP frames, all of phase "arp": picked by column, not every frame
        self.macs = mac_to_ip(analysis.phase("arp"))
        conns = {f.conn for f in frames if f.conn is not None}
        self.conns = [c for c in analysis.connections if c.id in conns]
        # Client and server on one address (a loopback capture): tell them apart by port.
        self.by_port = {c.orig_ip for c in self.conns if c.orig_ip == c.resp_ip}
        self.roles: dict[str, set[str]] = {}
        self.ports: dict[str, set[int]] = {}
        for c in self.conns:
            self.roles.setdefault(self._ip_key(c.orig_ip, c.orig_port), set()).add("client")
            self.roles.setdefault(self._ip_key(c.resp_ip, c.resp_port), set()).add("server")

    def _ip_key(self, ip: str, port: int | None) -> str:
        return f"{ip}:{port}" if ip in self.by_port else ip

    def _mac_key(self, mac: str) -> str:
        if mac.lower() == BROADCAST_MAC:
            return BROADCAST
        return self.macs.get(mac.lower(), mac)

    def ends(self, frame: LabeledFrame) -> tuple[str, str]:
        if frame.phase == "arp" or ":" in frame.src and frame.src.count(":") == 5 and "." not in frame.src:
            return self._mac_key(frame.src), self._mac_key(frame.dst)
        src = self._ip_key(frame.src, frame.sport)
        dst = BROADCAST if _is_group_ip(frame.dst) else self._ip_key(frame.dst, frame.dport)
        for key, port in ((src, frame.sport), (dst, frame.dport)):
            if port is not None:
                self.ports.setdefault(key, set()).add(port)
        return src, dst

    def order(self, keys: set[str]) -> list[str]:
        """Clients left, servers next, then any other host, the broadcast address last."""
        ranked = []
        for c in self.conns:
            for key in (self._ip_key(c.orig_ip, c.orig_port), self._ip_key(c.resp_ip, c.resp_port)):
                if key in keys and key not in ranked:
                    ranked.append(key)
        ranked += sorted(k for k in keys if k not in ranked and k != BROADCAST)
        return ranked + ([BROADCAST] if BROADCAST in keys else [])

    def title(self, key: str, t=None) -> str:
        t = translation("en") if t is None else t
        if key == BROADCAST:
            return t.gettext("broadcast\n{mac}\n(every host on the LAN)").format(mac=BROADCAST_MAC)
        role = "/".join(sorted(self.roles.get(key, ()))) or t.gettext("host")
        ports = self.ports.get(key, set())
        address = key if len(ports) != 1 or key.count(":") == 1 else f"{key}:{next(iter(ports))}"
        macs = [mac for mac, ip in self.macs.items() if ip == key.split(":")[0] or ip == key]
        return "\n".join([role, address] + macs[:1])


# --- drawing -----------------------------------------------------------------------------------

def _clip(text: str, width: int = 46) -> str:
    text = safe_text(text.replace("\n", " "))
    return text if len(text) <= width else text[: width - 1] + "…"


def _arrow_label(frame: LabeledFrame, ports: bool) -> str:
    if frame.phase == "arp":
        arp = frame.arp
        # requests and replies name their opcode; an announcement (a request for its own
        # address: "ARP Announcement for ...") and RARP say what they are in the Info text
        opcode = (f" (opcode {arp.opcode})" if arp is not None and arp.opcode in (1, 2)
                  and not (arp.opcode == 1 and arp.spa == arp.tpa) else "")
        return f"{frame.label}{opcode}: {safe_text(frame.info)}"
    if frame.tcp_flags:
        ack = f" Ack={frame.ack}" if frame.tcp_flags & ACK else ""
        where = f"{frame.sport} → {frame.dport}  " if ports else ""
        kind = frame.label + (f" ({frame.direction})" if frame.direction else "")
        return f"{where}{frame.flags}  Seq={frame.seq}{ack} Len={frame.payload_len}  [{kind}]"
    return f"{frame.label}: {_clip(frame.info, 40)}"


def _payload_texts(analysis, drawn: list[LabeledFrame]) -> dict[int, str]:
    """Frame number -> the request or response text that starts in it, for the drawn frames.

    The exchanges name the first frame of each message; a retransmission carries the same bytes
    again, so it gets the text of the segment it repeats (same connection, sender and seq: the
    first such frame of its connection). Only the drawn frames' connections are read, so a big
    capture is not walked frame by frame for the few dozen arrows a ladder has."""
    texts: dict[int, str] = {}
    for exchange in analysis.exchanges:
        texts.setdefault(exchange.request_frame, exchange.request)
        if exchange.response_frame is not None and exchange.response is not None:
            texts.setdefault(exchange.response_frame, exchange.response)
    wanted: dict[int, list[LabeledFrame]] = {}
    for frame in drawn:
        if frame.conn is not None and frame.payload_len and frame.number not in texts:
            wanted.setdefault(frame.conn, []).append(frame)
    for conn, frames in wanted.items():
        first_sent: dict[tuple, int] = {}
        for frame in analysis.frames_of(conn):
            if frame.payload_len:
                first_sent.setdefault((frame.src, frame.sport, frame.seq), frame.number)
        for frame in frames:
            original = first_sent.get((frame.src, frame.sport, frame.seq))
            if original is not None and original != frame.number and original in texts:
                texts[frame.number] = texts[original]
    return texts


def _pauses(rows: list[LadderRow]) -> dict[int, float]:
    """Row index -> idle time before it, where the wait stands out (a retransmission timeout,
    the user typing): over 150 ms and 20 times the typical gap between rows."""
    times = [(i, r.frame.rel_time) for i, r in enumerate(rows) if r.frame is not None]
    gaps = [(i, t - tp) for (_, tp), (i, t) in zip(times, times[1:])]
    ordered = sorted(g for _, g in gaps)
    typical = ordered[len(ordered) // 2] if ordered else 0.0
    return {i: g for i, g in gaps if g > 0.15 and g > 20 * typical}


def ladder(analysis, *, conn: int | None = None, first: int | None = None, last: int | None = None,
           phases: str | Iterable[str] | None = None, max_rows: int = 60,
           title: str | None = None, lang: str = "en") -> Figure:
    """The ladder diagram of a capture (or of one connection, a frame range, some phases), its
    texts in `lang`."""
    t = translation(lang)
    rows = ladder_rows(analysis, conn=conn, first=first, last=last, phases=phases, max_rows=max_rows)
    drawn = [r.frame for r in rows if r.frame is not None]
    hosts = _Hosts(analysis, drawn)
    ends = {f.number: hosts.ends(f) for f in drawn}
    # Frames between two addresses no session host uses (IGMP from 0.0.0.0 to a multicast group,
    # a stray ICMPv6) would each add a lane; they are listed in a note instead.
    session = {k for f in drawn if f.phase != "other" for k in ends[f.number]}
    off_lane = [f for f in drawn if f.phase == "other" and session and not set(ends[f.number]) <= session]
    if off_lane:
        skip = {f.number for f in off_lane}
        rows = [r for r in rows if r.frame is None or r.frame.number not in skip]
        drawn = [f for f in drawn if f.number not in skip]
    keys = {k for f in drawn for k in ends[f.number]}
    lanes = [_Lane(k, hosts.title(k, t)) for k in hosts.order(keys)] or [_Lane("-", t.gettext("no frames"))]
    lane_x = {lane.key: _LEFT + 0.6 + i * _LANE_GAP for i, lane in enumerate(lanes)}
    ports_on_arrows = any(len(hosts.ports.get(k, ())) > 1 for k in keys)

    width = _LEFT + 0.6 + (len(lanes) - 1) * _LANE_GAP + _RIGHT
    height = _HEAD + max(len(rows), 1) * _ROW + _FOOT
    fig = new_figure(width, height)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    ax.axis("off")

    name = Path(analysis.path).name
    what = (t.gettext("{name}: ladder diagram (connection {conn})") if conn is not None else
            t.ngettext("{name}: ladder diagram ({drawn} of {count} frame)",
                       "{name}: ladder diagram ({drawn} of {count} frames)", analysis.frame_count))
    ax.text(0.15, 0.22, title or what.format(name=name, conn=conn, drawn=len(drawn), count=analysis.frame_count),
            fontsize=11, weight="bold", va="center")
    ax.text(_LEFT - 0.15, _HEAD - 0.12, t.gettext("No."), fontsize=_FONT, ha="right", weight="bold")
    ax.text(_LEFT - 0.05, _HEAD - 0.12, t.gettext("time (s)"), fontsize=_FONT, ha="left", weight="bold")
    bottom = _HEAD + len(rows) * _ROW
    for lane in lanes:
        x = lane_x[lane.key]
        ax.text(x, _HEAD - 0.2, lane.title, ha="center", va="bottom", fontsize=8.5, weight="bold",
                linespacing=1.25)
        ax.plot([x, x], [_HEAD - 0.12, bottom], color="#555555", lw=1.0,
                ls=(0, (4, 3)) if lane.key == BROADCAST else "-", zorder=1)

    texts = _payload_texts(analysis, drawn)
    pauses = _pauses(rows)
    for index, row in enumerate(rows):
        y = _HEAD + (index + 0.55) * _ROW
        if index in pauses:
            ax.text(_LEFT - 0.05, y - _ROW / 2, "… " + t.gettext("{seconds} s later").format(
                seconds=f"{pauses[index]:.3f}"), ha="left",
                    va="center", fontsize=_FONT - 0.5, style="italic", color="#555555")
        if row.frame is None:
            _draw_gap(ax, row, y, lane_x, lanes, t)
            continue
        _draw_arrow(ax, row.frame, y, lane_x, ends[row.frame.number], texts, ports_on_arrows)
    _draw_brackets(ax, rows, lane_x[lanes[-1].key] + 0.45, t)
    _draw_legend(ax, drawn, off_lane, bottom + 0.1, width, t)
    return fig


def _draw_arrow(ax, frame, y, lane_x, ends, texts, ports_on_arrows) -> None:
    color = PHASE_COLORS[frame.phase]
    trouble = [a for a in frame.analysis]
    retrans = any(a in RETRANSMISSION_FLAGS for a in trouble)
    x0, x1 = lane_x[ends[0]], lane_x[ends[1]]
    ax.text(_LEFT - 0.15, y, str(frame.number), ha="right", va="center", fontsize=_FONT)
    ax.text(_LEFT - 0.05, y, f"{frame.rel_time:.6f}", ha="left", va="center", fontsize=_FONT,
            family="monospace")
    if x0 == x1:    # to itself (a loopback frame between two ports on one lane): a small loop
        ax.annotate("", xy=(x0 + 0.02, y + 0.08), xytext=(x0 + 0.02, y - 0.08),
                    arrowprops=dict(arrowstyle="-|>", color=color, lw=1.4,
                                    connectionstyle="arc3,rad=-1.2"))
        middle, align = x0 + 0.3, "left"
    else:
        ax.annotate("", xy=(x1, y), xytext=(x0, y),
                    arrowprops=dict(arrowstyle="-|>,head_length=0.6,head_width=0.3", color=color,
                                    lw=1.6, shrinkA=0, shrinkB=0, ls="--" if retrans else "-"),
                    zorder=3)
        middle, align = (x0 + x1) / 2, "center"
    ax.text(middle, y - 0.05, _arrow_label(frame, ports_on_arrows), ha=align, va="bottom",
            fontsize=_FONT, color=color, zorder=4,
            bbox=dict(boxstyle="square,pad=0.05", fc="white", ec="none", alpha=0.85))
    below = []
    if frame.number in texts:
        below.append(f"“{_clip(texts[frame.number])}”")
    if trouble:
        below.append("[" + ", ".join(trouble) + "]")
    if below:
        ax.text(middle, y + 0.05, "  ".join(below), ha=align, va="top", fontsize=_FONT,
                style="italic", color=TROUBLE_COLOR if trouble else "#222222", zorder=4,
                bbox=dict(boxstyle="square,pad=0.05", fc="white", ec="none", alpha=0.85))


def _draw_gap(ax, row: LadderRow, y: float, lane_x, lanes, t) -> None:
    hidden: HiddenFrames = row.hidden   # its counts, not its frames: no record is made for it
    span = ", ".join(f"{phase} {n}" for phase, n in hidden.phases)
    first, last = hidden.first, hidden.last
    middle = (lane_x[lanes[0].key] + lane_x[lanes[-1].key]) / 2
    gap = t.ngettext("{count} frame not drawn (no. {first}–{last}: {span})",
                     "{count} frames not drawn (no. {first}–{last}: {span})", len(row.hidden)).format(
        count=len(row.hidden), first=first, last=last, span=span)
    ax.text(middle, y, f"⋮   {gap}   ⋮",
            ha="center", va="center", fontsize=_FONT + 0.5, style="italic", color="#444444",
            bbox=dict(boxstyle="round,pad=0.25", fc="#f2f2f2", ec="#bbbbbb"), zorder=4)


def _draw_brackets(ax, rows: list[LadderRow], x: float, t) -> None:
    """A bracket and the phase's name beside each run of rows of one phase."""
    runs: list[tuple[str, int, int]] = []
    for index, row in enumerate(rows):
        phase = row.frame.phase if row.frame is not None else None
        if runs and phase is not None and runs[-1][0] == phase and runs[-1][2] == index - 1:
            runs[-1] = (phase, runs[-1][1], index)
        elif phase is not None:
            runs.append((phase, index, index))
    for phase, start, end in runs:
        top = _HEAD + start * _ROW + 0.12
        bottom = _HEAD + (end + 1) * _ROW - 0.04
        color = PHASE_COLORS[phase]
        ax.plot([x, x + 0.1, x + 0.1, x], [top, top, bottom, bottom], color=color, lw=1.6)
        name = textwrap.fill(phase_title(phase, t), 24)
        count = end - start + 1
        ax.text(x + 0.2, (top + bottom) / 2,
                name + "\n" + t.ngettext("({count} frame)", "({count} frames)", count).format(count=count),
                va="center", ha="left", fontsize=8, color=color, weight="bold", linespacing=1.2)


def _draw_legend(ax, drawn, off_lane, y: float, width: float, t) -> None:
    phases = [p for p in PHASE_COLORS if any(f.phase == p for f in drawn)]
    handles = [Patch(color=PHASE_COLORS[p], label=p) for p in phases]
    if any(is_retransmission(f) for f in drawn):
        handles.append(Line2D([], [], color=TROUBLE_COLOR, ls="--", label=t.gettext("retransmission")))
    if handles:
        ax.legend(handles=handles, loc="upper left", ncol=len(handles), fontsize=_FONT,
                  frameon=False, bbox_to_anchor=(0.12 / width, 1 - y / ax.get_ylim()[0]),
                  bbox_transform=ax.transAxes)
    notes = [t.gettext("Rows are in capture order; the left column gives each frame's number and time "
                       "since the first frame. Seq/Ack are relative (as Wireshark shows them).")]
    if off_lane:
        listed = ", ".join(f"{f.number} ({f.label} {f.src} → {f.dst})" for f in off_lane[:4])
        more = " " + t.gettext("and {count} more").format(count=len(off_lane) - 4) if len(off_lane) > 4 else ""
        notes.append(t.gettext("Not drawn, traffic of no host above: frame {listed}.").format(listed=listed + more))
    ax.text(0.15, y + 0.35, "\n".join(notes), fontsize=_FONT - 0.5, color="#444444", va="top")
