"""The closed set of checks a rubric may name, each with its parameters (README, "Grading a class").

A check reads a `LabView` (lab_view.py) and returns an `Outcome`: passed or not, the reason as
an English message with named fields (translated by feedback.py through gettext: the messages
are marked N_() so `pybabel extract -k N_` finds them), the frame numbers that are the evidence,
and a Wireshark display filter that shows them (`frame.number in {...}` when there are frames,
else a filter for what was looked for).

| check | parameters | passes when |
|---|---|---|
| port | number (default: [lab] port) | a TCP connection goes to that port |
| arp_before_handshake | - | an ARP request and its reply come before the first SYN |
| handshake | - | every lab connection has SYN, SYN-ACK and the ACK completing the handshake |
| echo_exchanges | min (2) | at least `min` requests answered `Echo: <the same text>`, and none mis-answered |
| votes_consistent | options (["A","B","C"]) | every VOTE is for an option and its reply's running totals add exactly that vote |
| results_match_votes | options (["A","B","C"]) | every RESULTS reply equals the totals the votes reached |
| client_closes_first | - | in every lab connection the client sends the first FIN |
| fins_acknowledged | - | both sides sent a FIN and each FIN was acknowledged |
| no_rst | - | no RST segment |
| retransmissions | allowed (true) | true: any number; false: none; a number: at most that many |
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple

from analysis.model import ACK
from analysis.vocabulary import RETRANSMISSION_FLAGS, frame_filter
from analysis.grade.lab_view import LabView, counts, counts_text, is_results, vote_option


def N_(message: str) -> str:
    """Marks a message for the catalog; translated later, when the language is known."""
    return message


class Outcome(NamedTuple):
    passed: bool
    message: str                        # English, with {fields}
    args: dict[str, Any]
    frames: tuple[int, ...]
    filter: str


class Reason(NamedTuple):
    """A message inside another message's field (translated with it)."""

    message: str
    args: dict[str, Any]


class Param(NamedTuple):
    kind: str           # "count" (int >= 0), "port" (1..65535), "options" (non-empty list of
                        # names), "allowed" (bool or int >= 0)
    default: Any        # None: taken from the rubric's [lab] table (port)
    doc: str


class Check(NamedTuple):
    title: str          # default criterion title (English, translated)
    params: dict[str, Param]
    run: Callable[[LabView, dict[str, Any]], Outcome]


def _outcome(passed: bool, message: str, evidence=(), fallback: str = "tcp", **args) -> Outcome:
    numbers = tuple(sorted(set(evidence)))
    return Outcome(passed, message, args, numbers, frame_filter(numbers) if numbers else fallback)


def _frames_text(frames) -> str:
    return ", ".join(str(n) for n in sorted(set(frames)))


def check_port(view: LabView, params) -> Outcome:
    port = params["number"]
    lab = [v for v in view.analysis.connections if v.resp_port == port]
    if lab:
        return _outcome(True, N_("the client connects to port {port}"),
                        [n for c in lab for n in c.frames[:1]], port=port)
    others = sorted({c.resp_port for c in view.analysis.connections})
    if not others:
        return _outcome(False, N_("no TCP connection in the capture (looked for port {port})"),
                        fallback=f"tcp.port == {port}", port=port)
    return _outcome(False, N_("no connection to port {port} (connections to {ports})"),
                    [c.frames[0] for c in view.analysis.connections if c.frames],
                    port=port, ports=", ".join(map(str, others)))


def check_arp(view: LabView, params) -> Outcome:
    frames = view.analysis.frames
    syn = next((f for f in frames if f.label == "syn"), None)
    before = [f for f in frames if syn is None or f.number < syn.number]
    request = next((f for f in before if f.label == "arp-request"), None)
    reply = next((f for f in before if f.label == "arp-reply"), None)
    if syn is None:
        return _outcome(False, N_("no SYN in the capture, so no handshake for ARP to precede"),
                        fallback="arp || tcp.flags.syn == 1")
    if request is None:
        return _outcome(False, N_("no ARP request before the first SYN (frame {syn})"), [syn.number],
                        syn=syn.number)
    if reply is None:
        return _outcome(False, N_("the ARP request in frame {request} got no reply before the "
                                  "first SYN (frame {syn})"), [request.number, syn.number],
                        request=request.number, syn=syn.number)
    return _outcome(True, N_("ARP request (frame {request}) and reply (frame {reply}) before the "
                             "first SYN (frame {syn})"), [request.number, reply.number, syn.number],
                    request=request.number, reply=reply.number, syn=syn.number)


