"""Zeek's TCP connection state machine, one packet at a time (the engine behind connections.py).

A port of what Zeek does per TCP packet, so that `conn_state` and `history` come out as Zeek's
conn.log writes them. Sources (zeek/zeek):

    src/packet_analysis/protocol/tcp/TCP.cc               ValidateChecksum, ExtractTCP_Header
    src/packet_analysis/protocol/tcp/TCPSessionAdapter.cc  Process, init_endpoint, update_history,
                                                           update_window, update_last_seq,
                                                           Update*State, FlipRoles
    src/analyzer/protocol/tcp/TCP_Endpoint.cc              Size, ChecksumError/DidRxmit/ZeroWindow/Gap
    src/analyzer/protocol/tcp/TCP_Reassembler.cc           AckReceived -> Undelivered -> Gap
                                                           (the byte bookkeeping: conn_gaps.py)
    src/Conn.cc / Conn.h                                   CheckHistory, ScaledHistoryEntry, FlipRoles

Sequence numbers are kept per endpoint as the raw 32-bit value plus an unwrapped offset from the
endpoint's start (Zeek's start_seq), so wraparound needs no special case.
"""
from __future__ import annotations

from analysis.conn.gaps import data_sent, undelivered

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

# Conn.h history masks: one bit per (packet kind), responder's shifted by 16.
HIST_SYN, HIST_FIN, HIST_RST, HIST_FIN_RST, HIST_DATA, HIST_ACK, HIST_MULTI = (
    0x1, 0x2, 0x4, 0x8, 0x10, 0x20, 0x40)

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

    def __init__(self, src: str, sport: int, dst: str, dport: int, flip: bool) -> None:
        """The first packet went src -> dst; `flip` swaps the roles at once (connections.py
        decides, as Zeek's WantConnection)."""
        self.orig = Endpoint(True, src, sport)
        self.resp = Endpoint(False, dst, dport)
        self.history: list[str] = []
        self.hist_seen = 0
        self.is_partial = False
        self.first_seen = 0            # bit 1 orig, bit 2 resp (TCPSessionAdapter first_packet_seen)
        if flip:
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
        # The common case (an established connection, no SYN/FIN/RST, history letters already
        # recorded) is inlined: this runs once per TCP frame.
        if is_orig:
            endpoint, peer = self.orig, self.resp
            if not self.first_seen & 1:            # SetPartialStatus
                self.is_partial = not flags & SYN or bool(flags & ACK)
        else:
            endpoint, peer = self.resp, self.orig
            if not self.first_seen & 2 and not self.is_partial:
                self.is_partial = not flags & SYN
        control = flags & 0x07                     # FIN | SYN | RST
        syn = flags & SYN
        has_ack = flags & ACK

        if control:
            seg_len = length + (1 if syn else 0) + (1 if flags & FIN else 0)
            if flags & RST:
                seg_len -= length
        else:
            seg_len = length
        past = (seq + seg_len) & 0xFFFFFFFF
        if syn or endpoint.state == INACTIVE:
            _init_endpoint(endpoint, syn, seq, past)
        d = (seq - endpoint.last) & 0xFFFFFFFF     # rel_seq = last_rel + seq_delta(seq, last)
        rel_seq = endpoint.last_rel + (d - 0x100000000 if d & 0x80000000 else d)

        if control:
            self._control_history(endpoint, flags, rel_seq, length)
        else:
            mask = HIST_DATA if length else (HIST_ACK if has_ack else 0)
            if mask:
                if not endpoint.is_orig:
                    mask <<= 16
                if not self.hist_seen & mask:
                    self._check(endpoint, HIST_DATA if length else HIST_ACK,
                                "D" if length else "A")
        # update_window: a zero window is boring with or after a RST, or after the peer's FIN.
        if window == 0 and not flags & RST and peer.state != CLOSED and endpoint.state != RESET:
            self._scaled(endpoint, "W")
        if control:
            if flags & FIN:
                endpoint.fin_cnt += 1
                endpoint.fin_seq = rel_seq + seg_len
            if flags & RST:
                endpoint.rst_cnt += 1

        rel_ack = 0
        if has_ack:
            if peer.state == INACTIVE:
                rel_ack = 1
                peer.init_seqs((ack - 1) & 0xFFFFFFFF, (ack - 1) & 0xFFFFFFFF)   # init_peer
            else:
                d = (ack - peer.ack) & 0xFFFFFFFF
                delta = d - 0x100000000 if d & 0x80000000 else d
                rel_ack = peer.ack_rel + delta
                if rel_ack < 0:
                    rel_ack = 0                    # TCP_ack_underflow_or_misorder
                elif delta > 0 and not flags & RST and not (ack == 0 and delta > TOO_LARGE_SEQ_DELTA):
                    peer.ack_rel = rel_ack         # update_ack_seq (acks in RSTs not trusted)
                    peer.ack = ack

        # update_last_seq
        d = (past - endpoint.last) & 0xFFFFFFFF
        delta_last = d - 0x100000000 if d & 0x80000000 else d
        if control or endpoint.state == RESET or delta_last <= 0:
            self._update_last_seq(endpoint, past, flags, length, delta_last)
        else:
            endpoint.last_rel += delta_last
            endpoint.last = past

        do_close = False
        if control or endpoint.state == INACTIVE:  # otherwise no state changes
            do_close = self._state_machine(endpoint, peer, seq, length, delta_last, is_orig,
                                           flags)
        if has_ack:
            # peer's reassembler, after the state machine (AckReceived)
            seq_acked = rel_ack
            if peer.fin_cnt and seq_acked >= peer.fin_seq:
                seq_acked = peer.fin_seq - 1
            if seq_acked > peer.trim:
                if seq_acked > peer.delivered and not peer.skip:
                    self._undelivered(peer, seq_acked)
                peer.trim = seq_acked
        if length > 0 and not flags & RST and rel_seq >= 0 and captured_all and not endpoint.skip:
            data_sent(endpoint, rel_seq + 1 if syn else rel_seq, length)
        if do_close:
            endpoint.did_close = True
        endpoint.pkts += 1
        # CheckPIA_FirstPacket: the direction as the packet arrived, even after a flip.
        self.first_seen |= 1 if is_orig else 2

    def _control_history(self, ep: Endpoint, flags: int, rel_seq: int, length: int) -> None:
        """update_history for a packet with SYN, FIN or RST."""
        syn, fin, rst = flags & SYN, flags & FIN, flags & RST
        if (1 if syn else 0) + (1 if fin else 0) + (1 if rst else 0) > 1:
            if fin and rst:
                self._check(ep, HIST_FIN_RST, "I")
            else:
                self._check(ep, HIST_MULTI, "Q")
        elif syn:
            code = "H" if flags & ACK else "S"
            if self._check(ep, HIST_SYN, code) and rel_seq != ep.hist_last_syn:
                self.history.append(code if ep.is_orig else code.lower())
            ep.hist_last_syn = rel_seq
        elif fin:
            # a FIN's sequence number is the one after its data
            if self._check(ep, HIST_FIN, "F") and rel_seq + length != ep.hist_last_fin:
                self.history.append("F" if ep.is_orig else "f")
            ep.hist_last_fin = rel_seq + length
        else:
            if self._check(ep, HIST_RST, "R") and rel_seq != ep.hist_last_rst:
                self.history.append("R" if ep.is_orig else "r")
            ep.hist_last_rst = rel_seq

    def _update_last_seq(self, ep: Endpoint, past: int, flags: int, length: int,
                         delta: int) -> None:
        if flags & (SYN | RST) and (delta > TOO_LARGE_SEQ_DELTA or delta < -TOO_LARGE_SEQ_DELTA):
            pass                                   # an outlandish SYN/RST seq is not trusted
        elif flags & FIN and ep.last_rel == 1:
            ep.update_last(past)                   # only SYN and FIN seen (> 2 GB connections)
        elif ep.state == RESET:
            pass                                   # nothing after a RST is trusted
        elif delta > 0:
            ep.update_last(past)
        elif length > 0:
            self._scaled(ep, "T")                  # DidRxmit: nothing new in this data segment

    # --- the state machine (TCPSessionAdapter::Update*State) -------------------------------------
    def _state_machine(self, ep: Endpoint, peer: Endpoint, seq: int, length: int,
                       delta_last: int, is_orig: bool, flags: int) -> bool:
        syn, fin, rst, has_ack = flags & SYN, flags & FIN, flags & RST, flags & ACK
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
    def _undelivered(self, ep: Endpoint, up_to: int) -> None:
        """TrimToSeq -> Undelivered: acked bytes never seen are a content gap."""
        if up_to <= 2 and self.is_partial:
            return   # the faked SYN octet of a partial connection (Zeek leaves delivered as is)
        for _ in range(undelivered(ep, up_to)):
            self._gap(ep)

    def _gap(self, ep: Endpoint) -> None:
        # Only gaps in a cleanly established or closing connection go into the history.
        peer = self.resp if ep is self.orig else self.orig
        if _is_clean(ep) and _is_clean(peer):
            self._scaled(ep, "G")


def _is_clean(ep: Endpoint) -> bool:
    return ep.state == ESTABLISHED or (ep.state == CLOSED and ep.prev_state == ESTABLISHED)


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
