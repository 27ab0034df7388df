"""Zeek's TCP connection state machine, one packet at a time (the engine behind connections.py).

A port of what Zeek does per TCP packet, so that `conn_state` and `history` come out as Zeek's
conn.log writes them. Sources (zeek/zeek):

    src/packet_analysis/protocol/tcp/TCP.cc               WantConnection (flip on creation),
                                                           ValidateChecksum, ExtractTCP_Header
    src/packet_analysis/protocol/tcp/TCPSessionAdapter.cc  Process, init_endpoint, update_history,
                                                           update_window, update_last_seq,
                                                           Update*State, FlipRoles
    src/analyzer/protocol/tcp/TCP_Endpoint.cc              Size, ChecksumError/DidRxmit/ZeroWindow/Gap
    src/analyzer/protocol/tcp/TCP_Reassembler.cc           AckReceived -> Undelivered -> Gap
    src/Conn.cc / Conn.h                                   CheckHistory, ScaledHistoryEntry, FlipRoles

Sequence numbers are kept per endpoint as the raw 32-bit value plus an unwrapped offset from the
endpoint's start (Zeek's start_seq), so wraparound needs no special case. The reassembler is
reduced to what the history needs: how far each direction's bytes are contiguous ("delivered")
and which blocks above a hole were seen, to find the content gaps an ACK reveals.
"""
from __future__ import annotations

# Endpoint states: Zeek's TCP_ENDPOINT_* (the numbers Zeek prints in c$orig$state).
INACTIVE, SYN_SENT, SYN_ACK_SENT, PARTIAL, ESTABLISHED, CLOSED, RESET = range(7)
ENDPOINT_STATES: dict[int, str] = {
    INACTIVE: "INACTIVE: nothing seen from this endpoint yet",
    SYN_SENT: "SYN_SENT: sent a SYN (its handshake is not complete from Zeek's view)",
    SYN_ACK_SENT: "SYN_ACK_SENT: the originator sent a SYN-ACK (roles not yet known to be right)",
    PARTIAL: "PARTIAL: traffic seen but no SYN: the capture started mid-connection",
    ESTABLISHED: "ESTABLISHED: handshake seen (or inferred from a SYN-ACK and an ACK)",
    CLOSED: "CLOSED: this endpoint sent a FIN",
    RESET: "RESET: this endpoint sent a RST",
}

FIN, SYN, RST, ACK = 0x01, 0x02, 0x04, 0x10
TOO_LARGE_SEQ_DELTA = 1048576           # TCP.cc: a SYN/RST seq further away is not trusted
MAX_ABOVE_HOLE_WITHOUT_ACKS = 16384     # tcp_max_above_hole_without_any_acks (init-bare.zeek)

# Conn.h history masks: one bit per (packet kind), responder's shifted by 16.
HIST_SYN, HIST_FIN, HIST_RST, HIST_FIN_RST, HIST_DATA, HIST_ACK, HIST_MULTI = (
    0x1, 0x2, 0x4, 0x8, 0x10, 0x20, 0x40)

# TCP ports in Zeek's default likely_server_ports (the `redef likely_server_ports += {...}` of the
# scripts under base/protocols/). A connection that does not start with a SYN is flipped on
# creation when its source port is one of them (TCP.cc WantConnection).
LIKELY_SERVER_PORTS: frozenset[int] = frozenset({
    21, 22, 23, 25, 53, 80, 81, 88, 110, 135, 139, 143, 389, 443, 445, 502, 513, 514, 563, 585,
    587, 614, 631, 636, 989, 990, 992, 993, 995, 1080, 1433, 1883, 2811, 3128, 3268, 3306, 3389,
    5222, 5223, 5269, 5432, 5900, 6379, 6666, 6667, 6668, 6669, 8000, 8080, 8888, 20000,
})


def seq_delta(a: int, b: int) -> int:
    """a - b in 32-bit sequence space, as a signed 32-bit number (Zeek's seq_delta)."""
    d = (a - b) & 0xFFFFFFFF
    return d - 0x100000000 if d & 0x80000000 else d


