"""The analyzer's closed vocabulary, documented in one place (as Zeek documents conn_state).

Every name the analyzer emits - phase, label, analysis flag, conn_state, history letter, end of
a connection, encapsulation - is defined here, with its meaning. Other modules import these
constants; a test checks that nothing outside this vocabulary ever reaches a record.
"""
from __future__ import annotations

# --- phases: which part of the conversation a frame belongs to -----------------------------------
PHASES: dict[str, str] = {
    "arp": "ARP exchange: a host asks who has an IP address (broadcast) and the owner answers "
           "with its MAC address, so the IP packets that follow can be delivered on the LAN.",
    "handshake": "TCP three-way handshake: the client's SYN, the server's SYN-ACK and the "
                 "client's ACK agree on both initial sequence numbers and open the connection.",
    "data": "Data exchange: segments carrying payload (usually PSH,ACK), and the pure ACKs "
            "that acknowledge them.",
    "teardown": "Connection termination: each side sends FIN (usually FIN,ACK) and the other "
                "acknowledges it; the side that sends the first FIN closes first.",
    "reset": "Reset: a RST segment aborts the connection (or refuses it, when it answers a SYN).",
    "other": "Everything else: non-TCP traffic (UDP, ICMP, ICMPv6, ...) and undecodable frames.",
}

# Wireshark display filter for each phase's kind of frame, to explore any capture by hand. A
# phase also depends on what came before a frame (the ACK that completes the handshake, the ACK
# that answers a FIN), which no display filter can see, so on one capture these can select a
# frame of another phase or miss one; the reports print, per capture, a filter selecting exactly
# the phase's frames (analysis/filter/exact.py: this one when exact, else corrected, else the
# frame list of `frame_filter`, "frame.number in {3..5,22}").
PHASE_FILTERS: dict[str, str] = {
    "arp": "arp",
    "handshake": "tcp.flags.syn == 1 || (tcp.flags == 0x010 && tcp.seq == 1 && tcp.ack == 1 && tcp.len == 0)",
    "data": "tcp.len > 0 || (tcp.flags == 0x010 && tcp.ack > 1)",
    "teardown": "tcp.flags.fin == 1",
    "reset": "tcp.flags.reset == 1",
    "other": "!tcp && !arp",
}


def frame_filter(numbers) -> str:
    """The display filter selecting exactly these frames: 'frame.number in {1,3..5}'."""
    ranges: list[str] = []
    ordered = sorted(set(numbers))
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        ranges.append(str(ordered[i]) if i == j else f"{ordered[i]}..{ordered[j]}")
        i = j + 1
    return "frame.number in {" + ",".join(ranges) + "}"

# --- encapsulations the decoder steps through (Frame.encap, outermost first) ---------------------
ENCAPSULATIONS: dict[str, str] = {
    "pppoe": "PPPoE session (Ethernet type 0x8864): a PPP link over Ethernet, as DSL lines use; "
             "PPP protocol 0x0021 carries IPv4, 0x0057 IPv6.",
    "mpls": "MPLS label stack (Ethernet type 0x8847/0x8848): 4-byte labels a provider's routers "
            "switch on, down to the bottom-of-stack bit; then IPv4 or IPv6 (by its version).",
    "gre": "GRE tunnel (IP protocol 47): an IPv4/IPv6 packet, an MPLS stack or a whole Ethernet "
           "frame (0x6558) carried inside another IP packet; optional checksum, key, sequence.",
    "vxlan": "VXLAN tunnel (UDP port 4789): an Ethernet frame of a virtual network (its 24-bit "
             "VNI) carried in UDP between hosts, as cloud and container networks do.",
}

# --- labels: what one frame is ------------------------------------------------------------------
LABELS: dict[str, str] = {
    "arp-request": "ARP request (opcode 1): 'who has <IP>? tell <IP>', sent to the broadcast MAC.",
    "arp-reply": "ARP reply (opcode 2): '<IP> is at <MAC>', sent back to the asker.",
    "arp-announcement": "Gratuitous ARP / announcement: a host announces or probes its own address.",
    "rarp": "Reverse ARP (opcode 3 or 4).",
    "syn": "SYN: the client opens a connection and sends its initial sequence number (ISN).",
    "syn-ack": "SYN-ACK: the server accepts, sends its own ISN and acknowledges client ISN + 1.",
    "handshake-ack": "ACK that completes the three-way handshake.",
    "data": "A segment carrying payload (usually PSH,ACK).",
    "ack": "A pure ACK acknowledging data.",
    "fin": "FIN (usually FIN,ACK): this side has no more data to send.",
    "teardown-ack": "The pure ACK that acknowledges a FIN.",
    "rst": "RST: the connection is aborted or refused.",
    "tcp": "A TCP segment that fits no other label (e.g. a bare segment mid-stream, header cut).",
    "udp": "UDP datagram.",
    "icmp": "ICMP message.",
    "icmpv6": "ICMPv6 message.",
    "ipv4": "IPv4 packet of another protocol (or whose transport header was cut).",
    "ipv6": "IPv6 packet of another protocol (or whose transport header was cut).",
    "other": "A frame we could not decode beyond its link layer.",
}

