"""TCP connection summaries: Zeek's conn_state and history, plus what a student asks of a connection.

One `Connection` per tshark tcp.stream (`TcpInfo.stream`). The TCP state per connection is
computed packet by packet the way Zeek's TCP analyzer does (conn_zeek.py, which cites the Zeek
sources), and `conn_state()` turns the two endpoint states into Zeek's conn_state exactly as
scripts/base/protocols/conn/main.zeek does. The vocabulary (CONN_STATES, HISTORY_LETTERS,
CONN_ENDS) is defined in vocabulary.py.

Originator and responder (Zeek's rules):
  * the sender of a connection's first SYN (without ACK) is the originator;
  * a connection whose first packet is a SYN-ACK is flipped on creation: the SYN-ACK's receiver
    is the originator and the history starts with `^`;
  * a connection that starts mid-stream (no SYN) keeps the first sender as originator unless its
    source port is in Zeek's likely_server_ports (and the destination port is not, or is a
    higher one), in which case it is flipped (`^`) - TCP.cc WantConnection;
  * if the SYN arrives after the SYN-ACK of a not-yet-flipped connection, Zeek flips there
    (the SYN/SYN-ACK reversal, `^` after the first letters).

Which frames change the state (as in Zeek): a frame whose TCP header (with options) was cut by
the snaplen is skipped entirely (TCP.cc ExtractTCP_Header); a frame with a bad TCP checksum only
adds `c`/`C` (ValidateChecksum), unless the tracker ignores checksums (zeek -C) or the checksum is
wrong exactly as checksum offload leaves it (checksums.py; strict_checksums=False). Such frames are
still listed in `Connection.frames` but not in the packet counts.

Fields and the choice behind each:
  * orig_pkts / resp_pkts: packets Zeek processed (as conn.log's orig_pkts: bad-checksum and
    cut-header frames are not counted);
  * orig_bytes / resp_bytes: Zeek's definition, the payload sequence space the endpoint covered
    (TCP_Endpoint::Size: highest seq sent or acked, minus SYN and FIN). It counts a retransmitted
    byte once and a byte acknowledged but not captured (a content gap) too, so it agrees with
    conn.log and says how much the application sent, not how much the capture holds;
  * start: the first frame of the stream; duration: to the last frame Zeek counts, which stops
    once both sides have closed (the ACK of the last FIN is not counted, as in conn.log);
  * irtt: tshark's tcp.analysis.initial_rtt - from the most recent SYN to the first frame with
    ACK and without SYN (the ACK completing the handshake); None without both;
  * closed_by: the side that sent the first FIN, or the first RST if no FIN was sent (among the
    frames Zeek processes: a FIN with a bad checksum does not count);
  * end: fin-both / fin-one / fin-rst / rst / open (vocabulary.CONN_ENDS).

Deliberate differences from Zeek (each named in tests/analysis/test_connections.py):
  * a first SYN-ACK flips the connection whatever its source port (Zeek only for ports in
    likely_server_ports; the lab's servers use unregistered ports). For the conformance captures
    (ports 80 and 25) this is what Zeek does with its default ports;
  * connections are tshark's streams, so Zeek's reuse and timeout splits do not happen (e.g.
    zeek_retransmit_timeout is one connection, as Zeek's conn-limited.log, not two as with every
    timer expired; a cut first SYN does not open a separate Zeek connection);
  * Zeek defers a close while data is pending; here a FIN or RST closes its side at once
    (only the duration can differ, and only when data is still missing at the FIN);
  * packets are counted per endpoint: on the SYN/SYN-ACK reversal Zeek counts the flipping SYN
    for the responder (ConnSize sees the pre-flip direction); we count it for its sender.
"""
from __future__ import annotations

import re
from array import array

from analysis.conn.zeek import (CLOSED, ESTABLISHED, FIN, INACTIVE, PARTIAL, RESET, RST, SYN,
                        SYN_ACK_SENT, SYN_SENT, ZeekTcp)
from analysis.decode.checksums import offloaded
from analysis.model import Connection, Frame, TcpInfo
from analysis.vocabulary import MALFORMED_TCP

ACK = 0x10
_TCP_MALFORMED = frozenset(MALFORMED_TCP)

# TCP ports in Zeek's default likely_server_ports (the `redef likely_server_ports += {...}` of the
# scripts under base/protocols/). A connection that does not start with a SYN is flipped on
# creation when its source port is one of them (TCP.cc WantConnection).
LIKELY_SERVER_PORTS: frozenset[int] = frozenset({
    21, 22, 23, 25, 53, 80, 81, 88, 110, 135, 139, 143, 389, 443, 445, 502, 513, 514, 563, 585,
    587, 614, 631, 636, 989, 990, 992, 993, 995, 1080, 1433, 1883, 2811, 3128, 3268, 3306, 3389,
    5222, 5223, 5269, 5432, 5900, 6379, 6666, 6667, 6668, 6669, 8000, 8080, 8888, 20000,
})
_RSTOS0_HISTORY = re.compile(r"\^?S[^HAFGIQ]*R.*")


