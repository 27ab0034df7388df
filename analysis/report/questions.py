"""The questions a TCP lab asks, answered from a capture - each answer with the frames it comes from.

    from analysis import analyze
    from analysis.report.questions import answer_all
    for answer in answer_all(analyze("reqresp.pcap")):
        print(answer.question, "->", answer.answer, answer.frames)

Everything here is a pure function of an `Analysis`: nothing is read again from the file. The
per-connection questions follow the classic Wireshark TCP lab (Kurose & Ross): the endpoints, the
SYN and its sequence numbers, how the SYN-ACK's ACK is derived, the first data segment, the
initial RTT, each request's latency, the EstimatedRTT (alpha = 0.125) over the first data
segments, retransmissions, bytes acknowledged per ACK, throughput, who closed first. The ARP
questions: who asked, who answered, the broadcast destination, opcodes 1 and 2.

The sentences are English templates with named fields, said in the language asked for
(`lang=`, English by default; `t` inside is its gettext translation); the numbers stay data.
"""
from __future__ import annotations

from typing import NamedTuple

from analysis.i18n import translation
from analysis.model import Connection, LabeledFrame
from analysis.vocabulary import frame_filter
from analysis.model import SYN
from analysis.session.arp import BROADCAST_MAC, mac_to_ip  # noqa: F401 (re-exported)
from analysis.tcp.measures import (ALPHA, RTT_SEGMENTS, AckedBytes, RttEstimate, RttSample,
                           Throughput, acked_bytes, estimated_rtt, has_ack, is_retransmission, rtt_samples,
                           side_of, throughput)

# --- records -------------------------------------------------------------------------------------

class Answer(NamedTuple):
    """One lab question answered: the sentence, the number behind it, the frames to look at."""

    key: str                    # stable id: "syn", "irtt", "latency-2", "arp-opcodes", ...
    conn: int | None            # the connection it is about (None for ARP)
    question: str
    answer: str
    frames: tuple[int, ...]     # frame numbers the answer is read from
    value: float | int | str | None = None   # the number itself (seconds, bytes, raw seq, ...)

    @property
    def wireshark_filter(self) -> str:
        """A display filter that shows exactly these frames in Wireshark."""
        # commas: tshark 4.0 rejects a set whose members are separated by spaces only
        return frame_filter(self.frames) if self.frames else ""


# --- helpers -------------------------------------------------------------------------------------

def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.3f} ms"


def _first(frames, label: str) -> LabeledFrame | None:
    return next((f for f in frames if f.label == label), None)


def _rate(bytes_per_second: float | None) -> str:
    if bytes_per_second is None:
        return "-"
    for unit, size in (("MB/s", 1e6), ("kB/s", 1e3)):
        if bytes_per_second >= size:
            return f"{bytes_per_second / size:.1f} {unit}"
    return f"{bytes_per_second:.0f} B/s"


# --- the answers ---------------------------------------------------------------------------------

