"""The analyzer's closed vocabulary, documented in one place (as Zeek documents conn_state).

Every name the analyzer emits - phase, label, analysis flag, conn_state, history letter, end of
a connection, encapsulation - is defined here, with its meaning. Other modules import these
constants; a test checks that nothing outside this vocabulary ever reaches a record.
"""
from __future__ import annotations

from analysis.i18n import N_  # marks the explanations for translation (pybabel -k N_); shown translated by the reports

# --- what a frame carries: its network layer (Frame.net) and protocol (Frame.proto), in the order
# of the columnar engine's codes ("other" is code 0) -------------------------------------------------
NETS = ("other", "ipv4", "ipv6", "arp", "rarp")
PROTOS = ("other", "tcp", "udp", "icmp", "icmpv6", "arp", "rarp", "ipv4", "ipv6")

# --- phases: which part of the conversation a frame belongs to -----------------------------------
PHASES: dict[str, str] = {
    "arp": N_("ARP exchange: a host asks who has an IP address (broadcast) and the owner answers "
              "with its MAC address, so the IP packets that follow can be delivered on the LAN."),
    "handshake": N_("TCP three-way handshake: the client's SYN, the server's SYN-ACK and the "
                    "client's ACK agree on both initial sequence numbers and open the connection."),
    "data": N_("Data exchange: segments carrying payload (usually PSH,ACK), and the pure ACKs "
               "that acknowledge them."),
    "teardown": N_("Connection termination: each side sends FIN (usually FIN,ACK) and the other "
                   "acknowledges it; the side that sends the first FIN closes first."),
    "reset": N_("Reset: a RST segment aborts the connection (or refuses it, when it answers a SYN)."),
    "other": N_("Everything else: non-TCP traffic (UDP, ICMP, ICMPv6, ...) and undecodable frames."),
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
    "pppoe": N_("PPPoE session (Ethernet type 0x8864): a PPP link over Ethernet, as DSL lines use; "
                "PPP protocol 0x0021 carries IPv4, 0x0057 IPv6."),
    "mpls": N_("MPLS label stack (Ethernet type 0x8847/0x8848): 4-byte labels a provider's routers "
               "switch on, down to the bottom-of-stack bit; then IPv4 or IPv6 (by its version)."),
    "gre": N_("GRE tunnel (IP protocol 47): an IPv4/IPv6 packet, an MPLS stack or a whole Ethernet "
              "frame (0x6558) carried inside another IP packet; optional checksum, key, sequence."),
    "vxlan": N_("VXLAN tunnel (UDP port 4789): an Ethernet frame of a virtual network (its 24-bit "
                "VNI) carried in UDP between hosts, as cloud and container networks do."),
}

# --- why decoding stopped early (Malformed.code; the columnar engine's MAL_* code is 1 + the index,
# 0 for none). The stages branch on these: TCP analysis skips "tcp-options-cut" frames as tshark
# does, connection tracking skips every "tcp-*" frame as Zeek does, "*cut" marks a frame truncated.
MALFORMED: dict[str, str] = {
    "tcp-options-cut": N_("The snaplen cut the TCP options: tshark shows no sequence analysis for "
                          "such a segment."),
    "tcp-cut": N_("The snaplen cut the TCP header (fewer than 20 bytes captured)."),
    "tcp-invalid": N_("The TCP header does not fit: its header length is below 20 or beyond the "
                      "segment, or the segment is shorter than a TCP header."),
    "cut": N_("The snaplen cut another header (link, VLAN, IP, UDP, ICMP, a tunnel's)."),
    "length": N_("A length field disagrees with the bytes: IPv4 total length, IPv6 payload "
                 "length, extension headers or UDP length."),
    "invalid": N_("A header we cannot follow (an IPv4 header with a bad version or header length)."),
}
# the codes of a header the snaplen cut (the frame is truncated)
MALFORMED_CUT = ("tcp-options-cut", "tcp-cut", "cut")
# the codes of a TCP header cut or invalid (Zeek drops such a packet before any state)
MALFORMED_TCP = ("tcp-options-cut", "tcp-cut", "tcp-invalid")