def conn_state(orig_state: int, resp_state: int, orig_size: int, resp_size: int,
               history: str) -> str:
    """Zeek's conn_state (scripts/base/protocols/conn/main.zeek, `conn_state`), TCP branch.

    The endpoint states are conn_zeek's INACTIVE..RESET (Zeek's TCP_ENDPOINT_*); the sizes are
    TCP_Endpoint::Size() (only REJ looks at them) and the history string decides RSTOS0 vs OTH.
    Meanings: vocabulary.CONN_STATES.
    """
    o_inactive = orig_state in (INACTIVE, PARTIAL)
    r_inactive = resp_state in (INACTIVE, PARTIAL)
    if resp_state == RESET:
        if orig_state in (SYN_SENT, SYN_ACK_SENT) or (
                orig_state == RESET and orig_size == 0 and resp_size == 0):
            return "REJ"       # the responder refused the attempt
        return "RSTRH" if o_inactive else "RSTR"
    if orig_state == RESET:
        if r_inactive:
            # SYN then RST with no SYN-ACK; any other lone RST is just other traffic
            return "RSTOS0" if _RSTOS0_HISTORY.fullmatch(history) else "OTH"
        return "RSTO"
    if resp_state == CLOSED and orig_state == CLOSED:
        return "SF"
    if orig_state == CLOSED:
        return "SH" if r_inactive else "S2"
    if resp_state == CLOSED:
        return "SHR" if o_inactive else "S3"
    if orig_state == SYN_SENT and resp_state == INACTIVE:
        return "S0"
    if orig_state == ESTABLISHED and resp_state == ESTABLISHED:
        return "S1"
    return "OTH"


def want_flip(sport: int, dport: int, flags: int, likely: frozenset[int],
               flip_syn_ack: bool) -> bool:
    """TCP.cc WantConnection: should a new connection swap originator and responder?"""
    if flags & SYN and not flags & ACK:
        return False                               # a proper first SYN: its sender originates
    if flags & SYN and flip_syn_ack and not flags & (FIN | RST):
        # Deliberate difference: a first SYN-ACK's sender is taken as the responder whatever its
        # port; Zeek does so only for ports in likely_server_ports (see connections.py).
        return True
    if sport in likely:
        if dport in likely:
            # both plausible servers: flip only if this isn't a SYN-ACK and dport > sport
            return not flags & SYN and sport < dport
        return True
    return False


def _fmt(ip: str, port: int) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


class _Conn:
    """What the tracker keeps per connection (small: counters, two endpoints, frame numbers)."""

    __slots__ = ("id", "zeek", "first_src", "frames", "start_ns", "last_ns", "syn_ns", "irtt",
                 "first_fin", "first_rst", "fin_before_rst", "fin_eps")

    def __init__(self, stream: int, ts_ns: int) -> None:
        self.id = stream
        self.zeek: ZeekTcp | None = None       # created by the first frame Zeek would look at
        self.first_src: tuple[str, int, str, int] | None = None
        self.frames = array("q")
        self.start_ns = self.last_ns = ts_ns
        self.syn_ns: int | None = None
        self.irtt: float | None = None
        self.first_fin = None                  # conn_zeek.Endpoint that sent the first FIN
        self.first_rst = None
        self.fin_before_rst = False
        self.fin_eps: set[int] = set()         # id() of the endpoints that sent a FIN


