"""Phase, label and direction of every frame, over columns: an exact port of analysis/session/labels.py
(both apply the rules of analysis/session/label_rules.py, which this module compiles).

    stage = LabelStage()
    for cols, data, tcp in chunks:
        labels = stage.run(cols, tcp)        # LabelColumns for the chunk's frames

ARP frames and frames without TCP analysis are labelled from their own columns (label_arp,
label_other). A TCP frame also depends on what came before it in its stream, so the stage
keeps the rules' state per stream in compact arrays. A tshark stream has exactly two endpoints
(one when a host talks to itself on the same port), and TcpColumns.from_client says which one
sent a frame (0 the stream's first sender, 1 the other): the client is one bit of the state,
fin_next one uint32 per endpoint.

Per-stream state: `state` (uint8 bits, below) + `fin_next` (2 x uint32) = 9 bytes.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from analysis.columnar.columns import (LABELS, P_ARP, P_RARP, PHASES, PROTOS, FrameColumns, LabelColumns,
                                      TcpColumns)
from analysis.session import label_rules as rules
from analysis.session.label_rules import S_SEEN

M32 = 0xFFFFFFFF

# The rules (analysis/session/label_rules.py, which the per-frame labeller applies too), compiled
# and inlined into the kernel.
_arp_label = njit(nogil=True, inline="always")(rules.arp_label)
_first_guess = njit(nogil=True, inline="always")(rules.first_guess)
_tcp_label = njit(nogil=True, inline="always")(rules.tcp_label)
_is_request = njit(nogil=True, inline="always")(rules.is_request)
_client_endpoint = njit(nogil=True, inline="always")(rules.client_endpoint)
K_FIN, K_DATA = rules.K_FIN, rules.K_DATA
# rule code -> LABELS / PHASES index
_LABEL_CODE = np.array([LABELS.index(name) for name in rules.RULE_LABELS], np.uint8)
_PHASE_CODE = np.array([PHASES.index(phase) for phase in rules.RULE_PHASES], np.uint8)
# label_other, per PROTOS code
_OTHER_LABEL = np.full(256, rules.K_OTHER, np.uint8)
for _code, _proto in enumerate(PROTOS):
    _OTHER_LABEL[_code] = rules.RULE_LABELS.index(rules.OTHER_LABELS.get(_proto, "other"))


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
            op = arp_op[i]
            # arp_op < 0: no ARP header; spa / tpa: IPv4 addresses as integers (0 unless arp_v4)
            k = _arp_label(op >= 0, p == P_RARP, op, arp_v4[i], arp_spa[i] == 0,
                           arp_spa[i] == arp_tpa[i])
        elif tcp_flags[i] < 0 or stream[i] < 0:
            k = other_label[p]
        else:
            s = stream[i]
            sender = 0 if from_client[i] else 1
            # a stream whose two endpoints are one (ip, port): the peer is the sender
            self_loop = src_hi[i] == dst_hi[i] and src_lo[i] == dst_lo[i] and sport[i] == dport[i]
            peer = sender if self_loop else 1 - sender
            st, k = _tcp_label(np.int64(state[s]), np.int64(tcp_flags[i]), sender, peer,
                               _first_guess(sport[i], dport[i], sender, peer), payload_len[i] > 0,
                               ack[i] == fin_next[s, peer], seq_rel[i] == 1 and ack_rel[i] == 1)
            if k == K_FIN:
                fin_next[s, sender] = (seq[i] + payload_len[i] + 1) & M32
            elif k == K_DATA:
                direction = 0 if _is_request(st, sender) else 1
            state[s] = np.uint8(st)
            client_is_src = _client_endpoint(st) == sender
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