# --- labels: what one frame is ------------------------------------------------------------------
LABELS: dict[str, str] = {
    "arp-request": N_("ARP request (opcode 1): 'who has <IP>? tell <IP>', sent to the broadcast MAC."),
    "arp-reply": N_("ARP reply (opcode 2): '<IP> is at <MAC>', sent back to the asker."),
    "arp-announcement": N_("Gratuitous ARP / announcement: a host announces or probes its own address."),
    "rarp": N_("Reverse ARP (opcode 3 or 4)."),
    "syn": N_("SYN: the client opens a connection and sends its initial sequence number (ISN)."),
    "syn-ack": N_("SYN-ACK: the server accepts, sends its own ISN and acknowledges client ISN + 1."),
    "handshake-ack": N_("ACK that completes the three-way handshake."),
    "data": N_("A segment carrying payload (usually PSH,ACK)."),
    "ack": N_("A pure ACK acknowledging data."),
    "fin": N_("FIN (usually FIN,ACK): this side has no more data to send."),
    "teardown-ack": N_("The pure ACK that acknowledges a FIN."),
    "rst": N_("RST: the connection is aborted or refused."),
    "tcp": N_("A TCP segment that fits no other label (e.g. a bare segment mid-stream, header cut)."),
    "udp": N_("UDP datagram."),
    "icmp": N_("ICMP message."),
    "icmpv6": N_("ICMPv6 message."),
    "ipv4": N_("IPv4 packet of another protocol (or whose transport header was cut)."),
    "ipv6": N_("IPv6 packet of another protocol (or whose transport header was cut)."),
    "other": N_("A frame we could not decode beyond its link layer."),
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
    "retransmission": N_("tcp.analysis.retransmission: a segment resending sequence space already seen."),
    "fast-retransmission": N_("tcp.analysis.fast_retransmission: a retransmission after 2+ duplicate "
                              "ACKs asked for it, within 20 ms."),
    "spurious-retransmission": N_("tcp.analysis.spurious_retransmission: resending data the peer "
                                  "had already acknowledged."),
    "out-of-order": N_("tcp.analysis.out_of_order: a segment that fills a gap soon after it (3 ms "
                       "or the iRTT) rather than a retransmission."),
    "lost-segment": N_("tcp.analysis.lost_segment: a gap before this segment: something was not captured."),
    "ack-lost-segment": N_("tcp.analysis.ack_lost_segment: this ACK acknowledges data that was never seen."),
    "duplicate-ack": N_("tcp.analysis.duplicate_ack: the same ACK again, with no data, same window."),
    "zero-window": N_("tcp.analysis.zero_window: the receiver's window is 0: it cannot take more data."),
    "zero-window-probe": N_("tcp.analysis.zero_window_probe: one byte sent into a zero window."),
    "zero-window-probe-ack": N_("tcp.analysis.zero_window_probe_ack: the ACK to a zero-window probe."),
    "window-update": N_("tcp.analysis.window_update: a pure ACK that only opens the window."),
    "window-full": N_("tcp.analysis.window_full: this segment fills the peer's advertised window."),
    "keep-alive": N_("tcp.analysis.keep_alive: one byte (or none) below the next sequence number."),
    "keep-alive-ack": N_("tcp.analysis.keep_alive_ack: the ACK answering a keep-alive."),
    "reused-ports": N_("tcp.analysis.reused_ports: a new SYN on a port pair seen before."),
}

# The flags that mean "this segment resends data" (retransmission counts, red marks in figures).
RETRANSMISSION_FLAGS = ("retransmission", "fast-retransmission", "spurious-retransmission")

# tshark field name for each flag (for the conformance tests and the pyshark cross-check).
ANALYSIS_FIELDS: dict[str, str] = {name: "tcp.analysis." + name.replace("-", "_")
                                   for name in ANALYSIS_FLAGS}

