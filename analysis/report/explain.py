"""What the fields a TCP/ARP lab asks about mean in one frame, and what changed since the previous
frame of its connection: the explorer's one-sentence notes and its step mode.

    notes = ConnectionNotes(analysis)          # one pass over the frames (FIN positions, sides)
    notes.field_notes(dissection, frame)       # {"tcp.ack": "Ack=14: the server has received ..."}
    notes.step(frame)                          # ["Seq 1 -> 14: previous Seq 1 + Len 13 ...", ...]

The sentences are built from the analyzer's LabeledFrames (relative Seq/Ack, scaled window) and
the dissected fields, so they say what happened in *this* capture, not what a field is in general.
"""
from __future__ import annotations

from analysis import vocabulary
from analysis.model import ACK, FIN, SYN

# Wireshark's titles of the fields, as its packet-details pane writes them ("Sequence Number: 0")
FIELD_TITLES = {
    "frame.number": "Frame Number", "frame.time_epoch": "Epoch Arrival Time",
    "frame.len": "Frame Length", "frame.cap_len": "Capture Length",
    "eth.dst": "Destination", "eth.src": "Source", "eth.type": "Type",
    "arp.hw.type": "Hardware type", "arp.proto.type": "Protocol type", "arp.hw.size": "Hardware size",
    "arp.proto.size": "Protocol size", "arp.opcode": "Opcode", "arp.src.hw_mac": "Sender MAC address",
    "arp.src.proto_ipv4": "Sender IP address", "arp.dst.hw_mac": "Target MAC address",
    "arp.dst.proto_ipv4": "Target IP address",
    "ip.version": "Version", "ip.hdr_len": "Header Length", "ip.dsfield": "Differentiated Services Field",
    "ip.dsfield.dscp": "Differentiated Services Codepoint", "ip.dsfield.ecn": "Explicit Congestion Notification",
    "ip.len": "Total Length", "ip.id": "Identification", "ip.flags": "Flags", "ip.flags.rb": "Reserved bit",
    "ip.flags.df": "Don't fragment", "ip.flags.mf": "More fragments", "ip.frag_offset": "Fragment Offset",
    "ip.ttl": "Time to Live", "ip.proto": "Protocol", "ip.checksum": "Header Checksum",
    "ip.src": "Source Address", "ip.dst": "Destination Address",
    "tcp.srcport": "Source Port", "tcp.dstport": "Destination Port", "tcp.stream": "Stream index",
    "tcp.len": "TCP Segment Len", "tcp.seq": "Sequence Number (relative)",
    "tcp.seq_raw": "Sequence Number (raw)", "tcp.nxtseq": "Next Sequence Number (relative)",
    "tcp.ack": "Acknowledgment Number (relative)", "tcp.ack_raw": "Acknowledgment number (raw)",
    "tcp.hdr_len": "Header Length", "tcp.flags": "Flags", "tcp.flags.res": "Reserved",
    "tcp.flags.ae": "Accurate ECN", "tcp.flags.cwr": "Congestion Window Reduced", "tcp.flags.ece": "ECN-Echo",
    "tcp.flags.urg": "Urgent", "tcp.flags.ack": "Acknowledgment", "tcp.flags.push": "Push",
    "tcp.flags.reset": "Reset", "tcp.flags.syn": "Syn", "tcp.flags.fin": "Fin", "tcp.flags.str": "TCP Flags",
    "tcp.window_size_value": "Window", "tcp.window_size": "Calculated window size",
    "tcp.checksum": "Checksum", "tcp.urgent_pointer": "Urgent Pointer", "tcp.options": "Options",
    "tcp.options.mss": "Maximum segment size", "tcp.options.mss_val": "MSS Value",
    "tcp.options.sack_perm": "SACK permitted", "tcp.options.timestamp": "Timestamps",
    "tcp.options.timestamp.tsval": "Timestamp value", "tcp.options.timestamp.tsecr": "Timestamp echo reply",
    "tcp.options.nop": "No-Operation (NOP)", "tcp.options.wscale": "Window scale",
    "tcp.options.wscale.shift": "Shift count", "tcp.options.wscale.multiplier": "Multiplier",
    "tcp.option_kind": "Kind", "tcp.option_len": "Length", "tcp.payload": "TCP payload",
    "udp.srcport": "Source Port", "udp.dstport": "Destination Port", "udp.length": "Length",
    "udp.checksum": "Checksum", "data.data": "Data", "data.len": "Length",
}

