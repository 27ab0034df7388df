"""What the fields a TCP/ARP lab asks about mean in one frame, and what changed since the previous
frame of its connection: the explorer's one-sentence notes and its step mode, in a catalog's language.

    notes = ConnectionNotes(analysis, t, frames)   # one pass over a few fields of every frame
    notes.field_notes(dissection, frame)       # {"tcp.ack": "Ack=14: the server has received ..."}
    notes.step(frame)                          # ["Seq 1 -> 14: previous Seq 1 + Len 13 ...", ...]

The sentences are built from the analyzer's LabeledFrames (relative Seq/Ack, scaled window) and
the dissected fields, so they say what happened in *this* capture, not what a field is in general.
Each is one gettext message (`t`: i18n.translation(lang); English when None) whose values are
placeholders; "client" and "server" are filled in as they are, as the glossary keeps them.

The pass over the frames reads seven fields of each (frame_fields.field_chunks: from analyze()'s
columns, no record made) and keeps arrays, not records: each TCP frame's previous frame of its
connection and of its side are row numbers, and only the records the sentences are asked about
are made (`frames`: at once, a slice per run of nearby rows).
"""
from __future__ import annotations

import gettext

import numpy as np

from analysis import vocabulary
from analysis.frame_fields import field_chunks
from analysis.model import ACK, FIN, SYN
from analysis.report.conn_arrays import Originators, objects, previous
from analysis.report.explorer_words import BOOL_SHOWN

_BOOL_FIELDS = {"tcp.flags.res", "tcp.flags.ae", "tcp.flags.cwr", "tcp.flags.ece", "tcp.flags.urg",
                "tcp.flags.ack", "tcp.flags.push", "tcp.flags.reset", "tcp.flags.syn", "tcp.flags.fin",
                "ip.flags.rb", "ip.flags.df", "ip.flags.mf"}


def shown(name: str, show: str, t: gettext.NullTranslations | None = None) -> str:
    """A field's value as Wireshark's details pane prints it: flag bits as Set / Not set."""
    if name in _BOOL_FIELDS:
        word = BOOL_SHOWN[1] if show == "1" else BOOL_SHOWN[0]
        return word if t is None else t.gettext(word)
    return show


def _has(frame, bit: int) -> int:
    """1 when the frame's TCP flags have `bit` (model.SYN, ACK, FIN...), else 0."""
    return 1 if frame.tcp_flags & bit else 0


def _consumed(frame) -> int:
    """Sequence space a segment takes: its data, plus one for a SYN and one for a FIN."""
    return frame.payload_len + _has(frame, SYN) + _has(frame, FIN)


_FIELDS = ("number", "conn", "seq", "src", "sport", "tcp_flags", "payload_len")
_GAP = 512      # rows: nearer records are made in one slice of the frames


