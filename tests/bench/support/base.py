"""A tiny, deterministic base capture for the bench's tests: ARP, two full TCP connections of
the lab's line protocol (one with a retransmitted response), built with scapy, checksums valid."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

SERVER = ("10.0.0.2", 2222)
MAC_C, MAC_S = "02:00:00:00:00:03", "02:00:00:00:00:02"


def _conn(t: float, client: tuple[str, int], isn_c: int, isn_s: int, messages: list[tuple[bytes, bytes]],
          retransmit_reply: bool = False) -> list:
    from scapy.layers.inet import IP, TCP
    from scapy.layers.l2 import Ether

    (cip, cport), (sip, sport) = client, SERVER
    c_seq, s_seq = isn_c, isn_s
    out = []

    def c2s(flags, payload=b"", dt=0.0001):
        nonlocal t
        t += dt
        pkt = Ether(src=MAC_C, dst=MAC_S) / IP(src=cip, dst=sip) / TCP(
            sport=cport, dport=sport, flags=flags, seq=c_seq, ack=s_seq if "A" in flags else 0, window=502)
        pkt = pkt / payload if payload else pkt
        pkt.time = t
        out.append(pkt)

    def s2c(flags, payload=b"", dt=0.0001, seq=None):
        nonlocal t
        t += dt
        pkt = Ether(src=MAC_S, dst=MAC_C) / IP(src=sip, dst=cip) / TCP(
            sport=sport, dport=cport, flags=flags, seq=s_seq if seq is None else seq, ack=c_seq, window=509)
        pkt = pkt / payload if payload else pkt
        pkt.time = t
        out.append(pkt)

    c2s("S")
    c_seq += 1
    s2c("SA")
    s_seq += 1
    c2s("A")
    for i, (request, reply) in enumerate(messages):
        c2s("PA", request, dt=0.01)
        c_seq += len(request)
        s2c("A")
        s2c("PA", reply)
        if retransmit_reply and i == 0:
            s2c("PA", reply, dt=0.2, seq=s_seq)     # the same segment again: a retransmission
        s_seq += len(reply)
        c2s("A")
    c2s("FA", dt=0.01)
    c_seq += 1
    s2c("FA")
    s_seq += 1
    c2s("A")
    return out


def write_synthetic_base(path: Path) -> dict:
    """Write the base; return what it holds (for the tests' expectations)."""
    from scapy.layers.l2 import ARP, Ether
    from scapy.utils import wrpcap

    t0 = 1_700_000_000.0
    arp_req = Ether(src=MAC_C, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=MAC_C, psrc="10.0.0.3", pdst="10.0.0.2")
    arp_req.time = t0
    arp_rep = Ether(src=MAC_S, dst=MAC_C) / ARP(op=2, hwsrc=MAC_S, psrc="10.0.0.2", hwdst=MAC_C, pdst="10.0.0.3")
    arp_rep.time = t0 + 0.00002
    packets = [arp_req, arp_rep]
    packets += _conn(t0 + 0.001, ("10.0.0.3", 41000), 1000, 5000,
                     [(b"Hello Server\n", b"Echo: Hello Server\n"), (b"VOTE A id=1\n", b"VOTED A A=1 B=0 C=0\n")])
    packets += _conn(t0 + 0.5, ("10.0.0.4", 52000), 90000, 7000,
                     [(b"Apa kabar?\n", b"Echo: Apa kabar?\n")], retransmit_reply=True)
    wrpcap(str(path), packets, linktype=1)
    return {"packets": len(packets), "connections": 2, "retransmissions": 1}


needs_tshark = pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