_BOOL_FIELDS = {"tcp.flags.res", "tcp.flags.ae", "tcp.flags.cwr", "tcp.flags.ece", "tcp.flags.urg",
                "tcp.flags.ack", "tcp.flags.push", "tcp.flags.reset", "tcp.flags.syn", "tcp.flags.fin",
                "ip.flags.rb", "ip.flags.df", "ip.flags.mf"}


def shown(name: str, show: str) -> str:
    """A field's value as Wireshark's details pane prints it: flag bits as Set / Not set."""
    if name in _BOOL_FIELDS:
        return "Set" if show == "1" else "Not set"
    return show


def _has(frame, bit: int) -> int:
    """1 when the frame's TCP flags have `bit` (model.SYN, ACK, FIN...), else 0."""
    return 1 if frame.tcp_flags & bit else 0


def _consumed(frame) -> int:
    """Sequence space a segment takes: its data, plus one for a SYN and one for a FIN."""
    return frame.payload_len + _has(frame, SYN) + _has(frame, FIN)


class ConnectionNotes:
    """The per-connection facts the sentences need, from one pass over the analysis' frames."""

    def __init__(self, analysis) -> None:
        self._conns = {c.id: c for c in analysis.connections}
        self._fin_seq: dict[tuple[int, bool], int] = {}       # (conn, from client) -> FIN's seq
        self._prev: dict[int, object] = {}                    # frame number -> previous of conn
        self._prev_same: dict[int, object] = {}               # ... previous from the same side
        last: dict[int, object] = {}
        last_side: dict[tuple[int, bool], object] = {}
        for f in analysis.frames:
            if f.conn is None or f.seq is None:
                continue
            side = self.from_client(f)
            if _has(f, FIN):
                self._fin_seq.setdefault((f.conn, side), f.seq + f.payload_len)
            if f.conn in last:
                self._prev[f.number] = last[f.conn]
            if (f.conn, side) in last_side:
                self._prev_same[f.number] = last_side[(f.conn, side)]
            last[f.conn] = f
            last_side[(f.conn, side)] = f

    def from_client(self, f) -> bool:
        conn = self._conns.get(f.conn)
        return conn is None or (f.src == conn.orig_ip and f.sport == conn.orig_port)

    def _sides(self, f) -> tuple[str, str]:
        return ("client", "server") if self.from_client(f) else ("server", "client")

    # -- the details pane's notes ---------------------------------------------------------------

    def field_notes(self, dissection, f) -> dict[str, str]:
        values = {}
        for field in dissection.fields():
            values.setdefault(field.name, field.show)
        notes: dict[str, str] = {}
        eth_dst = values.get("eth.dst")
        if eth_dst == "ff:ff:ff:ff:ff:ff":
            notes["eth.dst"] = ("Broadcast: every host on this network receives the frame (the "
                                "sender does not know the target's MAC address yet).")
        elif eth_dst:
            notes["eth.dst"] = f"{eth_dst}: the network card this frame is addressed to on this link."
        if "eth.type" in values:
            kind = {"0x0806": "ARP", "0x0800": "IPv4", "0x86dd": "IPv6"}.get(values["eth.type"])
            if kind:
                notes["eth.type"] = f"{values['eth.type']}: what the Ethernet frame carries is {kind}."
        if "arp.opcode" in values:
            self._arp_notes(values, notes)
        if "ip.ttl" in values:
            ttl = values["ip.ttl"]
            notes["ip.ttl"] = (f"TTL={ttl}: each router on the way takes one off and drops the "
                               "packet at 0" + (" (64 is Linux's starting value: this packet crossed "
                                                "no router)." if ttl == "64" else "."))
        if "ip.id" in values:
            notes["ip.id"] = (f"Identification {values['ip.id']}: numbers the sender's IP packets, "
                              "so that fragments of one packet can be put back together"
                              + (" (Don't fragment is set: this one is never fragmented)."
                                 if values.get("ip.flags.df") == "1" else "."))
        if "ip.checksum" in values:
            notes["ip.checksum"] = ("The IP header checksum covers the 20 header bytes only (the "
                                    "TCP checksum covers the data); routers recompute it as TTL changes.")
        if f.conn is not None and f.seq is not None:
            self._tcp_notes(values, f, notes)
        return notes

    def _arp_notes(self, values, notes) -> None:
        spa, tpa = values.get("arp.src.proto_ipv4"), values.get("arp.dst.proto_ipv4")
        sha = values.get("arp.src.hw_mac")
        if values["arp.opcode"] == "1":
            notes["arp.opcode"] = f"1 (request): {spa} asks 'who has {tpa}? tell {spa}'."
            if values.get("arp.dst.hw_mac") == "00:00:00:00:00:00":
                notes["arp.dst.hw_mac"] = ("00:00:00:00:00:00: not known yet; finding it is what "
                                           "the request is for.")
        elif values["arp.opcode"] == "2":
            notes["arp.opcode"] = f"2 (reply): '{spa} is at {sha}', sent back to the asker only."
        if sha:
            notes["arp.src.hw_mac"] = (f"{sha}: the sender's MAC; the receiver stores {spa} -> "
                                       f"{sha} in its ARP cache.")

    def _tcp_notes(self, values, f, notes) -> None:
        me, peer = self._sides(f)
        notes["tcp.srcport"] = (f"{f.sport}: the {me}'s port" + (
            " (an ephemeral port its operating system picked)." if me == "client" else "."))
        notes["tcp.dstport"] = f"{f.dport}: the {peer}'s port."
        syn, fin = _has(f, SYN), _has(f, FIN)
        if syn:
            notes["tcp.seq"] = (f"Seq=0 (relative; raw {f.seq_raw}): the {me}'s initial sequence "
                                "number. The SYN itself takes one number, so its data will start at 1.")
        elif f.payload_len:
            notes["tcp.seq"] = (f"Seq={f.seq}: this segment carries the {me}'s bytes {f.seq}.."
                                f"{f.seq + f.payload_len - 1} (Len={f.payload_len}); the next one "
                                f"starts at {f.seq + f.payload_len}.")
        elif fin:
            notes["tcp.seq"] = (f"Seq={f.seq}: the FIN takes sequence number {f.seq}, right after "
                                f"the {me}'s {max(f.seq - 1, 0)} data bytes.")
        else:
            notes["tcp.seq"] = (f"Seq={f.seq}: no data in this segment; {f.seq} is the next byte "
                                f"the {me} will send.")
        if _has(f, ACK):
            notes["tcp.ack"] = self._ack_sentence(f, me, peer)
        else:
            notes["tcp.ack"] = "The ACK flag is not set, so the acknowledgment number means nothing here."
        if f.payload_len:
            notes["tcp.len"] = (f"Len={f.payload_len}: {f.payload_len} bytes of application data "
                                f"({f.direction or 'data'}).")
        raw = values.get("tcp.window_size_value")
        if raw is not None and f.window is not None:
            if str(f.window) == raw:
                notes["tcp.window_size_value"] = (
                    f"Window={raw}: the {me} can take {raw} more bytes beyond what it acknowledges"
                    + (" (windows in a SYN are never scaled)." if syn else "."))
            else:
                factor = f.window // int(raw) if int(raw) else 0
                notes["tcp.window_size_value"] = (
                    f"Window={raw} x {factor} (the scale the {me} announced in its SYN) = {f.window}: "
                    f"the {me} can take {f.window} more bytes beyond what it acknowledges.")
        flag_text = f.flags or "no flags"
        notes["tcp.flags"] = f"{flag_text}: " + vocabulary.LABELS.get(f.label, "")
        if "tcp.options.mss_val" in values:
            mss = values["tcp.options.mss_val"]
            notes["tcp.options.mss_val"] = (f"MSS={mss}: the {me} accepts segments of at most {mss} "
                                            "data bytes" + (" (a 1500-byte Ethernet MTU less 20 IP "
                                                            "and 20 TCP header bytes)." if mss == "1460" else "."))
        if "tcp.options.wscale.shift" in values:
            shift = int(values["tcp.options.wscale.shift"])
            notes["tcp.options.wscale.shift"] = (
                f"Shift {shift}: after the handshake the {me}'s Window field is to be multiplied by "
                f"2^{shift} = {2 ** shift} (only if both sides send this option).")
        if "tcp.options.sack_perm" in values:
            notes["tcp.options.sack_perm"] = (f"The {me} can take selective ACKs: which blocks "
                                              "arrived beyond a gap, so only the gap is sent again.")
        if "tcp.options.timestamp.tsval" in values:
            notes["tcp.options.timestamp.tsval"] = (
                f"TSval={values['tcp.options.timestamp.tsval']}: the {me}'s clock; the {peer} echoes "
                "it back in TSecr, which lets the {me} measure the round-trip time.".replace("{me}", me))

    def _ack_sentence(self, f, me: str, peer: str) -> str:
        fin = self._fin_seq.get((f.conn, not self.from_client(f)))
        if f.ack <= 1:
            return (f"Ack={f.ack}: the {me} has received the {peer}'s SYN (sequence number 0) "
                    f"and expects byte 1 next.")
        if fin is not None and f.ack > fin:
            data = f"bytes 1..{fin - 1} and its FIN" if fin > 1 else "FIN (no data)"
            return (f"Ack={f.ack}: the {me} has received the {peer}'s {data}, and expects "
                    f"{f.ack} next.")
        return (f"Ack={f.ack}: the {me} has received the {peer}'s bytes 1..{f.ack - 1} and expects "
                f"byte {f.ack} next.")

    # -- step mode ------------------------------------------------------------------------------

    def step(self, f) -> list[str]:
        """What changed since the previous frame of this frame's connection, and why."""
        why = vocabulary.LABELS.get(f.label, "")
        if f.conn is None or f.seq is None:
            return [why]
        me, peer = self._sides(f)
        prev = self._prev.get(f.number)
        if prev is None:
            return [f"First frame of connection {f.conn}: the {me} starts it. {why}"]
        out = [f"Since frame {prev.number} ({prev.flags or 'no flags'}, "
               f"{'client' if self.from_client(prev) else 'server'} -> "
               f"{'server' if self.from_client(prev) else 'client'}): {why}"]
        if prev.flags != f.flags:
            out.append(f"Flags {prev.flags or 'none'} -> {f.flags or 'none'}.")
        same = self._prev_same.get(f.number)
        if same is None:
            out.append(f"The {me}'s first segment: Seq=0 is its initial sequence number (raw "
                       f"{f.seq_raw})." if _has(f, SYN) else f"The {me}'s first segment.")
            if _has(f, ACK):
                out.append(f"Ack={f.ack}: the {peer}'s ISN + 1, because its SYN took one sequence number.")
            return out
        expected = same.seq + _consumed(same)
        taken = (f"{same.payload_len} data bytes" + (" + SYN" if _has(same, SYN) else "")
                 + (" + FIN" if _has(same, FIN) else ""))
        if f.seq == expected:
            if f.seq != same.seq:
                out.append(f"Seq {same.seq} -> {f.seq}: the {me}'s previous Seq {same.seq} + "
                           f"{_consumed(same)} ({taken} in frame {same.number}).")
            else:
                out.append(f"Seq stays {f.seq}: the {me}'s previous segment (frame {same.number}) "
                           "took no sequence space.")
        else:
            out.append(f"Seq {f.seq}, not the expected {expected} (= {same.seq} + {_consumed(same)}): "
                       + ("the segment is sent again (a retransmission)." if f.seq < expected
                          else "bytes are missing before it (a lost segment)."))
        if _has(f, ACK) and same.ack is not None and f.ack != same.ack:
            if _has(same, ACK):
                out.append(f"Ack {same.ack} -> {f.ack}: the {me} now acknowledges "
                           f"{f.ack - same.ack} more of the {peer}'s sequence space.")
            else:
                out.append(f"Ack={f.ack}: the {me}'s first acknowledgment (the {peer}'s ISN + 1).")
        if f.window is not None and same.window is not None and f.window != same.window:
            out.append(f"Window {same.window} -> {f.window}: "
                       + ("the window scale now applies (the handshake is done)."
                          if _has(same, SYN) else
                          f"the {me}'s receive buffer has {'more' if f.window > same.window else 'less'} room."))
        if f.analysis:
            out.append("Wireshark flags it: " + ", ".join(f.analysis) + ".")
        return out