def connection_answers(analysis, conn: int, lang: str = "en", t=None) -> list[Answer]:
    """Every per-connection question of the lab, in the order the lab asks them."""
    t = translation(lang) if t is None else t
    _ = t.gettext
    c = analysis.connection(conn)
    frames = analysis.frames_of(conn)
    syn, synack = _first(frames, "syn"), _first(frames, "syn-ack")
    out: list[Answer] = []

    def add(key, question, answer, used=(), value=None):
        out.append(Answer(key, conn, question, answer, tuple(f.number for f in used if f), value))

    add("endpoints", _("What are the client's and the server's IP address and port?"),
        _("Client {orig_ip} port {orig_port} (it sent the SYN, an ephemeral port); server "
          "{resp_ip} port {resp_port} (the port it listens on).").format(
            orig_ip=c.orig_ip, orig_port=c.orig_port, resp_ip=c.resp_ip, resp_port=c.resp_port),
        [syn or frames[0]], c.orig)
    if syn is None:
        add("syn", _("What is the SYN's sequence number, and what marks the segment as a SYN?"),
            _("No SYN in this capture: it started after the connection was opened."))
    else:
        add("syn", _("What is the SYN's sequence number (raw and relative), and what marks the "
                     "segment as a SYN?"),
            _("Raw sequence number {seq_raw} (the client's ISN), relative {seq}: Wireshark "
              "counts from the ISN. The SYN flag is set and ACK is not (flags {flags}; "
              "tcp.flags.syn == 1 && tcp.flags.ack == 0).").format(
                seq_raw=syn.seq_raw, seq=syn.seq, flags=syn.flags), [syn], syn.seq_raw)
    if synack is None:
        reset = _first(frames, "rst")
        why = (" " + _("The server answered with RST (frame {frame}): nothing listens on port "
                       "{port}, the connection is refused.").format(frame=reset.number, port=c.resp_port)
               if reset is not None else "")
        add("syn-ack", _("What are the SYN-ACK's sequence and acknowledgement numbers?"),
            _("No SYN-ACK in this capture.") + why, [reset] if reset else [])
    else:
        derived = ""
        if syn is not None and synack.ack_raw is not None and syn.seq_raw is not None:
            ok = synack.ack_raw == (syn.seq_raw + 1) & 0xFFFFFFFF
            derived = (" " + _("The ACK is the client's ISN + 1 = {isn} + 1 = {ack}")
                       if ok else " " + _("(the ACK {ack} is not the ISN {isn} + 1)")).format(
                isn=syn.seq_raw, ack=synack.ack_raw)
            derived += _(": a SYN takes one sequence number, so the server expects byte ISN + 1 next.")
        add("syn-ack", _("What are the SYN-ACK's sequence and acknowledgement numbers, and how is "
                         "the ACK derived?"),
            _("Seq {seq_raw} raw (the server's ISN), relative {seq}; Ack "
              "{ack_raw} raw, relative {ack} (flags {flags}).").format(
                seq_raw=synack.seq_raw, seq=synack.seq, ack_raw=synack.ack_raw, ack=synack.ack,
                flags=synack.flags) + derived,
            [syn, synack], synack.ack_raw)
    first = next((f for f in frames if f.payload_len > 0), None)
    if first is None:
        add("first-data", _("What is the first data segment's sequence number and length?"),
            _("No segment in this connection carries data."))
    else:
        add("first-data", _("What is the first data segment's sequence number and length?"),
            (_("Frame {frame} (client to server, flags {flags}): ") if side_of(first, c) == "client"
             else _("Frame {frame} (server to client, flags {flags}): ")).format(
                frame=first.number, flags=first.flags)
            + t.ngettext("relative Seq {seq} (raw {seq_raw}), {count} byte of payload (tcp.len), so "
                         "the next segment starts at Seq {next}.",
                         "relative Seq {seq} (raw {seq_raw}), {count} bytes of payload (tcp.len), so "
                         "the next segment starts at Seq {next}.", first.payload_len).format(
                seq=first.seq, seq_raw=first.seq_raw, count=first.payload_len,
                next=(first.seq or 0) + first.payload_len),
            [first], first.payload_len)
    # tshark's initial_rtt stops at the first frame after the SYN with ACK and without SYN: the
    # handshake ACK normally, the RST,ACK of a refused connection.
    stop = next((f for f in frames if syn is not None and f.number > syn.number
                 and has_ack(f) and not f.tcp_flags & SYN), None)
    if c.irtt is None or stop is None:
        add("irtt", _("What is the initial RTT (iRTT)?"), _("No SYN answered by an ACK, so no iRTT."))
    else:
        what = (_("{rtt}: from the SYN to the ACK that completes the handshake "
                  "(Wireshark's tcp.analysis.initial_rtt).") if stop.label == "handshake-ack" else
                _("{rtt}: from the SYN to the {flags} in frame {frame} (no handshake completed) "
                  "(Wireshark's tcp.analysis.initial_rtt)."))
        add("irtt", _("What is the initial RTT (iRTT)?"),
            what.format(rtt=_ms(c.irtt), flags=stop.flags, frame=stop.number), [syn, stop], c.irtt)
    out += _latency_answers(analysis, conn, t)
    out.append(_estimated_rtt_answer(analysis, conn, t))
    out.append(_retransmission_answer(frames, conn, t))
    out.append(_acked_answer(analysis, conn, t))
    out.append(_throughput_answer(analysis, conn, t))
    out.append(_closed_answer(c, frames, t))
    return out