class ConnectionTracker:
    """Streaming: `process(frame, info)` for every TCP frame in capture order, then `finish()`.

    `ignore_checksums=True` is zeek -C (bad checksums are processed like good ones); by default
    a checksum wrong exactly as checksum offload leaves it is processed too (checksums.py), and
    `strict_checksums=True` is Zeek without -C (every bad checksum is a `c`/`C`).
    `likely_server_ports` is Zeek's set used to flip connections that start mid-stream.
    `flip_syn_ack=False` flips a first SYN-ACK only by those ports, exactly as Zeek does.
    """

    def __init__(self, *, ignore_checksums: bool = False, strict_checksums: bool = False,
                 likely_server_ports: frozenset[int] = LIKELY_SERVER_PORTS,
                 flip_syn_ack: bool = True) -> None:
        self._conns: dict[int, _Conn] = {}
        self._ignore_checksums = ignore_checksums
        self._strict_checksums = strict_checksums
        self._likely = frozenset(likely_server_ports)
        self._flip_syn_ack = flip_syn_ack

    def process(self, frame: Frame, info: TcpInfo) -> None:
        tcp = frame.tcp
        if tcp is None:
            return
        conn = self._conns.get(info.stream)
        if conn is None:
            conn = self._conns[info.stream] = _Conn(info.stream, frame.ts_ns)
            conn.first_src = (frame.src, frame.sport, frame.dst, frame.dport)
        conn.frames.append(frame.number)
        flags = tcp.flags

        # tshark's initial RTT: most recent SYN to the first ACK without SYN
        if flags & SYN:
            if not flags & ACK:
                conn.syn_ns = frame.ts_ns
        elif conn.irtt is None and flags & ACK and conn.syn_ns is not None:
            conn.irtt = (frame.ts_ns - conn.syn_ns) / 1e9

        malformed = frame.malformed
        if malformed is not None and malformed.code in _TCP_MALFORMED:
            return      # Zeek drops a packet whose TCP header is cut or invalid before any state
        zeek = conn.zeek
        if zeek is None:
            flip = want_flip(frame.sport, frame.dport, flags, self._likely, self._flip_syn_ack)
            zeek = conn.zeek = ZeekTcp(frame.src, frame.sport, frame.dst, frame.dport, flip)
        orig = zeek.orig
        is_orig = frame.sport == orig.port and frame.src == orig.ip
        if (frame.checksum_ok is False and not self._ignore_checksums
                and (self._strict_checksums or not offloaded(frame))):
            zeek.checksum_error(is_orig)
            return
        if not (orig.did_close and zeek.resp.did_close):
            conn.last_ns = frame.ts_ns
        if flags & (FIN | RST):
            self._closing(conn, orig if is_orig else zeek.resp, flags)
        payload_len = frame.payload_len
        zeek.packet(is_orig, flags, tcp.seq, tcp.ack, tcp.window, payload_len,
                    len(frame.payload) >= payload_len)

    @staticmethod
    def _closing(conn: _Conn, ep, flags: int) -> None:
        """Remember who sent the first FIN / RST (endpoints keep their identity across flips)."""
        if flags & FIN and id(ep) not in conn.fin_eps:
            conn.fin_eps.add(id(ep))
            if conn.first_fin is None:
                conn.first_fin = ep
        if flags & RST and conn.first_rst is None:
            conn.first_rst = ep
            conn.fin_before_rst = conn.first_fin is not None

    def finish(self) -> list[Connection]:
        """The connections, by id. The tracker can go on after this (it is not consumed)."""
        return [self._summary(c) for _, c in sorted(self._conns.items())]

    def _summary(self, c: _Conn) -> Connection:
        zeek = c.zeek
        if zeek is None:
            # every frame had a cut TCP header: Zeek would have no state at all
            src, sport, dst, dport = c.first_src
            state, history = "OTH", ""
            o_pkts = r_pkts = o_bytes = r_bytes = 0
        else:
            orig, resp = zeek.orig, zeek.resp
            src, sport, dst, dport = orig.ip, orig.port, resp.ip, resp.port
            history = "".join(zeek.history)
            o_bytes, r_bytes = orig.size(resp), resp.size(orig)
            state = conn_state(orig.state, resp.state, o_bytes, r_bytes, history)
            o_pkts, r_pkts = orig.pkts, resp.pkts

        def side(ep) -> str | None:
            if ep is None:
                return None
            return "orig" if ep.is_orig else "resp"

        closer = c.first_fin if c.first_fin is not None else c.first_rst
        if c.first_rst is not None:
            end = "fin-rst" if c.fin_before_rst else "rst"
        elif len(c.fin_eps) == 2:
            end = "fin-both"
        elif c.fin_eps:
            end = "fin-one"
        else:
            end = "open"
        return Connection(
            id=c.id, orig=_fmt(src, sport), resp=_fmt(dst, dport), orig_ip=src, orig_port=sport,
            resp_ip=dst, resp_port=dport, conn_state=state, history=history,
            start=c.start_ns / 1e9, duration=(c.last_ns - c.start_ns) / 1e9, orig_pkts=o_pkts, orig_bytes=o_bytes,
            resp_pkts=r_pkts, resp_bytes=r_bytes, irtt=c.irtt, closed_by=side(closer), end=end,
            frames=tuple(c.frames))


def summarize(pairs) -> list[Connection]:
    """Convenience: run a tracker over (frame, info) pairs."""
    tracker = ConnectionTracker()
    for frame, info in pairs:
        tracker.process(frame, info)
    return tracker.finish()
