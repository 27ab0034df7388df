"""Captures made with scapy for the encapsulation and pairing tests: small TCP sessions (handshake,
data both ways, FIN teardown) inside PPPoE, MPLS, GRE and VXLAN, frames behind layers we do not
decode, and sessions of protocols that are not the lab's (a greeting server, turns of several
segments, a client the server never answers).

    encap_pcap(path, "vxlan")      # two TCP connections inside VXLAN (ENCAPSULATIONS lists kinds)
    undecoded_pcap(path)           # + LLDP, PPP LCP, an MPLS pseudowire, GRE/ERSPAN: UNDECODED
    turns_pcap(path)               # the not-lab sessions
"""
from __future__ import annotations

from pathlib import Path

from scapy.all import (ARP, GRE, IP, PPP, TCP, UDP, VXLAN, Dot1Q, Ether, IPv6, PPPoE, Raw,
                       wrpcap)
from scapy.contrib.mpls import MPLS

T0 = 1_700_000_000.0
_MAC_A, _MAC_B = "02:00:00:00:00:0a", "02:00:00:00:00:0b"
_OUTER_A, _OUTER_B = "198.51.100.1", "198.51.100.2"


def session(client: tuple[str, int], server: tuple[str, int], talk, isn: tuple[int, int] = (1000, 5000)):
    """IP packets of one TCP connection: handshake, then `talk` = [(from_client, payload)] each
    answered by a pure ACK, then FIN from the client, FIN from the server, last ACK."""
    v6 = ":" in client[0]
    net = IPv6 if v6 else IP

    def pkt(from_client, flags, seq, ack, payload=b""):
        (a, ap), (b, bp) = (client, server) if from_client else (server, client)
        p = net(src=a, dst=b) / TCP(sport=ap, dport=bp, flags=flags, seq=seq, ack=ack, window=64240)
        return p / Raw(payload) if payload else p

    cseq, sseq = isn[0], isn[1]
    out = [pkt(True, "S", cseq, 0), pkt(False, "SA", sseq, cseq + 1), pkt(True, "A", cseq + 1, sseq + 1)]
    cseq, sseq = cseq + 1, sseq + 1
    for from_client, payload in talk:
        if from_client:
            out += [pkt(True, "PA", cseq, sseq, payload), pkt(False, "A", sseq, cseq + len(payload))]
            cseq += len(payload)
        else:
            out += [pkt(False, "PA", sseq, cseq, payload), pkt(True, "A", cseq, sseq + len(payload))]
            sseq += len(payload)
    out += [pkt(True, "FA", cseq, sseq), pkt(False, "FA", sseq, cseq + 1), pkt(True, "A", cseq + 1, sseq + 1)]
    return out


def _outer_ip(inner_from_a: bool):
    return IP(src=_OUTER_A, dst=_OUTER_B) if inner_from_a else IP(src=_OUTER_B, dst=_OUTER_A)


def wrap(kind: str, packet, from_a: bool):
    """One inner IP packet (or an ARP frame's payload) as an Ethernet frame through `kind`."""
    eth = Ether(src=_MAC_A, dst=_MAC_B) if from_a else Ether(src=_MAC_B, dst=_MAC_A)
    v6 = packet.haslayer(IPv6)
    inner_eth = Ether(src="02:00:00:00:01:0a", dst="02:00:00:00:01:0b")
    if kind == "pppoe":
        return eth / PPPoE(sessionid=0x2a) / PPP(proto=0x0057 if v6 else 0x0021) / packet
    if kind == "mpls":
        return eth / MPLS(label=100, s=0, ttl=64) / MPLS(label=200, s=1, ttl=64) / packet
    if kind == "gre":
        return eth / _outer_ip(from_a) / GRE(chksum_present=1, key_present=1, key=7,
                                             seqnum_present=1, sequence_number=3) / packet
    if kind == "gre-teb":
        return eth / _outer_ip(from_a) / GRE(proto=0x6558) / inner_eth / packet
    if kind == "gre6":
        outer = IPv6(src="2001:db8::a", dst="2001:db8::b") if from_a else \
            IPv6(src="2001:db8::b", dst="2001:db8::a")
        return eth / outer / GRE() / packet
    if kind == "vxlan":
        return eth / _outer_ip(from_a) / UDP(sport=49152 + from_a, dport=4789) / VXLAN(vni=42) \
            / inner_eth / packet
    if kind == "vlan-vxlan-vlan":
        return eth / Dot1Q(vlan=10) / _outer_ip(from_a) / UDP(sport=51000, dport=4789) \
            / VXLAN(vni=7) / inner_eth / Dot1Q(vlan=20) / packet
    raise ValueError(kind)


