"""Helpers of the connection tests: track() runs a capture file through the per-frame pipeline
(reader -> decode -> tshark-style TCP analysis for the stream numbers -> Zeek-style connection
tracker); seg() crafts one Ethernet/IPv4/TCP frame with scapy."""
from __future__ import annotations

from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether

from analysis.conn.connections import ConnectionTracker
from analysis.decode.frame import decode_frame
from analysis.read.reader import iter_records
from analysis.tcp.analysis import TcpAnalyzer


def track(path, **options):
    """The finished connections of the capture at `path` (options go to ConnectionTracker)."""
    tracker = ConnectionTracker(**options)
    analyzer = TcpAnalyzer()
    for record in iter_records(path):
        frame = decode_frame(record)
        if frame.proto != "tcp" or frame.tcp is None:
            continue
        info = analyzer.process(frame)
        if info is not None:
            tracker.process(frame, info)
    return tracker.finish()


def seg(src, dst, flags, seq=0, ack=0, data=b"", window=8192, chksum=None, t=0.0):
    """One Ethernet/IPv4/TCP frame; `src`/`dst` are (ip, port)."""
    tcp = TCP(sport=src[1], dport=dst[1], flags=flags, seq=seq, ack=ack, window=window)
    if chksum is not None:
        tcp.chksum = chksum
    pkt = Ether() / IP(src=src[0], dst=dst[0]) / tcp / data if data else \
        Ether() / IP(src=src[0], dst=dst[0]) / tcp
    pkt.time = 1_700_000_000 + t
    return pkt