class Endpoint:
    """One side of a connection (Zeek's TCP_Endpoint, reduced to what conn.log needs)."""

    __slots__ = ("is_orig", "state", "prev_state", "start", "last", "last_rel", "ack", "ack_rel",
                 "fin_cnt", "rst_cnt", "fin_seq", "did_close", "hist_last_syn", "hist_last_fin",
                 "hist_last_rst", "counters", "delivered", "trim", "blocks", "skip", "pkts",
                 "ip", "port")

    def __init__(self, is_orig: bool, ip: str, port: int) -> None:
        self.is_orig = is_orig
        self.ip, self.port = ip, port
        self.state = self.prev_state = INACTIVE
        self.start = self.last = self.ack = 0     # raw 32-bit values
        self.last_rel = self.ack_rel = 0          # unwrapped, relative to start
        self.fin_cnt = self.rst_cnt = 0
        self.fin_seq = 0                          # relative seq just past the FIN
        self.did_close = False
        self.hist_last_syn = self.hist_last_fin = self.hist_last_rst = 0
        # Scaled history entries (c, g, t, w): [count, threshold] each (Conn.cc ScaledHistoryEntry)
        self.counters = {"C": [0, 1], "G": [0, 1], "T": [0, 1], "W": [0, 1]}
        # Reassembly view (relative data seq, first byte = 1): bytes contiguous up to `delivered`;
        # `blocks` are [lo, hi) ranges seen above a hole; `trim` is the highest ACK processed.
        self.delivered = self.trim = 1
        self.blocks: list[list[int]] = []
        self.skip = False
        self.pkts = 0

    def set_state(self, new: int) -> None:
        if new != self.state:
            self.prev_state, self.state = self.state, new

    def init_seqs(self, start: int, last: int) -> None:
        """InitStartSeq + InitAckSeq(start) + InitLastSeq(last)."""
        self.start = self.ack = start
        self.ack_rel = 0
        self.last = last
        self.last_rel = seq_delta(last, start)

    def rel(self, seq: int) -> int:
        """Zeek's get_relative_seq against last_seq: negative means underflow."""
        return self.last_rel + seq_delta(seq, self.last)

    def update_last(self, seq: int) -> None:
        self.last_rel += seq_delta(seq, self.last)
        self.last = seq

    def no_data_acked(self) -> bool:
        return self.ack_rel in (0, 1)

    def size(self, peer: "Endpoint") -> int:
        """Zeek's TCP_Endpoint::Size(): the sequence space covered, without SYN and FIN."""
        if (self.prev_state == SYN_SENT and self.state == RESET and peer.state == INACTIVE
                and not self.no_data_acked()):
            return 0   # a half-open connection discovered and aborted
        size = max(self.last_rel, self.ack_rel, 0)
        if size:
            size -= 1  # the SYN octet (faked for partial connections)
        if self.fin_cnt and size:
            size -= 1  # the FIN octet
        return size


