"""Crafted TCP captures for tests: write a conversation segment by segment with scapy.

    conv = TcpConversation()                      # client 10.0.0.1:40000 -> server 10.0.0.2:8080
    conv.handshake(rtt=0.050)                     # SYN, SYN/ACK, ACK
    conv.client(b"hello\\n")                        # PSH/ACK at the client's next seq
    conv.server(flags="A", after=0.010)           # pure ACK, 10 ms later
    conv.client(b"hello\\n", seq=1, after=1.0)      # resend the same bytes a second later
    path = conv.write(tmp_path / "retrans.pcap")  # frame numbers are 1-based, in call order

Sequence and acknowledgement numbers are given RELATIVE to each side's ISN (as tshark shows
them); the defaults follow the conversation (next seq, everything received acknowledged), so a
test spells out only what its case is about.  Times are seconds after the capture start.
Engineer C's connection tests may import this too.
"""
from __future__ import annotations

from pathlib import Path

from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether
from scapy.utils import PcapWriter

M32 = 0xFFFFFFFF
T0 = 1_700_000_000.0


class _Side:
    def __init__(self, ip: str, port: int, isn: int, mac: str) -> None:
        self.ip, self.port, self.isn, self.mac = ip, port, isn, mac
        self.next = 0          # next relative seq this side will send
        self.received = 0      # highest relative seq of the peer acknowledged by default
        self.window = 64240


class TcpConversation:
    """One TCP conversation (or several on the same ports, see `new_isns`), as a packet list."""

    def __init__(self, client: tuple[str, int] = ("10.0.0.1", 40000),
                 server: tuple[str, int] = ("10.0.0.2", 8080), *,
                 client_isn: int = 1000, server_isn: int = 5000) -> None:
        self.c = _Side(client[0], client[1], client_isn, "02:00:00:00:00:01")
        self.s = _Side(server[0], server[1], server_isn, "02:00:00:00:00:02")
        self.now = 0.0
        self.packets: list[tuple[float, bytes]] = []

    # -- segments ---------------------------------------------------------------------------
    def segment(self, side: str, data: bytes = b"", *, flags: str = "PA", seq: int | None = None,
                ack: int | None = None, window: int | None = None, after: float = 0.001,
                at: float | None = None, options: list | None = None, raw_ack: int | None = None
                ) -> int:
        """Append one segment from `side` ("c" or "s"); returns its frame number (1-based)."""
        me, peer = (self.c, self.s) if side == "c" else (self.s, self.c)
        if not data and flags == "PA":
            flags = "A"
        seq = me.next if seq is None else seq
        ack = me.received if ack is None else ack
        self.now = at if at is not None else self.now + after
        tcp = TCP(sport=me.port, dport=peer.port, flags=flags,
                  seq=(me.isn + seq) & M32,
                  ack=raw_ack if raw_ack is not None else ((peer.isn + ack) & M32 if "A" in flags else 0),
                  window=me.window if window is None else window, options=options or [])
        packet = Ether(src=me.mac, dst=peer.mac) / IP(src=me.ip, dst=peer.ip) / tcp / data
        self.packets.append((self.now, bytes(packet)))
        end = seq + len(data) + (1 if ("S" in flags or "F" in flags) else 0)
        if (end - me.next) & M32 < 0x80000000:
            me.next = end
        if (end - peer.received) & M32 < 0x80000000:
            peer.received = end
        return len(self.packets)

    def client(self, data: bytes = b"", **kw) -> int:
        return self.segment("c", data, **kw)

    def server(self, data: bytes = b"", **kw) -> int:
        return self.segment("s", data, **kw)

    def handshake(self, rtt: float = 0.050, *, client_options: list | None = None,
                  server_options: list | None = None, after: float = 0.001) -> tuple[int, int, int]:
        """SYN, SYN/ACK (rtt/2 later), ACK (rtt/2 later): the iRTT tshark reports is `rtt`."""
        self.c.next = self.s.next = 0
        syn = self.client(flags="S", seq=0, after=after, options=client_options)
        synack = self.server(flags="SA", seq=0, ack=1, after=rtt / 2, options=server_options)
        ack = self.client(flags="A", seq=1, ack=1, after=rtt / 2)
        return syn, synack, ack

    def new_isns(self, client_isn: int, server_isn: int) -> None:
        """Start a new connection on the same ports (port reuse): fresh ISNs and counters."""
        self.c.isn, self.s.isn = client_isn, server_isn
        self.c.next = self.c.received = self.s.next = self.s.received = 0

    # -- output -----------------------------------------------------------------------------
    def write(self, path: str | Path) -> Path:
        return write_conversations(path, [self])[0]


def write_conversations(path: str | Path, conversations, gap: float = 1000.0):
    """Write several conversations into one pcap, one after the other, `gap` seconds apart
    (give them different ports: each stays its own stream).  Returns (path, offsets): the
    frame number before each conversation's first frame."""
    path = Path(path)
    writer = PcapWriter(str(path), linktype=1, nano=True, sync=True)
    offsets, count = [], 0
    try:
        for index, conv in enumerate(conversations):
            offsets.append(count)
            for when, data in conv.packets:
                packet = Ether(data)
                packet.time = T0 + index * gap + when
                writer.write(packet)
                count += 1
    finally:
        writer.close()
    return path, offsets
