"""Agreement: our labels and analysis flags against tshark's, on every frame of a benchmark file.

Streams both sides in lockstep (the columnar engine's frames, as `make bench` times it, and the field dump the tshark peers wrote), so
it needs no more memory on the 2M-packet file than on a small one. Per frame it compares:

    is-tcp, stream      tcp.stream present / equal to our connection id
    flags               the TCP flag bits (tcp.flags) against our flags text
    seq, ack            tcp.seq / tcp.ack (relative) against ours (ack only where tshark shows it)
    <analysis flag>     every tcp.analysis.* field of vocabulary.ANALYSIS_FLAGS
    label               the label the shared label rules (analysis/session/label_rules.py) give
                        when fed tshark's own stream, flags, lengths and relative numbers
                        (TsharkLabeler), for TCP and ARP
    phase               "other" for frames that are neither TCP nor ARP

The flags of tshark's two-pass run are compared too when its dump is given (reported apart:
our analyzer has one-pass semantics, as the conformance oracle says).
"""
from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from itertools import zip_longest

from analysis.session import label_rules as rules
from bench.analyzer.peers import BASE_FIELDS

_COL = {name: i for i, name in enumerate(BASE_FIELDS)}
_N_BASE = len(BASE_FIELDS)


@dataclass(frozen=True)
class Agreement:
    frames: int                         # frames compared
    tcp_frames: int
    disagreeing_frames: int             # frames with at least one difference (one-pass)
    by_field: dict[str, int]            # field -> frames that differ in it
    two_pass_frames: int | None         # frames whose analysis flags differ from tshark -2
    two_pass_by_flag: dict[str, int] = field(default_factory=dict)
    examples: tuple[str, ...] = ()      # the first few differences, as text


class TsharkLabeler:
    """The label rules (analysis/session/label_rules.py, the ones both engines apply) fed
    tshark's fields: what our label should be if our decoding and sequence analysis equal
    tshark's. Per stream: its endpoints ((ip, port) text, 0 = the first sender), the rules'
    state bits and tshark's tcp.nxtseq of each endpoint's FIN."""

    def __init__(self) -> None:
        self.streams: dict[int, list] = {}

    def tcp_frame(self, stream: int, flags: int, length: int, seq: int | None, ack: int | None,
                  nxtseq: int | None, src: tuple[str, str], dst: tuple[str, str]) -> tuple[str, str | None]:
        """(label, direction): direction "request" / "response" for data, else None."""
        st = self.streams.get(stream)
        if st is None:
            st = self.streams[stream] = [src, 0, [None, None]]
        sender = 0 if src == st[0] else 1
        peer = sender if src == dst else 1 - sender     # a host talking to itself on one port
        peer_fin = st[2][peer]
        bits, code = rules.tcp_label(st[1], flags, sender, peer,
                                     rules.first_guess(int(src[1]), int(dst[1]), sender, peer),
                                     length > 0, peer_fin is not None and ack == peer_fin,
                                     seq == 1 and ack == 1)
        st[1] = bits
        if code == rules.K_FIN:
            st[2][sender] = nxtseq
        elif code == rules.K_DATA:
            return "data", "request" if rules.is_request(bits, sender) else "response"
        return rules.RULE_LABELS[code], None

    def tcp(self, stream: int, flags: int, length: int, seq: int | None, ack: int | None,
            nxtseq: int | None, src: tuple[str, str], dst: tuple[str, str]) -> str:
        return self.tcp_frame(stream, flags, length, seq, ack, nxtseq, src, dst)[0]

    @staticmethod
    def arp(opcode: int, spa: str, tpa: str) -> str:
        """spa / tpa: tshark's arp.src.proto_ipv4 / arp.dst.proto_ipv4 ("" when not IPv4)."""
        return rules.RULE_LABELS[rules.arp_label(True, False, opcode, bool(spa), spa == "0.0.0.0",
                                                 spa == tpa)]


def _int(text: str) -> int | None:
    return int(text) if text else None


def _lines(path: str | os.PathLike | None):
    if path is None:
        return
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            yield line.rstrip("\n").split("\t")