def check_handshake(view: LabView, params) -> Outcome:
    if not view.conns:
        return _outcome(False, N_("no SYN: the client never opened a connection"),
                        fallback="tcp.flags.syn == 1")
    evidence: list[int] = []
    for conn in view.conns:
        syn = conn.first("syn", client=True)
        synack = conn.first("syn-ack", client=False)
        ack = conn.first("handshake-ack", client=True)
        rst = conn.first("rst", client=False)
        if syn is None:
            return _outcome(False, N_("connection {conn} has no SYN from the client"),
                            conn.conn.frames[:1], conn=conn.conn.id)
        if synack is None and rst is not None:
            return _outcome(False, N_("the SYN in frame {syn} was answered by RST in frame {rst}: "
                                      "nothing listened on the server's port"),
                            [syn.number, rst.number], syn=syn.number, rst=rst.number)
        if synack is None:
            return _outcome(False, N_("the SYN in frame {syn} got no SYN-ACK"), [syn.number],
                            syn=syn.number)
        if ack is None:
            return _outcome(False, N_("the SYN-ACK in frame {synack} was not acknowledged"),
                            [syn.number, synack.number], synack=synack.number)
        evidence += [syn.number, synack.number, ack.number]
    return _outcome(True, N_("three-way handshake: SYN, SYN-ACK, ACK in frames {frames}"),
                    evidence, frames=_frames_text(evidence))


def check_echo(view: LabView, params) -> Outcome:
    wanted = params["min"]
    good: list[int] = []
    for ex in view.exchanges():
        if vote_option(ex.request) is not None or is_results(ex.request):
            continue
        if ex.response is None:
            return _outcome(False, N_("no reply to the request in frame {frame} ({request!r})"),
                            [ex.request_frame], frame=ex.request_frame, request=ex.request)
        expected = f"Echo: {ex.request}"
        if ex.response != expected:
            return _outcome(False, N_("the reply in frame {frame} is {got!r}, expected {expected!r}"),
                            [ex.request_frame, ex.response_frame], frame=ex.response_frame,
                            got=ex.response, expected=expected)
        good += [ex.request_frame, ex.response_frame]
    count = len(good) // 2
    if count < wanted:
        return _outcome(count >= wanted, N_("{count} echo exchanges answered, at least {min} needed"),
                        good, fallback=f"tcp.port == {view.port} && tcp.len > 0",
                        count=count, min=wanted)
    return _outcome(True, N_("{count} echo exchanges answered 'Echo: <the same text>' "
                             "(at least {min})"), good, count=count, min=wanted)


def _vote_chain(view: LabView, options: list[str]):
    """The vote exchanges in the order of their running totals, or the first Outcome that fails.

    Replies carry the totals after each vote; several clients may vote at once, so the order is
    that of the totals (their sum), not of the frames. A retried vote (same id) gets the very
    same reply and counts once; two different votes with the same totals mean one was lost."""
    chain: dict[int, tuple[dict[str, int], str, object]] = {}
    for ex in view.exchanges():
        option = vote_option(ex.request)
        if option is None:
            continue
        if option not in options:
            return _outcome(False, N_("the vote for {option} in frame {frame} is not one of the "
                                      "options ({options})"), [ex.request_frame],
                            option=option, frame=ex.request_frame, options=", ".join(options))
        if ex.response is None:
            return _outcome(False, N_("the vote in frame {frame} got no reply"), [ex.request_frame],
                            frame=ex.request_frame)
        totals = counts(ex.response)
        if not ex.response.upper().startswith(f"VOTED {option}") or list(totals) != options:
            return _outcome(False, N_("the vote in frame {frame} was answered {reply!r}"),
                            [ex.request_frame, ex.response_frame], frame=ex.request_frame,
                            reply=ex.response)
        seen = chain.get(sum(totals.values()))
        if seen is None:
            chain[sum(totals.values())] = (totals, option, ex)
        elif (seen[2].request, seen[2].response) != (ex.request, ex.response):
            # two different votes answered with the same running totals: one was not counted
            return _outcome(False, N_("the vote in frame {frame} got the totals {got}, as the vote "
                                      "in frame {other} did: one of them was not counted"),
                            [seen[2].request_frame, ex.request_frame, ex.response_frame],
                            frame=ex.request_frame, got=counts_text(totals),
                            other=seen[2].request_frame)
    return [chain[k] for k in sorted(chain)]


