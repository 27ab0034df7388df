"""Captures the dissection and filter tests run on: the 25 conformance captures, the three lab
captures shipped with the notebook, and one capture made with scapy at test time for what the
others lack (802.1Q, IPv6 TCP and UDP, SACK blocks, IPv4 fragments, ICMP, an unknown ethertype)."""
from __future__ import annotations

from pathlib import Path

from tests.analysis.conftest import CONFORMANCE_DIR, SHIPPED_CAPTURES


def conformance_pcaps() -> list[Path]:
    return sorted((CONFORMANCE_DIR / "pcaps").iterdir())


def lab_pcaps() -> list[Path]:
    return sorted(SHIPPED_CAPTURES.glob("*.pcap"))


def write_crafted(path: Path, *, fragments: bool = True) -> Path:
    """The crafted capture; `fragments`: with the three fragments of a UDP datagram (frames 5-7),
    which tshark reassembles (it dissects the UDP header in the last one) and we do not."""
    from scapy.all import ICMP, IP, TCP, UDP, Dot1Q, Ether, IPv6, Raw, fragment, wrpcap

    a, b = "02:00:00:00:00:01", "02:00:00:00:00:02"
    frames = [
        Ether(src=a, dst=b) / Dot1Q(vlan=42, prio=5) / IP(src="10.0.0.1", dst="10.0.0.2")
        / TCP(sport=1234, dport=2222, flags="S", seq=1000,
              options=[("MSS", 1460), ("SAckOK", b""), ("Timestamp", (1, 0)), ("NOP", None),
                       ("WScale", 7)]),
        Ether(src=b, dst=a) / IPv6(src="fd00::2", dst="fd00::1", tc=0xB8, fl=0x12345)
        / TCP(sport=2222, dport=1234, flags="SA", seq=5000, ack=1001),
        Ether(src=b, dst=a) / IPv6(src="fd00::2", dst="fd00::1")
        / TCP(sport=2222, dport=1234, flags="A", seq=5001, ack=1001,
              options=[("NOP", None), ("NOP", None), ("SAck", (1100, 1200))]),
        Ether(src=a, dst=b) / IPv6(src="fd00::1", dst="fd00::2") / UDP(sport=5000, dport=5001)
        / Raw(b"hello"),
        *(Ether(src=a, dst=b) / f for f in fragment(
            IP(src="10.0.0.1", dst="10.0.0.2", id=7) / UDP(sport=1, dport=2) / Raw(b"x" * 100),
            fragsize=48) if fragments),
        Ether(src=a, dst=b) / IP(src="10.0.0.1", dst="10.0.0.2") / TCP(sport=1, dport=2, flags="S", ack=12345),
        Ether(src=a, dst=b) / IP(src="10.0.0.1", dst="10.0.0.2") / ICMP() / Raw(b"ping"),
        Ether(src=a, dst=b, type=0x88B5) / Raw(b"\x01\x02\x03"),
    ]
    wrpcap(str(path), frames)
    return path