def _latency_answers(analysis, conn: int, t) -> list[Answer]:
    _ = t.gettext
    result = []
    exchanges = analysis.exchanges_of(conn)
    for number, e in enumerate(exchanges, 1):
        frames = (e.request_frame,) + ((e.response_frame,) if e.response_frame else ())
        text = (_("{latency} from the request (frame {request_frame}) to the response "
                  "(frame {response_frame}): {response!r}.").format(
                    latency=_ms(e.latency), request_frame=e.request_frame,
                    response_frame=e.response_frame, response=e.response) if e.latency is not None
                else _("No response in the capture."))
        result.append(Answer(f"latency-{number}", conn, _("How long did request {number} "
                             "({request!r}) wait for its response?").format(number=number, request=e.request),
                             text, frames, e.latency))
    return result


def _estimated_rtt_answer(analysis, conn: int, t) -> Answer:
    _ = t.gettext
    estimate = estimated_rtt(analysis, conn)
    question = _("What is the EstimatedRTT over the first {segments} data segments "
                 "(alpha = {alpha})?").format(segments=RTT_SEGMENTS, alpha=ALPHA)
    if not estimate.samples:
        return Answer("estimated-rtt", conn, question, _("No client data segment was acknowledged: "
                      "no RTT sample."), ())
    steps = "; ".join(_("frame {frame} -> ACK in frame {ack_frame}: SampleRTT {rtt}, "
                        "EstimatedRTT {estimate}").format(frame=s.frame, ack_frame=s.ack_frame,
                                                          rtt=_ms(s.rtt), estimate=_ms(e))
                      for s, e in zip(estimate.samples, estimate.estimates))
    text = t.ngettext(
        "{rtt} after {count} sample. EstimatedRTT = (1 - {alpha}) * EstimatedRTT + {alpha} * "
        "SampleRTT, starting from the first sample; a sample runs from a data segment to the ACK "
        "that covers it (retransmitted segments give none). {steps}.",
        "{rtt} after {count} samples. EstimatedRTT = (1 - {alpha}) * EstimatedRTT + {alpha} * "
        "SampleRTT, starting from the first sample; a sample runs from a data segment to the ACK "
        "that covers it (retransmitted segments give none). {steps}.",
        len(estimate.samples)).format(rtt=_ms(estimate.final), count=len(estimate.samples),
                                      alpha=ALPHA, steps=steps)
    frames = tuple(n for s in estimate.samples for n in (s.frame, s.ack_frame))
    return Answer("estimated-rtt", conn, question, text, frames, estimate.final)


def _retransmission_answer(frames: list[LabeledFrame], conn: int, t) -> Answer:
    _ = t.gettext
    question = _("Was any segment retransmitted, and how does it show?")
    repeats = [f for f in frames if is_retransmission(f)]
    dups = [f for f in frames if "duplicate-ack" in f.analysis]
    if not repeats:
        return Answer("retransmissions", conn, question,
                      _("No: no segment repeats sequence numbers already sent "
                        "(tcp.analysis.retransmission matches nothing)."), (), 0)
    parts = []
    for frame in repeats[:8]:
        original = next((f for f in frames if f.number < frame.number and f.src == frame.src
                         and f.sport == frame.sport and f.seq == frame.seq and f.tcp_flags == frame.tcp_flags), None)
        again = (" " + _("again, first sent in frame {frame} {delay} earlier").format(
                     frame=original.number, delay=_ms(frame.time - original.time))
                 if original is not None else "")
        parts.append(_("frame {frame} sends {label} Seq={seq} Len={length}").format(
            frame=frame.number, label=frame.label, seq=frame.seq, length=frame.payload_len) + again)
    more = " " + _("and {count} more").format(count=len(repeats) - 8) if len(repeats) > 8 else ""
    text = (_("Yes, {count}: ").format(count=len(repeats)) + "; ".join(parts) + more + ". "
            + _("Wireshark marks them [TCP Retransmission] (filter tcp.analysis.retransmission): "
                "the same sequence numbers sent twice, after the sender's timer ran out waiting "
                "for an ACK."))
    if dups:
        text += " " + t.ngettext(
            "{count} duplicate ACK (frames {frames}) repeats an acknowledgement the receiver had "
            "already sent.",
            "{count} duplicate ACKs (frames {frames}) repeat an acknowledgement the receiver had "
            "already sent.", len(dups)).format(count=len(dups),
                                               frames=", ".join(str(f.number) for f in dups[:8]))
    return Answer("retransmissions", conn, question, text,
                  tuple(f.number for f in repeats + dups), len(repeats))