ENCAPSULATIONS = ("pppoe", "mpls", "gre", "gre-teb", "gre6", "vxlan", "vlan-vxlan-vlan")


def _write(path: Path, frames) -> Path:
    for i, frame in enumerate(frames):
        frame.time = T0 + i * 0.01
    wrpcap(str(path), frames)
    return path


def encap_pcap(path: Path, kind: str) -> Path:
    """A lab exchange and an HTTP-like exchange, each its own TCP connection, inside `kind`."""
    v6 = kind == "pppoe"       # one of them carries IPv6 inside
    a, b = ("2001:db8:1::1", "2001:db8:1::2") if v6 else ("10.9.0.1", "10.9.0.2")
    lab = session((a, 40001), (b, 2222), [(True, b"Hello Server\n"), (False, b"Echo: Hello Server\n"),
                                          (True, b"bye\n"), (False, b"Echo: bye\n")])
    web = session(("10.9.0.1", 40002), ("10.9.0.3", 80),
                  [(True, b"GET / HTTP/1.1\r\n"), (True, b"Host: lab\r\n\r\n"),
                   (False, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"), (False, b"ok")],
                  isn=(0xFFFFFF00, 77))
    frames = []
    for one, two in zip(lab, web):
        frames += [wrap(kind, one, one.sport == 40001), wrap(kind, two, two.sport == 40002)]
    if kind in ("gre-teb", "vxlan"):
        frames.append(wrap(kind, ARP(op=1, psrc="10.9.0.1", pdst="10.9.0.2",
                                     hwsrc="02:00:00:00:01:0a"), True))
    return _write(path, frames)


# (what is behind, how many frames) in undecoded_pcap, as decode_link.undecoded_layer names it
UNDECODED = {"Ethernet type 0x88cc": 2, "PPP protocol 0xc021": 3, "MPLS payload of IP version 0": 1,
             "Ethernet type 0x88be": 2}


def undecoded_pcap(path: Path) -> Path:
    eth = Ether(src=_MAC_A, dst=_MAC_B)
    plain = session(("10.9.0.1", 40003), ("10.9.0.2", 2222), [(True, b"hi\n"), (False, b"Echo: hi\n")])
    frames = [eth / plain[0]]
    frames += [Ether(src=_MAC_A, dst="01:80:c2:00:00:0e", type=0x88CC) / Raw(b"\x02\x07" + bytes(44))] * 2
    frames += [eth / PPPoE(sessionid=1) / PPP(proto=0xC021) / Raw(b"\x01\x01\x00\x04")] * 3
    frames += [eth / MPLS(label=300, s=1) / Raw(b"\x00\x00\x00\x00") / Ether() / plain[1]]
    frames += [eth / IP(src=_OUTER_A, dst=_OUTER_B) / GRE(proto=0x88BE, seqnum_present=1) / Raw(b"x" * 30)] * 2
    frames += [eth / p for p in plain[1:]]
    return _write(path, frames)


def turns_pcap(path: Path) -> Path:
    """Protocols other than the lab's: an FTP-like greeting, requests and replies of several
    segments, a reply past MAX_MESSAGE, a client the server never answers."""
    ftp = session(("10.8.0.1", 40010), ("10.8.0.2", 21), [
        (False, b"220 ready\r\n"), (True, b"USER anonymous\r\n"), (False, b"331 password?\r\n"),
        (True, b"PASS "), (True, b"x\r\n"), (False, b"230-welcome\r\n"), (False, b"230 ok\r\n"),
        (True, b"QUIT\r\n"), (False, b"221 bye\r\n")])
    web = session(("10.8.0.1", 40011), ("10.8.0.3", 80), [
        (True, b"GET /big HTTP/1.1\r\nHost: lab\r\n\r\n"),
        (False, b"HTTP/1.1 200 OK\r\n\r\n"), *[(False, b"y" * 1400)] * 50])
    mute = session(("10.8.0.1", 40012), ("10.8.0.4", 25), [(True, b"EHLO a\r\n"), (True, b"MAIL x\r\n")])
    eth = Ether(src=_MAC_A, dst=_MAC_B)
    frames = [eth / p for p in ftp] + [eth / p for p in web] + [eth / p for p in mute]
    return _write(path, frames)