class ConnectionNotes:
    """The per-connection facts the sentences need, from one pass over the analysis' frames.
    `frames`: the frames that will be asked about, whose previous frames are made at once."""

    def __init__(self, analysis, t: gettext.NullTranslations | None = None, frames=()) -> None:
        self._t = gettext.NullTranslations() if t is None else t
        self._all = analysis.frames
        self._conns = {c.id: c for c in analysis.connections}
        self._fin_seq: dict[tuple[int, bool], int] = {}       # (conn, from client) -> FIN's seq
        self._made: dict[int, object] = {}                    # row -> its record, once made
        originators = Originators(analysis.connections)
        rows, numbers, keys, offset = [], [], [], 0
        for part in field_chunks(analysis.frames, _FIELDS):
            conn, seq = objects(part["conn"]), objects(part["seq"])
            pick = np.flatnonzero((conn != None) & (seq != None))      # noqa: E711 (elementwise)
            conn = conn[pick].astype(np.int64)
            pos, known = originators.find(conn)
            side = ~known | originators.sent_by(pos, objects(part["src"])[pick],
                                                objects(part["sport"])[pick])
            key = conn * 2 + side
            fin = np.flatnonzero(np.asarray(part["tcp_flags"], np.int64)[pick] & FIN)
            ends = seq[pick[fin]] + objects(part["payload_len"])[pick[fin]]
            for k, end in zip(key[fin].tolist(), ends.tolist()):
                self._fin_seq.setdefault((k >> 1, bool(k & 1)), end)
            rows.append(pick + offset)
            numbers.append(np.asarray(part["number"], np.int64)[pick])
            keys.append(key)
            offset += len(part["number"])
        key = np.concatenate(keys) if keys else np.zeros(0, np.int64)
        self._rows = np.concatenate(rows) if rows else np.zeros(0, np.int64)
        self._numbers = np.concatenate(numbers) if numbers else np.zeros(0, np.int64)
        # frame numbers rise through a capture; were they not, searchsorted would need this order
        self._order = None if np.all(self._numbers[1:] > self._numbers[:-1]) else np.argsort(
            self._numbers, kind="stable")
        self._prev = previous(key >> 1)                      # previous frame of the connection
        self._prev_same = previous(key)                      # ... from the same side
        wanted = [p for f in frames for p in self._previous_positions(f)]
        self._make(self._rows[np.unique(np.array(wanted, np.int64))] if wanted else [])

    def _position(self, f) -> int:
        """f's position in the kept arrays (-1: not a frame of a connection)."""
        if f.conn is None or f.seq is None:
            return -1
        numbers = self._numbers
        i = int(np.searchsorted(numbers, f.number, sorter=self._order))
        if i < len(numbers):
            i = i if self._order is None else int(self._order[i])
            if numbers[i] == f.number:
                return i
        return -1

    def _previous_positions(self, f) -> list[int]:
        i = self._position(f)
        return [] if i < 0 else [int(p) for p in (self._prev[i], self._prev_same[i]) if p >= 0]

    def _make(self, rows) -> None:
        """The records at rows (ascending) of the frames, a slice per run of near rows."""
        rows = [int(r) for r in rows if int(r) not in self._made]
        k = 0
        while k < len(rows):
            end = k + 1
            while end < len(rows) and rows[end] - rows[end - 1] <= _GAP:
                end += 1
            made = self._all[rows[k]:rows[end - 1] + 1]
            for row in rows[k:end]:
                self._made[row] = made[row - rows[k]]
            k = end

    def previous(self, f) -> tuple:
        """The frame before f of its connection, and the one before it from f's side (None: none)."""
        i = self._position(f)
        if i < 0:
            return None, None
        return self._record(int(self._prev[i])), self._record(int(self._prev_same[i]))

    def fin_seq(self, conn: int, from_client: bool) -> int | None:
        """The sequence number of the first FIN of one side of a connection (None: no FIN)."""
        return self._fin_seq.get((conn, from_client))

    def _record(self, pos: int):
        """The record at a kept position (-1: None)."""
        if pos < 0:
            return None
        row = int(self._rows[pos])
        if row not in self._made:
            self._make([row])
        return self._made[row]

    def from_client(self, f) -> bool:
        conn = self._conns.get(f.conn)
        return conn is None or (f.src == conn.orig_ip and f.sport == conn.orig_port)

    def _sides(self, f) -> tuple[str, str]:
        return ("client", "server") if self.from_client(f) else ("server", "client")

    def _label(self, f) -> str:
        explanation = vocabulary.LABELS.get(f.label)
        return self._t.gettext(explanation) if explanation else ""

    def _flags(self, flags: str) -> str:
        return flags or self._t.gettext("no flags")

    # -- the details pane's notes ---------------------------------------------------------------

    def field_notes(self, dissection, f) -> dict[str, str]:
        _ = self._t.gettext
        values = {}
        for field in dissection.fields():
            values.setdefault(field.name, field.show)
        notes: dict[str, str] = {}
        eth_dst = values.get("eth.dst")
        if eth_dst == "ff:ff:ff:ff:ff:ff":
            notes["eth.dst"] = _("Broadcast: every host on this network receives the frame (the "
                                 "sender does not know the target's MAC address yet).")
        elif eth_dst:
            notes["eth.dst"] = _("{mac}: the network card this frame is addressed to on this link.").format(
                mac=eth_dst)
        if "eth.type" in values:
            kind = {"0x0806": "ARP", "0x0800": "IPv4", "0x86dd": "IPv6"}.get(values["eth.type"])
            if kind:
                notes["eth.type"] = _("{value}: what the Ethernet frame carries is {kind}.").format(
                    value=values["eth.type"], kind=kind)
        if "arp.opcode" in values:
            self._arp_notes(values, notes)
        if "ip.ttl" in values:
            ttl = values["ip.ttl"]
            notes["ip.ttl"] = (_("TTL={ttl}: each router on the way takes one off and drops the packet "
                                 "at 0 (64 is Linux's starting value: this packet crossed no router).")
                               if ttl == "64" else
                               _("TTL={ttl}: each router on the way takes one off and drops the packet "
                                 "at 0.")).format(ttl=ttl)
        if "ip.id" in values:
            notes["ip.id"] = (_("Identification {id}: numbers the sender's IP packets, so that fragments "
                                "of one packet can be put back together (Don't fragment is set: this "
                                "one is never fragmented).")
                              if values.get("ip.flags.df") == "1" else
                              _("Identification {id}: numbers the sender's IP packets, so that fragments "
                                "of one packet can be put back together.")).format(id=values["ip.id"])
        if "ip.checksum" in values:
            notes["ip.checksum"] = _("The IP header checksum covers the 20 header bytes only (the TCP "
                                     "checksum covers the data); routers recompute it as TTL changes.")
        if f.conn is not None and f.seq is not None:
            self._tcp_notes(values, f, notes)
        return notes

    def _arp_notes(self, values, notes) -> None:
        _ = self._t.gettext
        spa, tpa = values.get("arp.src.proto_ipv4"), values.get("arp.dst.proto_ipv4")
        sha = values.get("arp.src.hw_mac")
        if values["arp.opcode"] == "1":
            notes["arp.opcode"] = _("1 (request): {spa} asks 'who has {tpa}? tell {spa}'.").format(
                spa=spa, tpa=tpa)
            if values.get("arp.dst.hw_mac") == "00:00:00:00:00:00":
                notes["arp.dst.hw_mac"] = _("00:00:00:00:00:00: not known yet; finding it is what the "
                                            "request is for.")
        elif values["arp.opcode"] == "2":
            notes["arp.opcode"] = _("2 (reply): '{spa} is at {sha}', sent back to the asker only.").format(
                spa=spa, sha=sha)
        if sha:
            notes["arp.src.hw_mac"] = _("{sha}: the sender's MAC; the receiver stores {spa} -> {sha} in "
                                        "its ARP cache.").format(sha=sha, spa=spa)

    def _tcp_notes(self, values, f, notes) -> None:
        _, ngettext = self._t.gettext, self._t.ngettext
        me, peer = self._sides(f)
        notes["tcp.srcport"] = (_("{port}: the client's port (an ephemeral port its operating system "
                                  "picked).") if me == "client" else
                                _("{port}: the {side}'s port.")).format(port=f.sport, side=me)
        notes["tcp.dstport"] = _("{port}: the {side}'s port.").format(port=f.dport, side=peer)
        syn, fin = _has(f, SYN), _has(f, FIN)
        if syn:
            notes["tcp.seq"] = _("Seq=0 (relative; raw {raw}): the {me}'s initial sequence number. The "
                                 "SYN itself takes one number, so its data will start at 1.").format(
                raw=f.seq_raw, me=me)
        elif f.payload_len:
            notes["tcp.seq"] = _("Seq={seq}: this segment carries the {me}'s bytes {seq}..{last} "
                                 "(Len={len}); the next one starts at {next}.").format(
                seq=f.seq, me=me, last=f.seq + f.payload_len - 1, len=f.payload_len,
                next=f.seq + f.payload_len)
        elif fin:
            count = max(f.seq - 1, 0)
            notes["tcp.seq"] = ngettext("Seq={seq}: the FIN takes sequence number {seq}, right after the "
                                  "{me}'s {count} data byte.",
                                  "Seq={seq}: the FIN takes sequence number {seq}, right after the "
                                  "{me}'s {count} data bytes.", count).format(seq=f.seq, me=me, count=count)
        else:
            notes["tcp.seq"] = _("Seq={seq}: no data in this segment; {seq} is the next byte the {me} "
                                 "will send.").format(seq=f.seq, me=me)
        if _has(f, ACK):
            notes["tcp.ack"] = self._ack_sentence(f, me, peer)
        else:
            notes["tcp.ack"] = _("The ACK flag is not set, so the acknowledgment number means nothing here.")
        if f.payload_len:
            notes["tcp.len"] = ngettext("Len={count}: {count} byte of application data ({kind}).",
                                  "Len={count}: {count} bytes of application data ({kind}).",
                                  f.payload_len).format(count=f.payload_len, kind=f.direction or "data")
        self._window_note(values, f, me, syn, notes)
        notes["tcp.flags"] = f"{self._flags(f.flags)}: {self._label(f)}"
        if "tcp.options.mss_val" in values:
            mss = int(values["tcp.options.mss_val"])
            notes["tcp.options.mss_val"] = (
                ngettext("MSS={mss}: the {me} accepts segments of at most {mss} data byte (a 1500-byte Ethernet "
                   "MTU less 20 IP and 20 TCP header bytes).",
                   "MSS={mss}: the {me} accepts segments of at most {mss} data bytes (a 1500-byte Ethernet "
                   "MTU less 20 IP and 20 TCP header bytes).", mss) if mss == 1460 else
                ngettext("MSS={mss}: the {me} accepts segments of at most {mss} data byte.",
                   "MSS={mss}: the {me} accepts segments of at most {mss} data bytes.", mss)).format(
                mss=mss, me=me)
        if "tcp.options.wscale.shift" in values:
            shift = int(values["tcp.options.wscale.shift"])
            notes["tcp.options.wscale.shift"] = _(
                "Shift {shift}: after the handshake the {me}'s Window field is to be multiplied by "
                "2^{shift} = {factor} (only if both sides send this option).").format(
                shift=shift, me=me, factor=2 ** shift)
        if "tcp.options.sack_perm" in values:
            notes["tcp.options.sack_perm"] = _("The {me} can take selective ACKs: which blocks arrived "
                                               "beyond a gap, so only the gap is sent again.").format(me=me)
        if "tcp.options.timestamp.tsval" in values:
            notes["tcp.options.timestamp.tsval"] = _(
                "TSval={tsval}: the {me}'s clock; the {peer} echoes it back in TSecr, which lets the {me} "
                "measure the round-trip time.").format(
                tsval=values["tcp.options.timestamp.tsval"], me=me, peer=peer)

    def _window_note(self, values, f, me: str, syn: bool, notes) -> None:
        ngettext = self._t.ngettext
        raw = values.get("tcp.window_size_value")
        if raw is None or f.window is None:
            return
        if str(f.window) == raw:
            notes["tcp.window_size_value"] = (
                ngettext("Window={raw}: the {me} can take {raw} more byte beyond what it acknowledges (windows "
                   "in a SYN are never scaled).",
                   "Window={raw}: the {me} can take {raw} more bytes beyond what it acknowledges (windows "
                   "in a SYN are never scaled).", f.window) if syn else
                ngettext("Window={raw}: the {me} can take {raw} more byte beyond what it acknowledges.",
                   "Window={raw}: the {me} can take {raw} more bytes beyond what it acknowledges.",
                   f.window)).format(raw=raw, me=me)
        else:
            factor = f.window // int(raw) if int(raw) else 0
            notes["tcp.window_size_value"] = ngettext(
                "Window={raw} x {factor} (the scale the {me} announced in its SYN) = {window}: the {me} "
                "can take {window} more byte beyond what it acknowledges.",
                "Window={raw} x {factor} (the scale the {me} announced in its SYN) = {window}: the {me} "
                "can take {window} more bytes beyond what it acknowledges.", f.window).format(
                raw=raw, factor=factor, me=me, window=f.window)

    def _ack_sentence(self, f, me: str, peer: str) -> str:
        _ = self._t.gettext
        fin = self.fin_seq(f.conn, not self.from_client(f))
        if f.ack <= 1:
            text = _("Ack={ack}: the {me} has received the {peer}'s SYN (sequence number 0) and expects "
                     "byte 1 next.")
        elif fin is not None and f.ack > fin:
            text = (_("Ack={ack}: the {me} has received the {peer}'s bytes 1..{last} and its FIN, and "
                      "expects {ack} next.") if fin > 1 else
                    _("Ack={ack}: the {me} has received the {peer}'s FIN (no data), and expects {ack} next."))
            return text.format(ack=f.ack, me=me, peer=peer, last=fin - 1)
        else:
            text = _("Ack={ack}: the {me} has received the {peer}'s bytes 1..{last} and expects byte {ack} "
                     "next.")
        return text.format(ack=f.ack, me=me, peer=peer, last=f.ack - 1)

    # -- step mode ------------------------------------------------------------------------------

    def step(self, f) -> list[str]:
        """What changed since the previous frame of this frame's connection, and why."""
        _ = self._t.gettext
        why = self._label(f)
        if f.conn is None or f.seq is None:
            return [why]
        me, peer = self._sides(f)
        prev, same = self.previous(f)
        if prev is None:
            return [_("First frame of connection {conn}: the {me} starts it. {why}").format(
                conn=f.conn, me=me, why=why)]
        src, dst = self._sides(prev)
        out = [_("Since frame {frame} ({flags}, {src} -> {dst}): {why}").format(
            frame=prev.number, flags=self._flags(prev.flags), src=src, dst=dst, why=why)]
        if prev.flags != f.flags:
            none = _("none")
            out.append(_("Flags {old} -> {new}.").format(old=prev.flags or none, new=f.flags or none))
        if same is None:
            out.append(_("The {me}'s first segment: Seq=0 is its initial sequence number (raw {raw}).")
                       .format(me=me, raw=f.seq_raw) if _has(f, SYN) else
                       _("The {me}'s first segment.").format(me=me))
            if _has(f, ACK):
                out.append(_("Ack={ack}: the {peer}'s ISN + 1, because its SYN took one sequence number.")
                           .format(ack=f.ack, peer=peer))
            return out
        out.append(self._seq_change(f, same, me))
        if _has(f, ACK) and same.ack is not None and f.ack != same.ack:
            out.append((_("Ack {old} -> {new}: the {me} now acknowledges {count} more of the {peer}'s "
                          "sequence space.") if _has(same, ACK) else
                        _("Ack={new}: the {me}'s first acknowledgment (the {peer}'s ISN + 1).")).format(
                old=same.ack, new=f.ack, me=me, peer=peer, count=f.ack - same.ack))
        if f.window is not None and same.window is not None and f.window != same.window:
            text = (_("Window {old} -> {new}: the window scale now applies (the handshake is done).")
                    if _has(same, SYN) else
                    _("Window {old} -> {new}: the {me}'s receive buffer has more room.")
                    if f.window > same.window else
                    _("Window {old} -> {new}: the {me}'s receive buffer has less room."))
            out.append(text.format(old=same.window, new=f.window, me=me))
        if f.analysis:
            out.append(_("Wireshark flags it: {flags}.").format(flags=", ".join(f.analysis)))
        return out

    def _seq_change(self, f, same, me: str) -> str:
        """The Seq arithmetic from the previous segment of the same side."""
        _ = self._t.gettext
        consumed = _consumed(same)
        expected = same.seq + consumed
        if f.seq == expected and f.seq != same.seq:
            taken = (self._t.ngettext("{count} data byte", "{count} data bytes", same.payload_len)
                     .format(count=same.payload_len)
                     + (" + SYN" if _has(same, SYN) else "") + (" + FIN" if _has(same, FIN) else ""))
            return _("Seq {old} -> {new}: the {me}'s previous Seq {old} + {consumed} ({taken} in frame "
                     "{frame}).").format(old=same.seq, new=f.seq, me=me, consumed=consumed, taken=taken,
                                         frame=same.number)
        if f.seq == expected:
            return _("Seq stays {seq}: the {me}'s previous segment (frame {frame}) took no sequence "
                     "space.").format(seq=f.seq, me=me, frame=same.number)
        return (_("Seq {seq}, not the expected {expected} (= {old} + {consumed}): the segment is sent "
                  "again (a retransmission).") if f.seq < expected else
                _("Seq {seq}, not the expected {expected} (= {old} + {consumed}): bytes are missing before "
                  "it (a lost segment).")).format(seq=f.seq, expected=expected, old=same.seq, consumed=consumed)
