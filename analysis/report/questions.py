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
"""
from __future__ import annotations

from typing import NamedTuple

from analysis.model import Connection, LabeledFrame
from analysis.vocabulary import frame_filter
from analysis.session.arp import BROADCAST_MAC, ArpFields, arp_fields, mac_to_ip  # noqa: F401 (re-exported)
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

def connection_answers(analysis, conn: int) -> list[Answer]:
    """Every per-connection question of the lab, in the order the lab asks them."""
    c = analysis.connection(conn)
    frames = analysis.frames_of(conn)
    syn, synack = _first(frames, "syn"), _first(frames, "syn-ack")
    out: list[Answer] = []

    def add(key, question, answer, used=(), value=None):
        out.append(Answer(key, conn, question, answer, tuple(f.number for f in used if f), value))

    add("endpoints", "What are the client's and the server's IP address and port?",
        f"Client {c.orig_ip} port {c.orig_port} (it sent the SYN, an ephemeral port); server "
        f"{c.resp_ip} port {c.resp_port} (the port it listens on).", [syn or frames[0]], c.orig)
    if syn is None:
        add("syn", "What is the SYN's sequence number, and what marks the segment as a SYN?",
            "No SYN in this capture: it started after the connection was opened.")
    else:
        add("syn", "What is the SYN's sequence number (raw and relative), and what marks the "
            "segment as a SYN?",
            f"Raw sequence number {syn.seq_raw} (the client's ISN), relative {syn.seq}: Wireshark "
            f"counts from the ISN. The SYN flag is set and ACK is not (flags {syn.flags}; "
            f"tcp.flags.syn == 1 && tcp.flags.ack == 0).", [syn], syn.seq_raw)
    if synack is None:
        reset = _first(frames, "rst")
        why = (f" The server answered with RST (frame {reset.number}): nothing listens on port "
               f"{c.resp_port}, the connection is refused." if reset is not None else "")
        add("syn-ack", "What are the SYN-ACK's sequence and acknowledgement numbers?",
            "No SYN-ACK in this capture." + why, [reset] if reset else [])
    else:
        derived = ""
        if syn is not None and synack.ack_raw is not None and syn.seq_raw is not None:
            ok = synack.ack_raw == (syn.seq_raw + 1) & 0xFFFFFFFF
            derived = (f" The ACK is the client's ISN + 1 = {syn.seq_raw} + 1 = {synack.ack_raw}"
                       if ok else f" (the ACK {synack.ack_raw} is not the ISN {syn.seq_raw} + 1)")
            derived += ": a SYN takes one sequence number, so the server expects byte ISN + 1 next."
        add("syn-ack", "What are the SYN-ACK's sequence and acknowledgement numbers, and how is "
            "the ACK derived?",
            f"Seq {synack.seq_raw} raw (the server's ISN), relative {synack.seq}; Ack "
            f"{synack.ack_raw} raw, relative {synack.ack} (flags {synack.flags})." + derived,
            [syn, synack], synack.ack_raw)
    first = next((f for f in frames if f.payload_len > 0), None)
    if first is None:
        add("first-data", "What is the first data segment's sequence number and length?",
            "No segment in this connection carries data.")
    else:
        add("first-data", "What is the first data segment's sequence number and length?",
            f"Frame {first.number} ({side_of(first, c)} to "
            f"{'server' if side_of(first, c) == 'client' else 'client'}, flags {first.flags}): "
            f"relative Seq {first.seq} (raw {first.seq_raw}), {first.payload_len} bytes of "
            f"payload (tcp.len), so the next segment starts at Seq {(first.seq or 0) + first.payload_len}.",
            [first], first.payload_len)
    # tshark's initial_rtt stops at the first frame after the SYN with ACK and without SYN: the
    # handshake ACK normally, the RST,ACK of a refused connection.
    stop = next((f for f in frames if syn is not None and f.number > syn.number
                 and has_ack(f) and "SYN" not in f.flags.split(",")), None)
    if c.irtt is None or stop is None:
        add("irtt", "What is the initial RTT (iRTT)?", "No SYN answered by an ACK, so no iRTT.")
    else:
        what = ("the ACK that completes the handshake" if stop.label == "handshake-ack" else
                f"the {stop.flags} in frame {stop.number} (no handshake completed)")
        add("irtt", "What is the initial RTT (iRTT)?", f"{_ms(c.irtt)}: from the SYN to {what} "
            "(Wireshark's tcp.analysis.initial_rtt).", [syn, stop], c.irtt)
    out += _latency_answers(analysis, conn)
    out.append(_estimated_rtt_answer(analysis, conn))
    out.append(_retransmission_answer(frames, conn))
    out.append(_acked_answer(analysis, conn))
    out.append(_throughput_answer(analysis, conn))
    out.append(_closed_answer(c, frames))
    return out


def _latency_answers(analysis, conn: int) -> list[Answer]:
    result = []
    exchanges = [e for e in analysis.exchanges if e.conn == conn]
    for number, e in enumerate(exchanges, 1):
        frames = (e.request_frame,) + ((e.response_frame,) if e.response_frame else ())
        text = (f"{_ms(e.latency)} from the request (frame {e.request_frame}) to the response "
                f"(frame {e.response_frame}): {e.response!r}." if e.latency is not None
                else "No response in the capture.")
        result.append(Answer(f"latency-{number}", conn, f"How long did request {number} "
                             f"({e.request!r}) wait for its response?", text, frames, e.latency))
    return result


def _estimated_rtt_answer(analysis, conn: int) -> Answer:
    estimate = estimated_rtt(analysis, conn)
    question = (f"What is the EstimatedRTT over the first {RTT_SEGMENTS} data segments "
                f"(alpha = {ALPHA})?")
    if not estimate.samples:
        return Answer("estimated-rtt", conn, question, "No client data segment was acknowledged: "
                      "no RTT sample.", ())
    steps = "; ".join(f"frame {s.frame} -> ACK in frame {s.ack_frame}: SampleRTT {_ms(s.rtt)}, "
                      f"EstimatedRTT {_ms(e)}" for s, e in zip(estimate.samples, estimate.estimates))
    text = (f"{_ms(estimate.final)} after {len(estimate.samples)} samples. EstimatedRTT = "
            f"(1 - {ALPHA}) * EstimatedRTT + {ALPHA} * SampleRTT, starting from the first sample; "
            f"a sample runs from a data segment to the ACK that covers it (retransmitted segments "
            f"give none). {steps}.")
    frames = tuple(n for s in estimate.samples for n in (s.frame, s.ack_frame))
    return Answer("estimated-rtt", conn, question, text, frames, estimate.final)


def _retransmission_answer(frames: list[LabeledFrame], conn: int) -> Answer:
    question = "Was any segment retransmitted, and how does it show?"
    repeats = [f for f in frames if is_retransmission(f)]
    dups = [f for f in frames if "duplicate-ack" in f.analysis]
    if not repeats:
        return Answer("retransmissions", conn, question,
                      "No: no segment repeats sequence numbers already sent "
                      "(tcp.analysis.retransmission matches nothing).", (), 0)
    parts = []
    for frame in repeats[:8]:
        original = next((f for f in frames if f.number < frame.number and f.src == frame.src
                         and f.sport == frame.sport and f.seq == frame.seq and f.flags == frame.flags), None)
        again = (f" again, first sent in frame {original.number} {_ms(frame.time - original.time)} "
                 "earlier" if original is not None else "")
        parts.append(f"frame {frame.number} sends {frame.label} Seq={frame.seq} "
                     f"Len={frame.payload_len}{again}")
    more = f" and {len(repeats) - 8} more" if len(repeats) > 8 else ""
    text = (f"Yes, {len(repeats)}: " + "; ".join(parts) + more + ". Wireshark marks them "
            "[TCP Retransmission] (filter tcp.analysis.retransmission): the same sequence numbers "
            "sent twice, after the sender's timer ran out waiting for an ACK.")
    if dups:
        text += (f" {len(dups)} duplicate ACK(s) (frames {', '.join(str(f.number) for f in dups[:8])}) "
                 "repeat an acknowledgement the receiver had already sent.")
    return Answer("retransmissions", conn, question, text,
                  tuple(f.number for f in repeats + dups), len(repeats))


def _acked_answer(analysis, conn: int) -> Answer:
    acks = acked_bytes(analysis, conn)
    question = "How many bytes does each ACK acknowledge?"
    if not acks:
        return Answer("bytes-acked", conn, question, "No ACK acknowledges data here.", ())
    listed = "; ".join(f"frame {a.frame} ({a.side}): {a.acked}" for a in acks[:16])
    more = f"; ... {len(acks) - 16} more" if len(acks) > 16 else ""
    sizes = [a.acked for a in acks]
    text = (f"{listed}{more}. Between {min(sizes)} and {max(sizes)} bytes, "
            f"{sum(sizes) / len(sizes):.1f} on average: the ACK number minus the side's previous "
            "ACK number (an ACK is cumulative, and a FIN counts 1).")
    return Answer("bytes-acked", conn, question, text, tuple(a.frame for a in acks),
                  sum(sizes) / len(sizes))


def _throughput_answer(analysis, conn: int) -> Answer:
    parts, used, value = [], [], None
    for side, name in (("client", "requests"), ("server", "responses")):
        t = throughput(analysis, conn, side)
        if t is None:
            continue
        value = t.bytes_per_second if side == "client" else value
        parts.append(f"{name}: {t.bytes} bytes in {_ms(t.seconds)} (frames {t.first_frame} to "
                     f"{t.last_frame}) = {_rate(t.bytes_per_second)}")
        used += [t.first_frame, t.last_frame]
    text = ("; ".join(parts) + ". Throughput = payload bytes / time from the first data segment "
            "to the ACK of the last byte.") if parts else "No data, so no throughput."
    return Answer("throughput", conn, "What is the throughput?", text, tuple(used), value)


def _closed_answer(c: Connection, frames: list[LabeledFrame]) -> Answer:
    question = "Who closed the connection first?"
    closer = next((f for f in frames if f.label in ("fin", "rst")), None)
    if c.closed_by is None or closer is None:
        return Answer("closed-first", c.id, question,
                      "Nobody: no FIN or RST in the capture, the connection was still open.", (), None)
    who = f"the {'client' if c.closed_by == 'orig' else 'server'} ({c.orig if c.closed_by == 'orig' else c.resp})"
    teardown = [f for f in frames if f.phase in ("teardown", "reset")]
    how = {"fin-both": "then the other side sent its FIN and the last ACK closed it gracefully",
           "fin-one": "only one FIN was seen (half-closed, or the capture stopped)",
           "fin-rst": "then a RST ended it", "rst": "a RST aborted (or refused) it, no FIN"}
    text = (f"{who}: its {closer.flags} in frame {closer.number}; {how.get(c.end, c.end)} "
            f"(end: {c.end}, Zeek state {c.conn_state}).")
    return Answer("closed-first", c.id, question, text, tuple(f.number for f in teardown), c.closed_by)


def arp_answers(analysis) -> list[Answer]:
    """Who asked, who answered, the broadcast destination, the opcodes."""
    requests = [(f, arp_fields(f)) for f in analysis.frames if f.label == "arp-request"]
    replies = [(f, arp_fields(f)) for f in analysis.frames if f.label == "arp-reply"]
    requests = [(f, a) for f, a in requests if a is not None]
    replies = [(f, a) for f, a in replies if a is not None]
    out: list[Answer] = []
    if not requests and not replies:
        return out
    if requests:
        asked = "; ".join(f"{a.sender_ip} ({a.sender_mac}) asked who has {a.target_ip} in frame "
                          f"{f.number}" for f, a in requests[:6])
        out.append(Answer("arp-who-asked", None, "Who sent the ARP request, and for which address?",
                          asked + ".", tuple(f.number for f, _ in requests), requests[0][1].sender_ip))
        broadcast = [f for f, a in requests if a.target_mac.lower() == BROADCAST_MAC]
        dst = ", ".join(sorted({a.target_mac for _, a in requests}))
        out.append(Answer("arp-broadcast", None, "To which address is the ARP request sent?",
                          f"{dst}: " + ("the Ethernet broadcast address, so every host on the LAN "
                                        "receives it - the asker does not know the owner's MAC yet."
                                        if broadcast else "a unicast address (a host re-checking "
                                        "an entry it already has)."),
                          tuple(f.number for f, _ in requests), dst))
    if replies:
        answered = "; ".join(f"{a.sender_ip} answered '{a.sender_ip} is at {a.sender_mac}' to "
                             f"{a.target_mac} in frame {f.number}" for f, a in replies[:6])
        out.append(Answer("arp-who-answered", None, "Who answered, and with what?",
                          answered + " (a reply goes straight back to the asker, unicast).",
                          tuple(f.number for f, _ in replies), replies[0][1].sender_ip))
    ops = []
    if requests:
        ops.append(f"opcode 1 (request) in frame{'s' if len(requests) > 1 else ''} "
                   + ", ".join(str(f.number) for f, _ in requests))
    if replies:
        ops.append(f"opcode 2 (reply) in frame{'s' if len(replies) > 1 else ''} "
                   + ", ".join(str(f.number) for f, _ in replies))
    out.append(Answer("arp-opcodes", None, "Which ARP opcodes appear?",
                      "; ".join(ops) + " (Wireshark: arp.opcode == 1 / arp.opcode == 2).",
                      tuple(sorted(f.number for f, _ in requests + replies)),
                      ",".join(str(n) for n in ((1,) if requests else ()) + ((2,) if replies else ()))))
    return out


def answer_all(analysis) -> list[Answer]:
    """The ARP answers, then every connection's answers."""
    answers = arp_answers(analysis)
    for connection in analysis.connections:
        answers += connection_answers(analysis, connection.id)
    return answers


__all__ = ["Answer", "ArpFields", "AckedBytes", "RttSample", "RttEstimate", "Throughput", "ALPHA",
           "RTT_SEGMENTS", "answer_all", "arp_answers", "connection_answers", "arp_fields",
           "mac_to_ip", "rtt_samples", "estimated_rtt", "acked_bytes", "throughput"]
