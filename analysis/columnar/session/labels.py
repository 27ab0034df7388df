"""Phase, label and direction of every frame, over columns: an exact port of analysis/session/labels.py.

    stage = LabelStage()
    for cols, data, tcp in chunks:
        labels = stage.run(cols, tcp)        # LabelColumns for the chunk's frames

ARP frames and frames without TCP analysis are labelled from their own columns (label_arp,
label_other). A TCP frame also depends on what came before it in its stream, so the stage
keeps FrameLabeler's _ConnLabelState per stream in compact arrays. A tshark stream has exactly
two endpoints (one when a host talks to itself on the same port), and TcpColumns.from_client
says which one sent a frame, so an endpoint is an index - 0 the stream's first sender, 1 the
other - instead of an (ip, port) tuple: the client is one bit, fin_next one uint32 per endpoint.

Per-stream state: `state` (uint8 bits, below) + `fin_next` (2 x uint32) = 9 bytes.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from analysis.columnar.columns import (LABELS, P_ARP, P_RARP, PHASES, PROTOS, FrameColumns, LabelColumns,
                      TcpColumns)

FIN, SYN, RST, ACK = 0x001, 0x002, 0x004, 0x010
M32 = 0xFFFFFFFF

# The kernel's own label numbering; the tables below map it to LABELS / PHASES indices, so the
# compiled (cached) kernel never bakes in the vocabulary's order.
_KERNEL_LABELS = ("arp-request", "arp-reply", "arp-announcement", "rarp", "syn", "syn-ack",
                  "handshake-ack", "data", "ack", "fin", "teardown-ack", "rst", "tcp", "udp",
                  "icmp", "icmpv6", "ipv4", "ipv6", "other")
(K_ARP_REQUEST, K_ARP_REPLY, K_ARP_ANNOUNCEMENT, K_RARP, K_SYN, K_SYN_ACK, K_HANDSHAKE_ACK,
 K_DATA, K_ACK, K_FIN, K_TEARDOWN_ACK, K_RST, K_TCP) = range(13)
# labels.py gives each label one phase ("tcp" included: Label("other", "tcp"))
_KERNEL_PHASE = {"arp-request": "arp", "arp-reply": "arp", "arp-announcement": "arp",
                 "rarp": "arp", "syn": "handshake", "syn-ack": "handshake",
                 "handshake-ack": "handshake", "data": "data", "ack": "data", "fin": "teardown",
                 "teardown-ack": "teardown", "rst": "reset"}
_LABEL_CODE = np.array([LABELS.index(name) for name in _KERNEL_LABELS], np.uint8)
_PHASE_CODE = np.array([PHASES.index(_KERNEL_PHASE.get(name, "other"))
                        for name in _KERNEL_LABELS], np.uint8)
# label_other: _OTHER_LABEL.get(proto, "tcp" if proto == "tcp" else "other"), per PROTOS code
_OTHER_NAMES = {"udp": "udp", "icmp": "icmp", "icmpv6": "icmpv6", "ipv4": "ipv4", "ipv6": "ipv6",
                "tcp": "tcp"}
_OTHER_LABEL = np.full(256, _KERNEL_LABELS.index("other"), np.uint8)
for _code, _proto in enumerate(PROTOS):
    _OTHER_LABEL[_code] = _KERNEL_LABELS.index(_OTHER_NAMES.get(_proto, "other"))

# bits of the per-stream state byte
S_SEEN = 1            # the stream has a _ConnLabelState
S_CLIENT = 2          # the client is endpoint 1 (else endpoint 0)
S_SYN = 4             # syn_seen
S_SYNACK = 8          # synack_seen
S_HANDSHAKE = 16      # handshake_done
S_FIN0 = 32           # fin_next has an entry for endpoint 0 (endpoint 1: S_FIN0 << 1)
# data_seen is never read by FrameLabeler, so it is not kept.


@njit(cache=True, nogil=True)
def _label_arp(proto, arp_op, arp_v4, spa, tpa):
    if arp_op < 0:                                  # no ARP header
        return K_ARP_REQUEST if proto == P_ARP else K_RARP
    if arp_op == 3 or arp_op == 4 or proto == P_RARP:
        return K_RARP
    # spa == "0.0.0.0" is arp_v4 with spa 0; spa == tpa compares texts, "" only when not IPv4
    if arp_v4 and (spa == tpa or spa == 0):
        return K_ARP_ANNOUNCEMENT
    if arp_op == 2:
        return K_ARP_REPLY
    return K_ARP_REQUEST


@njit(cache=True, nogil=True)
def label_kernel(proto, arp_op, arp_v4, arp_spa, arp_tpa, tcp_flags, seq, ack, payload_len,
                 sport, dport, src_hi, src_lo, dst_hi, dst_lo, stream, from_client, seq_rel,
                 ack_rel, state, fin_next, label_code, phase_code, other_label,
                 out_phase, out_label, out_dir, out_client_is_src):
    """Label every frame of a chunk; `state` / `fin_next` (per stream) are updated in place."""
    n = proto.shape[0]
    for i in range(n):
        p = proto[i]
        direction = -1
        client_is_src = False
        if p == P_ARP or p == P_RARP:
            k = _label_arp(p, arp_op[i], arp_v4[i], arp_spa[i], arp_tpa[i])
        elif tcp_flags[i] < 0 or stream[i] < 0:
            k = other_label[p]
        else:
            s = stream[i]
            flags = tcp_flags[i]
            st = np.int64(state[s])
            sender = 0 if from_client[i] else 1
            # a stream whose two endpoints are one (ip, port): the peer is the sender
            self_loop = src_hi[i] == dst_hi[i] and src_lo[i] == dst_lo[i] and sport[i] == dport[i]
            peer = sender if self_loop else 1 - sender
            if not st & S_SEEN:
                guess = sender if sport[i] >= dport[i] else peer
                st = S_SEEN | (S_CLIENT if guess == 1 else 0)
            if flags & SYN and not flags & ACK:
                if not st & (S_SYN | S_SYNACK):
                    st = (st & ~S_CLIENT) | (S_CLIENT if sender == 1 else 0)
                st |= S_SYN
                k = K_RST if flags & RST else K_SYN
            elif flags & SYN:                       # SYN-ACK
                if not st & (S_SYN | S_SYNACK):
                    st = (st & ~S_CLIENT) | (S_CLIENT if peer == 1 else 0)
                st |= S_SYNACK
                k = K_RST if flags & RST else K_SYN_ACK
            elif flags & RST:
                k = K_RST
            else:
                client = 1 if st & S_CLIENT else 0
                is_from_client = sender == client
                if flags & FIN:
                    fin_next[s, sender] = (seq[i] + payload_len[i] + 1) & M32
                    st |= (S_FIN0 << sender) | S_HANDSHAKE
                    k = K_FIN
                elif payload_len[i] > 0:
                    st |= S_HANDSHAKE
                    k = K_DATA
                    direction = 0 if is_from_client else 1
                elif st & (S_FIN0 << peer) and flags & ACK and ack[i] == fin_next[s, peer]:
                    k = K_TEARDOWN_ACK
                elif (not st & S_HANDSHAKE and st & S_SYNACK and is_from_client and flags & ACK
                      and seq_rel[i] == 1 and ack_rel[i] == 1):
                    st |= S_HANDSHAKE
                    k = K_HANDSHAKE_ACK
                else:
                    st |= S_HANDSHAKE
                    k = K_ACK if flags & ACK else K_TCP
            state[s] = np.uint8(st)
            client_is_src = (1 if st & S_CLIENT else 0) == sender
        out_label[i] = label_code[k]
        out_phase[i] = phase_code[k]
        out_dir[i] = direction
        out_client_is_src[i] = client_is_src


class LabelStage:
    """FrameLabeler over columns (mirrors labels.py): one instance per capture, chunks in order."""

    STATE_BYTES_PER_STREAM = 1 + 2 * 4

    def __init__(self) -> None:
        self.state = np.zeros(1024, np.uint8)
        self.fin_next = np.zeros((1024, 2), np.uint32)

    def _reserve(self, streams: int) -> None:
        size = len(self.state)
        if streams <= size:
            return
        while size < streams:
            size *= 2
        state = np.zeros(size, np.uint8)
        state[:len(self.state)] = self.state
        fin_next = np.zeros((size, 2), np.uint32)
        fin_next[:len(self.fin_next)] = self.fin_next
        self.state, self.fin_next = state, fin_next

    def run(self, cols: FrameColumns, tcp: TcpColumns) -> LabelColumns:
        n = len(cols)
        out = LabelColumns(phase=np.empty(n, np.uint8), label=np.empty(n, np.uint8),
                           direction=np.empty(n, np.int8), client_is_src=np.empty(n, np.bool_))
        if n == 0:
            return out
        self._reserve(int(tcp.stream.max()) + 1)
        label_kernel(cols.proto, cols.arp_op, cols.arp_v4, cols.arp_spa, cols.arp_tpa,
                     cols.tcp_flags, cols.seq, cols.ack, cols.payload_len, cols.sport, cols.dport,
                     cols.src_hi, cols.src_lo, cols.dst_hi, cols.dst_lo, tcp.stream,
                     tcp.from_client, tcp.seq_rel, tcp.ack_rel, self.state, self.fin_next,
                     _LABEL_CODE, _PHASE_CODE, _OTHER_LABEL,
                     out.phase, out.label, out.direction, out.client_is_src)
        return out

    @property
    def streams(self) -> int:
        """How many streams have label state (the highest stream id seen + 1)."""
        seen = np.flatnonzero(self.state & S_SEEN)
        return int(seen[-1]) + 1 if len(seen) else 0