def check_votes(view: LabView, params) -> Outcome:
    options = params["options"]
    chain = _vote_chain(view, options)
    if isinstance(chain, Outcome):
        return chain
    if not chain:
        return _outcome(False, N_("no VOTE request in the capture"),
                        fallback=f"tcp.port == {view.port} && tcp.len > 0")
    evidence: list[int] = []
    before: dict[str, int] | None = None
    for totals, option, ex in chain:
        if before is not None:
            expected = dict(before, **{option: before[option] + 1})
            if totals != expected:
                return _outcome(False, N_("the totals in frame {frame} ({got}) are not the previous "
                                          "totals ({before}) plus the vote for {option}"),
                                [ex.request_frame, ex.response_frame], frame=ex.response_frame,
                                got=counts_text(totals), before=counts_text(before), option=option)
        elif totals[option] < 1:
            return _outcome(False, N_("the totals in frame {frame} ({got}) do not count the vote "
                                      "for {option}"), [ex.response_frame], frame=ex.response_frame,
                            got=counts_text(totals), option=option)
        before = totals
        evidence += [ex.request_frame, ex.response_frame]
    return _outcome(True, N_("{count} votes answered with consistent running totals, last {totals}"),
                    evidence, count=len(chain), totals=counts_text(before))


def check_results(view: LabView, params) -> Outcome:
    options = params["options"]
    chain = _vote_chain(view, options)
    if isinstance(chain, Outcome):
        return _outcome(False, N_("RESULTS cannot be compared with the votes: {reason}"),
                        chain.frames, reason=Reason(chain.message, chain.args))
    states = {sum(t.values()): t for t, _, _ in chain}
    asked = [ex for ex in view.exchanges() if is_results(ex.request)]
    if not asked:
        return _outcome(False, N_("no RESULTS request in the capture"),
                        fallback=f"tcp.port == {view.port} && tcp.len > 0")
    evidence: list[int] = []
    for ex in asked:
        if ex.response is None:
            return _outcome(False, N_("RESULTS in frame {frame} got no reply"), [ex.request_frame],
                            frame=ex.request_frame)
        got = counts(ex.response)
        expected = states.get(sum(got.values()), {name: 0 for name in options} if not states else None)
        if expected is None:
            # no vote reached this many: compare with the last totals before the reply
            prior = [t for t, _, e in chain if e.response_frame < ex.response_frame] or [chain[0][0]]
            expected = prior[-1]
        if list(got) != options or got != expected:
            return _outcome(False, N_("RESULTS in frame {frame} says {got}, but the votes say "
                                      "{expected}"), [ex.request_frame, ex.response_frame],
                            frame=ex.response_frame, got=counts_text(got) or ex.response,
                            expected=counts_text(expected))
        evidence += [ex.request_frame, ex.response_frame]
    return _outcome(True, N_("RESULTS equals the votes ({totals})"), evidence,
                    totals=counts_text(counts(asked[-1].response)))


def _no_fin(conn) -> Outcome:
    return _outcome(False, N_("connection {conn} has no FIN: it was not closed normally"),
                    conn.conn.frames[-1:], fallback="tcp.flags.fin == 1", conn=conn.conn.id)


def check_client_closes(view: LabView, params) -> Outcome:
    evidence: list[int] = []
    for conn in view.conns:
        fins = conn.fins()
        if not fins:
            return _no_fin(conn)
        if not conn.from_client(fins[0]):
            return _outcome(False, N_("the server sent the first FIN (frame {frame}), not the "
                                      "client"), [fins[0].number], frame=fins[0].number)
        evidence.append(fins[0].number)
    if not evidence:
        return _outcome(False, N_("no connection, so no FIN"), fallback="tcp.flags.fin == 1")
    return _outcome(True, N_("the client sent the first FIN (frame {frames})"), evidence,
                    frames=_frames_text(evidence))


