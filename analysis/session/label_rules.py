"""The label rules: which label a frame gets (vocabulary.LABELS), as integers, in one place.

Four labellers apply these rules, each to its own inputs, and they must never drift apart:

    analysis.session.labels                    the per-frame reference (Frame records)
    analysis.columnar.session.labels           the numba kernel (it compiles these functions)
    bench/analyzer/agreement.py                         the rules fed tshark's fields (we against tshark)
    tests/analysis/support/pyshark_engine.py   the rules fed pyshark's fields (a cross-check)

So the functions below are written in the subset numba compiles: integers and booleans in,
integers out, no objects, no calls (not even to each other: the kernel compiles each one alone),
and only module-level integer constants (numba freezes them into the
compiled kernel, so the kernel cache is keyed on this file too: analysis/columnar/kernel_cache.py).

A label is its index in vocabulary.LABELS (K_* below). A TCP stream has two endpoints, numbered
0 (the stream's first sender) and 1 (the other; the same one when a host talks to itself on one
port). What a labeller remembers per stream is one integer of S_* bits and, per endpoint, the
sequence number just past its FIN (kept by the caller: the reference counts raw sequence numbers,
tshark relative ones; the rules only need to know whether a frame's ACK is the peer's).
"""
from __future__ import annotations

from analysis.vocabulary import LABEL_PHASE, LABELS

FIN, SYN, RST, PSH, ACK = 0x001, 0x002, 0x004, 0x008, 0x010

RULE_LABELS = tuple(LABELS)          # code -> label
RULE_PHASES = tuple(LABEL_PHASE[name] for name in RULE_LABELS)   # code -> its phase
_CODE = {name: code for code, name in enumerate(RULE_LABELS)}
K_ARP_REQUEST = _CODE["arp-request"]
K_ARP_REPLY = _CODE["arp-reply"]
K_ARP_ANNOUNCEMENT = _CODE["arp-announcement"]
K_RARP = _CODE["rarp"]
K_SYN = _CODE["syn"]
K_SYN_ACK = _CODE["syn-ack"]
K_HANDSHAKE_ACK = _CODE["handshake-ack"]
K_DATA = _CODE["data"]
K_ACK = _CODE["ack"]
K_FIN = _CODE["fin"]
K_TEARDOWN_ACK = _CODE["teardown-ack"]
K_RST = _CODE["rst"]
K_TCP = _CODE["tcp"]
K_OTHER = _CODE["other"]

# The label of a frame that is neither ARP nor analysed TCP, by its protocol (vocabulary.PROTOS);
# a protocol not named here is "other".
OTHER_LABELS = {"udp": "udp", "icmp": "icmp", "icmpv6": "icmpv6", "ipv4": "ipv4", "ipv6": "ipv6",
                "tcp": "tcp"}

# Bits of a stream's state.
S_SEEN = 1            # the stream has been seen (the other bits mean something)
S_CLIENT = 2          # the client is endpoint 1 (else endpoint 0)
S_SYN = 4             # a SYN was seen
S_SYNACK = 8          # a SYN-ACK was seen
S_HANDSHAKE = 16      # the handshake is over (its ACK, data, a FIN or a later ACK was seen)
S_FIN0 = 32           # endpoint 0 sent a FIN (endpoint 1: S_FIN0 << 1)


def arp_label(has_header: bool, is_rarp: bool, opcode: int, v4: bool, spa_zero: bool,
              spa_is_tpa: bool) -> int:
    """An ARP or RARP frame. `has_header`: the ARP header could be read (else only the
    Ethernet type says what it is); `v4`: the sender protocol address is IPv4; `spa_zero`: it is
    0.0.0.0; `spa_is_tpa`: the sender and target protocol addresses are equal."""
    if not has_header:
        return K_RARP if is_rarp else K_ARP_REQUEST
    if opcode == 3 or opcode == 4 or is_rarp:
        return K_RARP
    # A gratuitous ARP (sender and target address equal) or a probe (RFC 5227: sender 0.0.0.0)
    # announces the sender's own address rather than asking for another host's.
    if v4 and (spa_is_tpa or spa_zero):
        return K_ARP_ANNOUNCEMENT
    if opcode == 2:
        return K_ARP_REPLY
    return K_ARP_REQUEST


def first_guess(sport: int, dport: int, sender: int, peer: int) -> int:
    """The client endpoint before any SYN is seen: the higher port is the ephemeral one, as Zeek
    guesses for midstream traffic."""
    return sender if sport >= dport else peer


def client_endpoint(state: int) -> int:
    return 1 if state & S_CLIENT else 0


def fin_seen(state: int, endpoint: int) -> bool:
    return (state & (S_FIN0 << endpoint)) != 0


def is_request(state: int, sender: int) -> bool:
    """A data frame is a request when the client sent it."""
    return sender == (1 if state & S_CLIENT else 0)


def tcp_label(state: int, flags: int, sender: int, peer: int, guess: int, has_payload: bool,
              acks_peer_fin: bool, handshake_numbers: bool) -> tuple[int, int]:
    """One TCP frame of a stream -> (the stream's new state, the label).

    `sender` / `peer`: the endpoints (0 or 1) that send and receive it; `guess`: first_guess()
    (read only on a stream's first frame); `acks_peer_fin`: its ACK number is the one just past
    the peer's FIN (read only once the peer sent one); `handshake_numbers`: relative seq and ack
    are both 1. When the label is K_FIN, the caller keeps the sequence number past the FIN."""
    st = state
    if not st & S_SEEN:
        st = S_SEEN | (S_CLIENT if guess == 1 else 0)
    if flags & SYN and not flags & ACK:
        # the first SYN or SYN-ACK names the client: a SYN's sender
        if not st & (S_SYN | S_SYNACK):
            st = (st & ~S_CLIENT) | (S_CLIENT if sender == 1 else 0)
        st |= S_SYN
        return st, (K_RST if flags & RST else K_SYN)
    if flags & SYN:
        # ... or a SYN-ACK's receiver
        if not st & (S_SYN | S_SYNACK):
            st = (st & ~S_CLIENT) | (S_CLIENT if peer == 1 else 0)
        st |= S_SYNACK
        return st, (K_RST if flags & RST else K_SYN_ACK)
    if flags & RST:
        return st, K_RST
    if flags & FIN:
        return st | (S_FIN0 << sender) | S_HANDSHAKE, K_FIN
    if has_payload:
        return st | S_HANDSHAKE, K_DATA
    # a pure ACK (or a bare segment) from here on
    if st & (S_FIN0 << peer) and flags & ACK and acks_peer_fin:
        return st, K_TEARDOWN_ACK
    if (not st & S_HANDSHAKE and st & S_SYNACK and sender == (1 if st & S_CLIENT else 0)
            and flags & ACK and handshake_numbers):
        return st | S_HANDSHAKE, K_HANDSHAKE_ACK
    return st | S_HANDSHAKE, (K_ACK if flags & ACK else K_TCP)