def _acked_answer(analysis, conn: int, t) -> Answer:
    _ = t.gettext
    acks = acked_bytes(analysis, conn)
    question = _("How many bytes does each ACK acknowledge?")
    if not acks:
        return Answer("bytes-acked", conn, question, _("No ACK acknowledges data here."), ())
    listed = "; ".join(_("frame {frame} ({side}): {acked}").format(frame=a.frame, side=a.side, acked=a.acked)
                       for a in acks[:16])
    more = "; ... " + _("{count} more").format(count=len(acks) - 16) if len(acks) > 16 else ""
    sizes = [a.acked for a in acks]
    text = (f"{listed}{more}. " + _("Between {low} and {high} bytes, {mean} on average: the ACK "
                                    "number minus the side's previous ACK number (an ACK is "
                                    "cumulative, and a FIN counts 1).").format(
        low=min(sizes), high=max(sizes), mean=f"{sum(sizes) / len(sizes):.1f}"))
    return Answer("bytes-acked", conn, question, text, tuple(a.frame for a in acks),
                  sum(sizes) / len(sizes))


def _throughput_answer(analysis, conn: int, t_) -> Answer:
    _ = t_.gettext
    parts, used, value = [], [], None
    for side, name in (("client", _("requests")), ("server", _("responses"))):
        t = throughput(analysis, conn, side)
        if t is None:
            continue
        value = t.bytes_per_second if side == "client" else value
        parts.append(t_.ngettext("{name}: {count} byte in {time} (frames {first} to {last}) = {rate}",
                                 "{name}: {count} bytes in {time} (frames {first} to {last}) = {rate}",
                                 t.bytes).format(name=name, count=t.bytes, time=_ms(t.seconds),
                                                 first=t.first_frame, last=t.last_frame,
                                                 rate=_rate(t.bytes_per_second)))
        used += [t.first_frame, t.last_frame]
    text = ("; ".join(parts) + ". " + _("Throughput = payload bytes / time from the first data segment "
            "to the ACK of the last byte.")) if parts else _("No data, so no throughput.")
    return Answer("throughput", conn, _("What is the throughput?"), text, tuple(used), value)


def _closed_answer(c: Connection, frames: list[LabeledFrame], t) -> Answer:
    _ = t.gettext
    question = _("Who closed the connection first?")
    closer = next((f for f in frames if f.label in ("fin", "rst")), None)
    if c.closed_by is None or closer is None:
        return Answer("closed-first", c.id, question,
                      _("Nobody: no FIN or RST in the capture, the connection was still open."), (), None)
    who = (_("the client ({endpoint})") if c.closed_by == "orig" else _("the server ({endpoint})")).format(
        endpoint=c.orig if c.closed_by == "orig" else c.resp)
    teardown = [f for f in frames if f.phase in ("teardown", "reset")]
    how = {"fin-both": _("then the other side sent its FIN and the last ACK closed it gracefully"),
           "fin-one": _("only one FIN was seen (half-closed, or the capture stopped)"),
           "fin-rst": _("then a RST ended it"), "rst": _("a RST aborted (or refused) it, no FIN")}
    text = _("{who}: its {flags} in frame {frame}; {how} (end: {end}, Zeek state {state}).").format(
        who=who, flags=closer.flags, frame=closer.number, how=how.get(c.end, c.end), end=c.end,
        state=c.conn_state)
    return Answer("closed-first", c.id, question, text, tuple(f.number for f in teardown), c.closed_by)


