"""Crafted TCP-analysis cases: one conversation per Wireshark analysis flag, each returning the
flags tshark gives its frames (frame number -> set of flags). Used by test_tcp_analysis (tshark's
verdict asserted, then ours compared) and by the columnar corpus (every case in one pcap)."""
from __future__ import annotations


def _retransmission(c):
    c.handshake(); c.client(b"x" * 10); c.client(b"x" * 10, seq=1, after=0.5)
    return {5: {"retransmission"}}


def _spurious(c):
    c.handshake(); c.client(b"x" * 10); c.server(after=0.01); c.client(b"x" * 10, seq=1, after=1)
    return {6: {"retransmission", "spurious-retransmission"}}


def _spurious_before_out_of_order(c):
    # acknowledged bytes resent within the iRTT: 4.0 checks "spurious" before out-of-order
    c.handshake(rtt=0.5); c.client(b"x" * 10); c.client(b"x" * 10); c.server(after=0.01)
    c.client(b"x" * 10, seq=1, after=0.001)
    return {7: {"retransmission", "spurious-retransmission"}}


def _out_of_order(c):
    c.handshake(rtt=0.05); c.client(b"x" * 10, seq=11); c.client(b"x" * 10, seq=1, after=0.001)
    return {4: {"lost-segment"}, 5: {"out-of-order"}}


def _out_of_order_3ms_without_irtt(c):
    # no handshake: no iRTT, so the out-of-order window is 3 ms (2 ms: out-of-order, 5 ms: not)
    c.client(b"x" * 10, seq=1); c.client(b"x" * 10, seq=21, after=0.001)
    c.client(b"x" * 10, seq=11, after=0.002); c.client(b"x" * 5, seq=31, after=0.001)
    c.client(b"x" * 5, seq=36, after=0.0); c.client(b"x" * 5, seq=31, after=0.005)
    return {2: {"lost-segment"}, 3: {"out-of-order"}, 6: {"retransmission"}}


def _fast_retransmission(c):
    c.handshake(rtt=0.05); c.client(b"x" * 10, seq=11)
    c.server(ack=1); c.server(ack=1); c.server(ack=1)
    c.client(b"x" * 10, seq=1, after=0.005)
    return {4: {"lost-segment"}, 5: {"duplicate-ack"}, 6: {"duplicate-ack"},
            7: {"duplicate-ack"}, 8: {"retransmission", "fast-retransmission"}}


def _fast_retransmission_too_late(c):
    # the same, 30 ms after the last duplicate ACK: more than 20 ms, a plain retransmission
    c.handshake(rtt=0.01); c.client(b"x" * 10, seq=11)
    c.server(ack=1); c.server(ack=1); c.server(ack=1)
    c.client(b"x" * 10, seq=1, after=0.030)
    return {4: {"lost-segment"}, 5: {"duplicate-ack"}, 6: {"duplicate-ack"},
            7: {"duplicate-ack"}, 8: {"retransmission"}}


def _lost_and_ack_lost(c):
    c.handshake(); c.client(b"x" * 10, seq=11); c.server(ack=21); c.server(ack=21)
    c.client(b"y", seq=21); c.server(ack=40); c.server(ack=40)
    # frame 9: the gap was reported by frame 8 already (reported once, issue 15003)
    return {4: {"lost-segment"}, 5: {"ack-lost-segment"}, 6: {"duplicate-ack"},
            8: {"ack-lost-segment"}, 9: {"duplicate-ack"}}


def _zero_window_probe_and_update(c):
    c.handshake(); c.client(b"x" * 10); c.server(window=0); c.client(b"y", after=0.2)
    c.server(window=0, ack=11); c.server(window=500, ack=11, after=0.3); c.client(b"z" * 20)
    return {5: {"zero-window"}, 6: {"zero-window-probe"},
            7: {"zero-window", "zero-window-probe-ack"}, 8: {"window-update"},
            9: {"lost-segment"}}


def _window_full_unscaled(c):
    c.handshake(); c.c.window = c.s.window = 100
    c.client(b"x" * 99); c.server(b"y" * 10); c.client(b"x" * 100, seq=100, after=0.1)
    c.server(ack=200, after=0.01); c.client(b"x" * 100, after=0.1)
    # frame 6 ends exactly at ack 100 + window 100; frame 8 at 200 + 100
    return {6: {"window-full"}, 8: {"window-full"}}


def _window_full_first_ack_unscaled(c):
    # the SYN/ACK's window is not scaled yet (is_first_ack): 100 raw bytes fill it
    c.s.window = 100
    c.handshake(client_options=[("WScale", 7)], server_options=[("WScale", 2)])
    c.client(b"x" * 100)
    return {4: {"window-full"}}


def _window_full_scaled(c):
    c.handshake(client_options=[("WScale", 7)], server_options=[("WScale", 2)])
    c.s.window = 100; c.server(); c.client(b"x" * 400)
    return {4: {"window-update"}, 5: {"window-full"}}


def _keep_alive(c):
    c.handshake(); c.client(b"x" * 10); c.server(); c.client(seq=10, after=5)
    c.server(after=0.01); c.client(b"k", seq=10, after=5); c.server(after=0.01)
    return {6: {"keep-alive"}, 7: {"keep-alive-ack"}, 8: {"keep-alive"}, 9: {"keep-alive-ack"}}


def _reused_ports(c):
    c.handshake(); c.client(b"x" * 10); c.server(); c.client(flags="FA"); c.server(flags="FA")
    c.client(); c.new_isns(777777, 888888); c.handshake(after=1)
    return {9: {"reused-ports"}}


def _syn_retransmission(c):
    # same ISN again: a retransmission in the same stream, not a reused port
    c.client(flags="S", seq=0); c.client(flags="S", seq=0, after=1)
    c.server(flags="SA", seq=0, ack=1); c.client(flags="A", seq=1, ack=1)
    return {2: {"retransmission"}}


def _synack_new_isn(c):
    # a SYN/ACK whose ISN differs from the server's first segment: reused ports, same stream
    c.client(flags="S", seq=0); c.server(flags="RA", seq=0, ack=1, window=0)
    c.s.isn = 424242; c.server(flags="SA", seq=0, ack=1, after=0.2); c.client(flags="A", seq=1, ack=1)
    # the RST's seq (0) set the server's base; the SYN/ACK re-bases it: its own seq is "beyond"
    # the RST's, and the client's ACK acknowledges it
    return {3: {"reused-ports", "lost-segment"}, 4: {"ack-lost-segment"}}


def _fin_retransmission(c):
    c.handshake(rtt=0.5); c.client(b"x" * 10); c.client(flags="FA")
    c.client(flags="FA", seq=11, after=0.001)
    return {6: {"retransmission"}}


def _mid_stream(c):
    # no SYN seen: relative numbers start at 1, window scale unknown (-1), no iRTT
    c.client(b"x" * 10, seq=0); c.server(ack=10); c.client(b"y", seq=0, after=0.001)
    return {3: {"retransmission", "spurious-retransmission"}}


CRAFTED = {f.__name__.lstrip("_"): f for f in (
    _retransmission, _spurious, _spurious_before_out_of_order, _out_of_order,
    _out_of_order_3ms_without_irtt, _fast_retransmission, _fast_retransmission_too_late,
    _lost_and_ack_lost, _zero_window_probe_and_update, _window_full_unscaled,
    _window_full_first_ack_unscaled, _window_full_scaled, _keep_alive, _reused_ports,
    _syn_retransmission, _synack_new_isn, _fin_retransmission, _mid_stream)}