def _acked_by(conn, fin) -> int | None:
    """The first frame of the other side acknowledging the FIN (its sequence number + 1)."""
    end = (fin.seq_raw + fin.payload_len + 1) & 0xFFFFFFFF
    side = conn.from_client(fin)
    for frame in conn.frames:
        if (frame.number > fin.number and conn.from_client(frame) != side
                and frame.tcp_flags & ACK and frame.ack_raw is not None
                and (frame.ack_raw - end) & 0xFFFFFFFF < 0x80000000):
            return frame.number
    return None


def check_fins(view: LabView, params) -> Outcome:
    evidence: list[int] = []
    for conn in view.conns:
        fins = conn.fins()
        if not fins:
            return _no_fin(conn)
        if len(fins) == 1:
            return _outcome(False, N_("only one side sent a FIN (frame {frame})"), [fins[0].number],
                            frame=fins[0].number)
        for fin in fins:
            ack = _acked_by(conn, fin)
            if ack is None:
                return _outcome(False, N_("the FIN in frame {frame} was never acknowledged"),
                                [fin.number], frame=fin.number)
            evidence += [fin.number, ack]
    if not evidence:
        return _outcome(False, N_("no connection, so no FIN"), fallback="tcp.flags.fin == 1")
    return _outcome(True, N_("both FINs acknowledged (frames {frames})"), evidence,
                    frames=_frames_text(evidence))


def check_no_rst(view: LabView, params) -> Outcome:
    rst = [f.number for f in view.analysis.frames if f.label == "rst"]
    if rst:
        return _outcome(False, N_("RST in frame {frames}"), rst, frames=_frames_text(rst))
    return _outcome(True, N_("no RST"), fallback="tcp.flags.reset == 1")


def check_retransmissions(view: LabView, params) -> Outcome:
    allowed = params["allowed"]
    limit = None if allowed is True else 0 if allowed is False else allowed
    frames = [f.number for f in view.analysis.frames
              if any(flag in RETRANSMISSION_FLAGS for flag in f.analysis)]
    passed = limit is None or len(frames) <= limit
    text = [N_("no limit")] if limit is None else [str(limit)]   # a list: translated in feedback
    if passed:
        return _outcome(True, N_("{count} retransmissions (allowed: {allowed})"), frames,
                        fallback="tcp.analysis.retransmission", count=len(frames), allowed=text)
    return _outcome(False, N_("{count} retransmissions in frames {frames} (allowed: {allowed})"),
                    frames, count=len(frames), frames=_frames_text(frames), allowed=text)


_NONE: dict[str, Param] = {}
_OPTIONS = {"options": Param("options", ["A", "B", "C"], "the vote options of the lab's server")}
CHECKS: dict[str, Check] = {
    "port": Check(N_("The client connects to the lab's port"),
                  {"number": Param("port", None, "the server's TCP port")}, check_port),
    "arp_before_handshake": Check(N_("ARP exchange before the handshake"), _NONE, check_arp),
    "handshake": Check(N_("TCP three-way handshake"), _NONE, check_handshake),
    "echo_exchanges": Check(N_("Echo request/response exchanges"),
                            {"min": Param("count", 2, "how many echo exchanges at least")},
                            check_echo),
    "votes_consistent": Check(N_("Votes answered with consistent running totals"), _OPTIONS,
                              check_votes),
    "results_match_votes": Check(N_("RESULTS equals the votes"), _OPTIONS, check_results),
    "client_closes_first": Check(N_("The client sends the first FIN"), _NONE, check_client_closes),
    "fins_acknowledged": Check(N_("Both FINs acknowledged"), _NONE, check_fins),
    "no_rst": Check(N_("No RST"), _NONE, check_no_rst),
    "retransmissions": Check(N_("Retransmissions within the limit"),
                             {"allowed": Param("allowed", True, "true, false, or the most allowed")},
                             check_retransmissions),
}