def arp_answers(analysis, lang: str = "en", t=None) -> list[Answer]:
    """Who asked, who answered, the broadcast destination, the opcodes."""
    t = translation(lang) if t is None else t
    _ = t.gettext
    # ARP labels are always of phase "arp" (vocabulary.LABEL_PHASE): the lazy frames of a big
    # capture make only those, picked by column, instead of every frame twice
    arp = analysis.phase("arp")
    requests = [(f, f.arp) for f in arp if f.label == "arp-request" and f.arp is not None]
    replies = [(f, f.arp) for f in arp if f.label == "arp-reply" and f.arp is not None]
    out: list[Answer] = []
    if not requests and not replies:
        return out
    if requests:
        asked = "; ".join(_("{ip} ({mac}) asked who has {target} in frame {frame}").format(
            ip=a.spa, mac=f.src, target=a.tpa, frame=f.number) for f, a in requests[:6])
        out.append(Answer("arp-who-asked", None, _("Who sent the ARP request, and for which address?"),
                          asked + ".", tuple(f.number for f, _a in requests), requests[0][1].spa))
        # the request's Ethernet destination (its ARP target hardware address is still unknown)
        broadcast = [f for f, _a in requests if f.dst.lower() == BROADCAST_MAC]
        dst = ", ".join(sorted({f.dst for f, _a in requests}))
        out.append(Answer("arp-broadcast", None, _("To which address is the ARP request sent?"),
                          f"{dst}: " + (_("the Ethernet broadcast address, so every host on the LAN "
                                          "receives it - the asker does not know the owner's MAC yet.")
                                        if broadcast else _("a unicast address (a host re-checking "
                                                            "an entry it already has).")),
                          tuple(f.number for f, _a in requests), dst))
    if replies:
        # the quoted reply is Wireshark's Info column, kept as Wireshark writes it
        answered = "; ".join(_("{ip} answered '{ip} is at {mac}' to {target} in frame {frame}").format(
            ip=a.spa, mac=a.sha, target=f.dst, frame=f.number) for f, a in replies[:6])
        out.append(Answer("arp-who-answered", None, _("Who answered, and with what?"),
                          answered + " " + _("(a reply goes straight back to the asker, unicast)."),
                          tuple(f.number for f, _a in replies), replies[0][1].spa))
    ops = []
    if requests:
        ops.append(t.ngettext("opcode 1 (request) in frame {frames}", "opcode 1 (request) in frames {frames}",
                              len(requests)).format(frames=", ".join(str(f.number) for f, _a in requests)))
    if replies:
        ops.append(t.ngettext("opcode 2 (reply) in frame {frames}", "opcode 2 (reply) in frames {frames}",
                              len(replies)).format(frames=", ".join(str(f.number) for f, _a in replies)))
    out.append(Answer("arp-opcodes", None, _("Which ARP opcodes appear?"),
                      "; ".join(ops) + " (Wireshark: arp.opcode == 1 / arp.opcode == 2).",
                      tuple(sorted(f.number for f, _a in requests + replies)),
                      ",".join(str(n) for n in ((1,) if requests else ()) + ((2,) if replies else ()))))
    return out


def answer_all(analysis, lang: str = "en", max_connections: int | None = None) -> list[Answer]:
    """The ARP answers, then every connection's answers (of the first `max_connections`), in `lang`."""
    t = translation(lang)
    answers = arp_answers(analysis, t=t)
    for connection in analysis.connections[:max_connections]:
        answers += connection_answers(analysis, connection.id, t=t)
    return answers


__all__ = ["Answer", "AckedBytes", "RttSample", "RttEstimate", "Throughput", "ALPHA",
           "RTT_SEGMENTS", "answer_all", "arp_answers", "connection_answers",
           "mac_to_ip", "rtt_samples", "estimated_rtt", "acked_bytes", "throughput"]