def our_rows(pcap: str | os.PathLike):
    """Every frame as the timed engine (the columnar one) labels it."""
    from analysis.columnar.engine import Scan
    from analysis.columnar.frames_view import rows

    for batch in Scan(pcap, keep_exchanges=False).batches():
        yield from rows(batch.frames, batch.tcp, batch.labels, 0)


def compare(pcap: str | os.PathLike, one_pass: str | os.PathLike,
            two_pass: str | os.PathLike | None = None, max_examples: int = 10) -> Agreement:
    from analysis.vocabulary import ANALYSIS_FLAGS

    flag_names = tuple(ANALYSIS_FLAGS)
    by_field: Counter[str] = Counter()
    two_by_flag: Counter[str] = Counter()
    examples: list[str] = []
    labeler = TsharkLabeler()
    frames = tcp_frames = disagreeing = two_disagreeing = 0
    sentinel = object()
    c = _COL
    for ours, row, row2 in zip_longest(our_rows(pcap), _lines(one_pass), _lines(two_pass),
                                       fillvalue=sentinel):
        if ours is sentinel or row is sentinel:
            by_field["frame-count"] += 1
            disagreeing += 1
            continue
        frames += 1
        diffs: list[tuple[str, object, object]] = []
        theirs_flags = tuple(n for n, v in zip(flag_names, row[_N_BASE:]) if v)
        stream = _int(row[c["tcp.stream"]])
        if (stream is not None) != (ours.conn is not None):
            diffs.append(("is-tcp", ours.conn is not None, stream is not None))
        elif stream is not None:
            tcp_frames += 1
            if stream != ours.conn:
                diffs.append(("stream", ours.conn, stream))
            flags = int(row[c["tcp.flags"]], 16) & 0x1FF
            if flags != ours.tcp_flags & 0x1FF:
                diffs.append(("flags", hex(ours.tcp_flags), row[c["tcp.flags"]]))
            seq, ack = _int(row[c["tcp.seq"]]), _int(row[c["tcp.ack"]])
            if seq is not None and seq != ours.seq:
                diffs.append(("seq", ours.seq, seq))
            if ack is not None and ack != ours.ack:
                diffs.append(("ack", ours.ack, ack))
            src = (row[c["ip.src"]] or row[c["ipv6.src"]], row[c["tcp.srcport"]])
            dst = (row[c["ip.dst"]] or row[c["ipv6.dst"]], row[c["tcp.dstport"]])
            want = labeler.tcp(stream, flags, _int(row[c["tcp.len"]]) or 0, seq, ack,
                               _int(row[c["tcp.nxtseq"]]), src, dst)
            if want != ours.label:
                diffs.append(("label", ours.label, want))
        elif row[c["arp.opcode"]]:
            want = labeler.arp(int(row[c["arp.opcode"]]), row[c["arp.src.proto_ipv4"]],
                               row[c["arp.dst.proto_ipv4"]])
            if want != ours.label:
                diffs.append(("label", ours.label, want))
        elif ours.phase != "other":
            diffs.append(("phase", ours.phase, "other"))
        if theirs_flags != tuple(ours.analysis):
            for name in set(theirs_flags) ^ set(ours.analysis):
                diffs.append((name, name in ours.analysis, name in theirs_flags))
        if diffs:
            disagreeing += 1
            for name, mine, real in diffs:
                by_field[name] += 1
                if len(examples) < max_examples:
                    examples.append(f"frame {ours.number}: {name}: ours {mine!r}, tshark {real!r}")
        if row2 is not None and row2 is not sentinel:
            flags2 = tuple(n for n, v in zip(flag_names, row2[_N_BASE:]) if v)
            if flags2 != tuple(ours.analysis):
                two_disagreeing += 1
                for name in set(flags2) ^ set(ours.analysis):
                    two_by_flag[name] += 1
    return Agreement(frames, tcp_frames, disagreeing, dict(by_field),
                     two_disagreeing if two_pass is not None else None, dict(two_by_flag),
                     tuple(examples))