class ZeekTcp:
    """Zeek's TCP session state for one connection; `packet()` is TCPSessionAdapter::Process."""

    __slots__ = ("orig", "resp", "history", "hist_seen", "is_partial", "first_seen")

    def __init__(self, src: str, sport: int, dst: str, dport: int, flags: int,
                 likely_server_ports: frozenset[int], flip_syn_ack: bool) -> None:
        self.orig = Endpoint(True, src, sport)
        self.resp = Endpoint(False, dst, dport)
        self.history: list[str] = []
        self.hist_seen = 0
        self.is_partial = False
        self.first_seen = 0            # bit 1 orig, bit 2 resp (TCPSessionAdapter first_packet_seen)
        if _want_flip(sport, dport, flags, likely_server_ports, flip_syn_ack):
            self.flip()

    # --- history (Conn.h / TCP_Endpoint.cc) ------------------------------------------------------
    def _check(self, ep: Endpoint, mask: int, code: str) -> bool:
        """CheckHistory: record `code` the first time; True if it was already seen."""
        if not ep.is_orig:
            mask <<= 16
            code = code.lower()
        if self.hist_seen & mask:
            return True
        self.hist_seen |= mask
        self.history.append(code)
        return False

    def _scaled(self, ep: Endpoint, code: str) -> None:
        """ScaledHistoryEntry: the letter again at the 1st, 10th, 100th, ... occurrence."""
        counter = ep.counters[code]
        counter[0] += 1
        if counter[0] == counter[1]:
            self.history.append(code if ep.is_orig else code.lower())
            counter[1] *= 10

    def flip(self) -> None:
        """Connection::FlipRoles + TCPSessionAdapter::FlipRoles. hist_seen is not swapped."""
        self.orig, self.resp = self.resp, self.orig
        self.orig.is_orig, self.resp.is_orig = True, False
        fs = self.first_seen
        self.first_seen = (2 if fs & 1 else 0) | (1 if fs & 2 else 0)
        self.is_partial = False
        self.history.append("^")

    def checksum_error(self, is_orig: bool) -> None:
        """ValidateChecksum failed: history c/C, and Zeek stops processing the packet."""
        self._scaled(self.orig if is_orig else self.resp, "C")

    # --- one packet (TCPSessionAdapter::Process) -------------------------------------------------
    def packet(self, is_orig: bool, flags: int, seq: int, ack: int, window: int, length: int,
               captured_all: bool) -> None:
        endpoint = self.orig if is_orig else self.resp
        peer = self.resp if is_orig else self.orig
        syn, fin, rst, has_ack = flags & SYN, flags & FIN, flags & RST, flags & ACK

        # SetPartialStatus
        if is_orig:
            if not self.first_seen & 1:
                self.is_partial = not syn or bool(has_ack)
        elif not self.first_seen & 2 and not self.is_partial:
            self.is_partial = not syn

        seg_len = length + (1 if syn else 0) + (1 if fin else 0) - (length if rst else 0)
        past = (seq + seg_len) & 0xFFFFFFFF
        _init_endpoint(endpoint, syn, seq, past)
        rel_seq = endpoint.rel(seq)
        underflow = rel_seq < 0
        self._update_history(endpoint, syn, fin, rst, has_ack, rel_seq, length)
        # update_window: a zero window is boring with or after a RST, or after the peer's FIN.
        if window == 0 and not rst and peer.state != CLOSED and endpoint.state != RESET:
            self._scaled(endpoint, "W")
        if fin:
            endpoint.fin_cnt += 1
            endpoint.fin_seq = rel_seq + seg_len
        if rst:
            endpoint.rst_cnt += 1

        rel_ack = 0
        if has_ack:
            if peer.state == INACTIVE:
                rel_ack = 1
                peer.init_seqs((ack - 1) & 0xFFFFFFFF, (ack - 1) & 0xFFFFFFFF)   # init_peer
            else:
                rel_ack = peer.ack_rel + seq_delta(ack, peer.ack)
                if rel_ack < 0:
                    rel_ack = 0                          # TCP_ack_underflow_or_misorder
                elif not rst:                            # don't trust acks in RSTs
                    delta = seq_delta(ack, peer.ack)
                    if not (ack == 0 and delta > TOO_LARGE_SEQ_DELTA) and delta > 0:
                        peer.ack_rel += delta
                        peer.ack = ack

        delta_last = self._update_last_seq(endpoint, past, syn, fin, rst, length)
        do_close = self._state_machine(endpoint, peer, seq, ack, length, delta_last, is_orig,
                                       syn, fin, rst, has_ack)
        if has_ack:
            self._ack_received(peer, rel_ack)
        if length > 0 and not rst and not underflow and captured_all and not endpoint.skip:
            self._data_sent(endpoint, rel_seq + 1 if syn else rel_seq, length)
        if do_close:
            endpoint.did_close = True
        endpoint.pkts += 1
        # CheckPIA_FirstPacket: the direction as the packet arrived, even after a flip.
        self.first_seen |= 1 if is_orig else 2

    def _update_history(self, ep: Endpoint, syn: int, fin: int, rst: int, has_ack: int,
                        rel_seq: int, length: int) -> None:
        bits = (1 if syn else 0) + (1 if fin else 0) + (1 if rst else 0)
        if bits > 1:
            if fin and rst:
                self._check(ep, HIST_FIN_RST, "I")
            else:
                self._check(ep, HIST_MULTI, "Q")
        elif bits == 1:
            if syn:
                code = "H" if has_ack else "S"
                if self._check(ep, HIST_SYN, code) and rel_seq != ep.hist_last_syn:
                    self.history.append(code if ep.is_orig else code.lower())
                ep.hist_last_syn = rel_seq
            if fin:
                # a FIN's sequence number is the one after its data
                if self._check(ep, HIST_FIN, "F") and rel_seq + length != ep.hist_last_fin:
                    self.history.append("F" if ep.is_orig else "f")
                ep.hist_last_fin = rel_seq + length
            if rst:
                if self._check(ep, HIST_RST, "R") and rel_seq != ep.hist_last_rst:
                    self.history.append("R" if ep.is_orig else "r")
                ep.hist_last_rst = rel_seq
        elif length:
            self._check(ep, HIST_DATA, "D")
        elif has_ack:
            self._check(ep, HIST_ACK, "A")

    def _update_last_seq(self, ep: Endpoint, past: int, syn: int, fin: int, rst: int,
                         length: int) -> int:
        delta = seq_delta(past, ep.last)
        if (syn or rst) and (delta > TOO_LARGE_SEQ_DELTA or delta < -TOO_LARGE_SEQ_DELTA):
            pass                                   # an outlandish SYN/RST seq is not trusted
        elif fin and ep.last_rel == 1:
            ep.update_last(past)                   # only SYN and FIN seen (> 2 GB connections)
        elif ep.state == RESET:
            pass                                   # nothing after a RST is trusted
        elif delta > 0:
            ep.update_last(past)
        elif length > 0:
            self._scaled(ep, "T")                  # DidRxmit: nothing new in this data segment
        return delta

    # --- the state machine (TCPSessionAdapter::Update*State) -------------------------------------
    def _state_machine(self, ep: Endpoint, peer: Endpoint, seq: int, ack: int, length: int,
                       delta_last: int, is_orig: bool, syn: int, fin: int, rst: int,
                       has_ack: int) -> bool:
        state = ep.state
        if state == INACTIVE:
            return self._inactive(ep, peer, seq, length, is_orig, syn, fin, rst, has_ack)
        if state in (SYN_SENT, SYN_ACK_SENT):
            if fin:
                ep.set_state(CLOSED)
            if rst:
                ep.set_state(RESET)
            return bool(fin or rst)
        if state in (ESTABLISHED, PARTIAL):
            close = False
            if syn and state == PARTIAL and peer.state == INACTIVE and not has_ack:
                ep.set_state(SYN_SENT)             # SYN_after_partial
            if fin and not rst:
                ep.set_state(CLOSED)
                if peer.state == RESET and peer.prev_state == CLOSED:
                    peer.set_state(CLOSED)         # FIN then RST was a normal termination
                close = True
            if rst:
                ep.set_state(RESET)
                close = True
            return close
        if state == CLOSED:
            # after a FIN exchange a RST changes nothing; otherwise it resets
            if rst and peer.state != CLOSED:
                ep.set_state(RESET)
                return not ep.did_close
            return False
        return False                               # RESET: only weirds

    def _inactive(self, ep: Endpoint, peer: Endpoint, seq: int, length: int, is_orig: bool,
                  syn: int, fin: int, rst: int, has_ack: int) -> bool:
        close = False
        if syn:
            if is_orig:
                ep.set_state(SYN_ACK_SENT if has_ack else SYN_SENT)
            else:
                if not has_ack and peer.state == SYN_ACK_SENT and seq == ep.start:
                    # SYN/SYN-ACK reversal: flip the endpoints and establish the connection
                    self.flip()
                    peer.set_state(ESTABLISHED)
                    self.first_seen |= 1           # SetFirstPacketSeen(true)
                if peer.state == SYN_SENT:
                    peer.set_state(ESTABLISHED)
                ep.set_state(ESTABLISHED)
        if fin:
            ep.set_state(CLOSED)
            close = True
        if rst:
            ep.set_state(RESET)
            close = True
        if ep.state == INACTIVE:                   # no control flag changed the state
            if not is_orig and length == 0 and self.orig.state == SYN_SENT:
                pass                               # an ACK of the SYN before the SYN-ACK
            elif has_ack and peer.state == ESTABLISHED:
                ep.set_state(ESTABLISHED)          # SYN-ACK then ACK: the SYN was just missed
                self.is_partial = False
                self.first_seen |= 1 if is_orig else 2
            else:
                ep.set_state(PARTIAL)
        return close

    # --- the reassembler's view (TCP_Reassembler.cc) ---------------------------------------------
    def _data_sent(self, ep: Endpoint, seq: int, length: int) -> None:
        upper = seq + length
        acked = ep.ack_rel
        if seq < acked:
            if upper <= acked:
                return                             # already delivered and acked
            seq = acked
        if upper <= ep.delivered:
            return
        if seq <= ep.delivered:
            ep.delivered = upper
            self._absorb(ep)
        else:
            _insert_block(ep.blocks, seq, upper)
            # tcp_max_above_hole_without_any_acks: stop reassembling this direction
            if ep.no_data_acked() and ep.blocks[-1][1] - ep.delivered > MAX_ABOVE_HOLE_WITHOUT_ACKS:
                ep.blocks.clear()
                ep.skip = True

    @staticmethod
    def _absorb(ep: Endpoint) -> None:
        blocks = ep.blocks
        while blocks and blocks[0][0] <= ep.delivered:
            lo, hi = blocks.pop(0)
            if hi > ep.delivered:
                ep.delivered = hi

    def _ack_received(self, ep: Endpoint, seq: int) -> None:
        """AckReceived on `ep`'s reassembler: acked bytes never seen are a content gap."""
        if ep.fin_cnt and seq >= ep.fin_seq:
            seq = ep.fin_seq - 1
        if seq <= ep.trim:
            return
        if seq > ep.delivered and not ep.skip:
            self._undelivered(ep, seq)
        ep.trim = seq

    def _undelivered(self, ep: Endpoint, up_to: int) -> None:
        if up_to <= 2 and self.is_partial:
            return   # the faked SYN octet of a partial connection (Zeek leaves delivered as is)
        blocks = ep.blocks
        while blocks and blocks[0][0] < up_to:
            lo, hi = blocks.pop(0)
            if lo > ep.delivered:
                self._gap(ep)
            if hi > ep.delivered:
                ep.delivered = hi
        if up_to > ep.delivered:
            self._gap(ep)
            ep.delivered = up_to

    def _gap(self, ep: Endpoint) -> None:
        # Only gaps in a cleanly established or closing connection go into the history.
        peer = self.resp if ep is self.orig else self.orig
        if _is_clean(ep) and _is_clean(peer):
            self._scaled(ep, "G")