# Which phase each label belongs to (TCP labels can be moved by context, see labels.py).
LABEL_PHASE: dict[str, str] = {
    "arp-request": "arp", "arp-reply": "arp", "arp-announcement": "arp", "rarp": "arp",
    "syn": "handshake", "syn-ack": "handshake", "handshake-ack": "handshake",
    "data": "data", "ack": "data",
    "fin": "teardown", "teardown-ack": "teardown",
    "rst": "reset",
    "tcp": "other", "udp": "other", "icmp": "other", "icmpv6": "other",
    "ipv4": "other", "ipv6": "other", "other": "other",
}

# Direction of a data frame.
DIRECTIONS = ("request", "response")

# --- Wireshark TCP analysis flags (tcp.analysis.*), in the order we report them -------------------
ANALYSIS_FLAGS: dict[str, str] = {
    "retransmission": "tcp.analysis.retransmission: a segment resending sequence space already seen.",
    "fast-retransmission": "tcp.analysis.fast_retransmission: a retransmission after 2+ duplicate "
                           "ACKs asked for it, within 20 ms.",
    "spurious-retransmission": "tcp.analysis.spurious_retransmission: resending data the peer "
                               "had already acknowledged.",
    "out-of-order": "tcp.analysis.out_of_order: a segment that fills a gap soon after it (3 ms "
                    "or the iRTT) rather than a retransmission.",
    "lost-segment": "tcp.analysis.lost_segment: a gap before this segment: something was not captured.",
    "ack-lost-segment": "tcp.analysis.ack_lost_segment: this ACK acknowledges data that was never seen.",
    "duplicate-ack": "tcp.analysis.duplicate_ack: the same ACK again, with no data, same window.",
    "zero-window": "tcp.analysis.zero_window: the receiver's window is 0: it cannot take more data.",
    "zero-window-probe": "tcp.analysis.zero_window_probe: one byte sent into a zero window.",
    "zero-window-probe-ack": "tcp.analysis.zero_window_probe_ack: the ACK to a zero-window probe.",
    "window-update": "tcp.analysis.window_update: a pure ACK that only opens the window.",
    "window-full": "tcp.analysis.window_full: this segment fills the peer's advertised window.",
    "keep-alive": "tcp.analysis.keep_alive: one byte (or none) below the next sequence number.",
    "keep-alive-ack": "tcp.analysis.keep_alive_ack: the ACK answering a keep-alive.",
    "reused-ports": "tcp.analysis.reused_ports: a new SYN on a port pair seen before.",
}

# The flags that mean "this segment resends data" (retransmission counts, red marks in figures).
RETRANSMISSION_FLAGS = ("retransmission", "fast-retransmission", "spurious-retransmission")

# tshark field name for each flag (for the conformance tests and the pyshark cross-check).
ANALYSIS_FIELDS: dict[str, str] = {name: "tcp.analysis." + name.replace("-", "_")
                                   for name in ANALYSIS_FLAGS}

# --- Zeek conn_state (scripts/base/protocols/conn/main.zeek) --------------------------------------
CONN_STATES: dict[str, str] = {
    "S0": "Connection attempt seen, no reply.",
    "S1": "Connection established, not terminated.",
    "SF": "Normal establishment and termination.",
    "REJ": "Connection attempt rejected.",
    "S2": "Established; close attempt by the originator seen (no reply from the responder).",
    "S3": "Established; close attempt by the responder seen (no reply from the originator).",
    "RSTO": "Established; the originator aborted (sent a RST).",
    "RSTR": "Responder sent a RST.",
    "RSTOS0": "Originator sent a SYN followed by a RST; no SYN-ACK from the responder.",
    "RSTRH": "Responder sent a SYN-ACK followed by a RST; no SYN from the (purported) originator.",
    "SH": "Originator sent a SYN followed by a FIN; no SYN-ACK from the responder.",
    "SHR": "Responder sent a SYN-ACK followed by a FIN; no SYN from the originator.",
    "OTH": "No SYN seen, just midstream traffic.",
}

# Zeek history letters: upper case for the originator, lower case for the responder.
HISTORY_LETTERS: dict[str, str] = {
    "s": "a SYN without the ACK bit set",
    "h": "a SYN-ACK ('handshake')",
    "a": "a pure ACK",
    "d": "a packet with payload ('data')",
    "f": "a packet with FIN bit set",
    "r": "a packet with RST bit set",
    "c": "a packet with a bad checksum",
    "g": "a content gap",
    "t": "a retransmitted packet",
    "w": "a packet advertising a zero window",
    "i": "an inconsistent packet (e.g. FIN+RST bits set)",
    "q": "a multi-flag packet (SYN+FIN or SYN+RST)",
    "^": "the connection's originator and responder were flipped",
}

# --- how a connection ended ------------------------------------------------------------------------
CONN_ENDS: dict[str, str] = {
    "fin-both": "Both sides sent FIN: a graceful close.",
    "fin-one": "Only one side's FIN was seen (half-closed, or the capture stopped).",
    "fin-rst": "A FIN, then a RST.",
    "rst": "Aborted (or refused) by a RST, with no FIN before it.",
    "open": "Still open when the capture ended: no FIN or RST seen.",
}

CLOSERS = ("orig", "resp")

# --- exchanges -------------------------------------------------------------------------------------
EXCHANGE_KINDS: dict[str, str] = {
    "echo": "An echo request and its 'Echo: ...' reply.",
    "vote": "A 'VOTE <option>' request and its 'VOTED ...' reply.",
    "results": "A 'RESULTS' request and its 'RESULTS ...' reply.",
    "error": "A request the server answered with 'ERROR ...'.",
    "other": "Any other request/response pair.",
}
