"""Content gaps: which acknowledged bytes were never captured (Zeek's TCP_Reassembler, reduced).

Zeek finds a gap when an ACK covers bytes its reassembler never received (AckReceived ->
TrimToSeq -> Undelivered -> Gap; src/analyzer/protocol/tcp/TCP_Reassembler.cc). Only the
bookkeeping that decides this is kept, per endpoint, in relative data sequence numbers (first
byte = 1): `delivered`, up to where the bytes are contiguous, and `blocks`, the [lo, hi) ranges
seen above a hole. conn_zeek.py decides whether a gap enters the history.
"""
from __future__ import annotations

MAX_ABOVE_HOLE_WITHOUT_ACKS = 16384     # tcp_max_above_hole_without_any_acks (init-bare.zeek)


def data_sent(ep, seq: int, length: int) -> None:
    """TCP_Reassembler::DataSent for `length` bytes at relative `seq` from endpoint `ep`."""
    upper = seq + length
    acked = ep.ack_rel
    if seq < acked:
        if upper <= acked:
            return                             # already delivered and acknowledged
        seq = acked                            # only the unacknowledged part is new
    if upper <= ep.delivered:
        return
    if seq <= ep.delivered:
        ep.delivered = upper
        absorb(ep)
    else:
        insert_block(ep.blocks, seq, upper)
        # tcp_max_above_hole_without_any_acks: Zeek stops reassembling this direction
        if ep.no_data_acked() and ep.blocks[-1][1] - ep.delivered > MAX_ABOVE_HOLE_WITHOUT_ACKS:
            ep.blocks.clear()
            ep.skip = True


def undelivered(ep, up_to: int) -> int:
    """Everything below `up_to` has been acknowledged: count the holes (gaps), deliver the rest."""
    gaps = 0
    blocks = ep.blocks
    while blocks and blocks[0][0] < up_to:
        lo, hi = blocks.pop(0)
        if lo > ep.delivered:
            gaps += 1
        if hi > ep.delivered:
            ep.delivered = hi
    if up_to > ep.delivered:
        gaps += 1
        ep.delivered = up_to
    absorb(ep)                                 # blocks now contiguous are delivered too
    return gaps


def absorb(ep) -> None:
    """Deliver the buffered blocks that became contiguous (BlockInserted)."""
    blocks = ep.blocks
    while blocks and blocks[0][0] <= ep.delivered:
        lo, hi = blocks.pop(0)
        if hi > ep.delivered:
            ep.delivered = hi


def insert_block(blocks: list[list[int]], lo: int, hi: int) -> None:
    """Insert [lo, hi) into the sorted, non-overlapping block list, merging neighbours."""
    i = 0
    while i < len(blocks) and blocks[i][1] < lo:
        i += 1
    while i < len(blocks) and blocks[i][0] <= hi:
        lo, hi = min(lo, blocks[i][0]), max(hi, blocks[i][1])
        blocks.pop(i)
    blocks.insert(i, [lo, hi])