# --- Zeek conn_state (scripts/base/protocols/conn/main.zeek) --------------------------------------
CONN_STATES: dict[str, str] = {
    "S0": N_("Connection attempt seen, no reply."),
    "S1": N_("Connection established, not terminated."),
    "SF": N_("Normal establishment and termination."),
    "REJ": N_("Connection attempt rejected."),
    "S2": N_("Established; close attempt by the originator seen (no reply from the responder)."),
    "S3": N_("Established; close attempt by the responder seen (no reply from the originator)."),
    "RSTO": N_("Established; the originator aborted (sent a RST)."),
    "RSTR": N_("Responder sent a RST."),
    "RSTOS0": N_("Originator sent a SYN followed by a RST; no SYN-ACK from the responder."),
    "RSTRH": N_("Responder sent a SYN-ACK followed by a RST; no SYN from the (purported) originator."),
    "SH": N_("Originator sent a SYN followed by a FIN; no SYN-ACK from the responder."),
    "SHR": N_("Responder sent a SYN-ACK followed by a FIN; no SYN from the originator."),
    "OTH": N_("No SYN seen, just midstream traffic."),
}

# Zeek history letters: upper case for the originator, lower case for the responder.
HISTORY_LETTERS: dict[str, str] = {
    "s": N_("a SYN without the ACK bit set"),
    "h": N_("a SYN-ACK ('handshake')"),
    "a": N_("a pure ACK"),
    "d": N_("a packet with payload ('data')"),
    "f": N_("a packet with FIN bit set"),
    "r": N_("a packet with RST bit set"),
    "c": N_("a packet with a bad checksum"),
    "g": N_("a content gap"),
    "t": N_("a retransmitted packet"),
    "w": N_("a packet advertising a zero window"),
    "i": N_("an inconsistent packet (e.g. FIN+RST bits set)"),
    "q": N_("a multi-flag packet (SYN+FIN or SYN+RST)"),
    "^": N_("the connection's originator and responder were flipped"),
}

# --- how a connection ended ------------------------------------------------------------------------
CONN_ENDS: dict[str, str] = {
    "fin-both": N_("Both sides sent FIN: a graceful close."),
    "fin-one": N_("Only one side's FIN was seen (half-closed, or the capture stopped)."),
    "fin-rst": N_("A FIN, then a RST."),
    "rst": N_("Aborted (or refused) by a RST, with no FIN before it."),
    "open": N_("Still open when the capture ended: no FIN or RST seen."),
}

CLOSERS = ("orig", "resp")

# --- exchanges -------------------------------------------------------------------------------------
EXCHANGE_KINDS: dict[str, str] = {
    "echo": N_("An echo request and its 'Echo: ...' reply."),
    "vote": N_("A 'VOTE <option>' request and its 'VOTED ...' reply."),
    "results": N_("A 'RESULTS' request and its 'RESULTS ...' reply."),
    "error": N_("A request the server answered with 'ERROR ...'."),
    "other": N_("Any other request/response pair."),
}

# --- live narration (analysis/live.py: LiveFrame.event, LiveFrame.doubt) -------------------------
LIVE_EVENTS: dict[str, str] = {
    "asks-address": N_("ARP request: the sender asks which MAC address has an IP address."),
    "answers-address": N_("ARP reply: the owner of the IP address answers with its MAC address."),
    "announces-address": N_("Gratuitous ARP: a host announces its own address."),
    "opens": N_("SYN: the client opens the connection."),
    "accepts": N_("SYN-ACK: the server accepts the connection."),
    "completes-handshake": N_("The ACK completing the three-way handshake: the connection is open."),
    "sends": N_("A segment carrying data (a request from the client, a response from the server)."),
    "sends-again": N_("A segment resending data already seen (a retransmission)."),
    "acknowledges": N_("A pure ACK: the sender acknowledges bytes it received."),
    "closes": N_("FIN: the sender has nothing more to send (the first FIN closes first)."),
    "acknowledges-fin": N_("The ACK answering the other side's FIN."),
    "resets": N_("RST: the sender aborts or refuses the connection."),
    "other": N_("Any other frame (UDP, ICMP, a bare TCP segment): its Info column says what."),
}
LIVE_DOUBTS: dict[str, str] = {
    "roles-guessed": N_("No SYN or SYN-ACK was seen before this frame, so which side is the "
                        "client was guessed from the ports; the final report's originator may "
                        "differ."),
    "one-pass": N_("The frame was flagged for loss, reordering or resending from the frames seen "
                   "so far; frames that arrive later can tell another story."),
}