def _is_clean(ep: Endpoint) -> bool:
    return ep.state == ESTABLISHED or (ep.state == CLOSED and ep.prev_state == ESTABLISHED)


def _insert_block(blocks: list[list[int]], lo: int, hi: int) -> None:
    """Insert [lo, hi) into the sorted, non-overlapping block list, merging neighbours."""
    i = 0
    while i < len(blocks) and blocks[i][1] < lo:
        i += 1
    while i < len(blocks) and blocks[i][0] <= hi:
        lo, hi = min(lo, blocks[i][0]), max(hi, blocks[i][1])
        blocks.pop(i)
    blocks.insert(i, [lo, hi])


def _init_endpoint(ep: Endpoint, syn: int, seq: int, past: int) -> None:
    """init_endpoint: (re)initialise an endpoint's sequence numbers from this packet."""
    state = ep.state
    if state == INACTIVE:
        if syn:
            ep.init_seqs(seq, past)
        else:
            # a partial connection: number as though a SYN had been seen, and make sure the
            # first packet is not taken for a retransmission
            ep.init_seqs((seq - 1) & 0xFFFFFFFF, seq)
    elif state in (SYN_SENT, SYN_ACK_SENT):
        if syn and seq != ep.start:
            ep.init_seqs(seq, past)                # SYN_seq_jump
    elif state in (ESTABLISHED, PARTIAL):
        if syn:
            ep.init_seqs(seq, past)                # this SYN is taken to set the connection up
    elif state == RESET:
        if syn and ep.prev_state == INACTIVE:
            ep.init_seqs(seq, past)                # the earlier RST was probably injected


def _want_flip(sport: int, dport: int, flags: int, likely: frozenset[int],
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
