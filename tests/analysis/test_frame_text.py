"""LabeledFrame's fields and the texts made from them (analysis/frame_text.py, report/export.py)."""
from __future__ import annotations

import json
import subprocess
import sys

from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import ARP, Ether
from scapy.packet import Raw
from scapy.utils import wrpcap

from analysis import analyze, vocabulary
from analysis.frame_text import flags_text
from analysis.model import ACK, FIN, SYN, ArpHeader, Malformed, TcpOptions
from analysis.report.export import csv_row, CSV_COLUMNS, frame_dict


def test_flag_text_is_wiresharks_order():
    assert flags_text(SYN | ACK) == "SYN,ACK" and flags_text(FIN | ACK) == "FIN,ACK"
    assert flags_text(0x018) == "PSH,ACK" and flags_text(0x0C2) == "SYN,ECE,CWR"
    assert flags_text(0x104) == "RST,AE" and flags_text(0) == ""


def test_the_views_import_on_their_own():
    # frame_text and model import each other's names: either may be imported first
    for module in ("analysis.frame_text", "analysis.session.labels", "analysis.model"):
        done = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr


def test_fields_carry_what_the_texts_show(tmp_path):
    path = tmp_path / "crafted.pcap"
    wrpcap(str(path), [
        Ether(src="02:00:00:00:00:01", dst="ff:ff:ff:ff:ff:ff")
        / ARP(op=1, hwsrc="02:00:00:00:00:01", psrc="10.0.0.1", pdst="10.0.0.2"),
        Ether() / IP(src="10.0.0.1", dst="10.0.0.2")
        / TCP(sport=40000, dport=7, flags="S", seq=100,
              options=[("MSS", 1460), ("SAckOK", b""), ("Timestamp", (5, 0)), ("WScale", 7)]),
        Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / TCP(sport=40000, dport=7, flags="A", dataofs=3),
        Ether() / IP(src="10.0.0.1", dst="10.0.0.2", len=10) / Raw(b"x" * 30),
    ])
    arp, syn, bad_offset, short_ip = analyze(path).frames
    assert arp.arp == ArpHeader(1, "02:00:00:00:00:01", "10.0.0.1", "00:00:00:00:00:00", "10.0.0.2")
    assert arp.info == "Who has 10.0.0.2? Tell 10.0.0.1" and arp.tcp_flags == 0 and arp.flags == ""
    assert arp.tcp_options is None and arp.malformed is None
    assert syn.tcp_flags == SYN and syn.flags == "SYN"
    assert syn.tcp_options == TcpOptions(1460, 7, True, (), 5, 0)
    assert syn.info == "40000 → 7 [SYN] Seq=0 Win=8192 Len=0 MSS=1460 SACK_PERM WS=128"
    assert bad_offset.malformed == Malformed("tcp-invalid", "tcp header length 12 is invalid")
    assert short_ip.malformed.code == "length" and short_ip.info == f"[Malformed: {short_ip.malformed.message}]"
    for frame in (arp, syn, bad_offset, short_ip):
        assert frame.malformed is None or frame.malformed.code in vocabulary.MALFORMED

    entries = [json.loads(json.dumps(frame_dict(f))) for f in (arp, syn, bad_offset)]
    assert entries[0]["arp"] == {"opcode": 1, "sha": "02:00:00:00:00:01", "spa": "10.0.0.1",
                                 "tha": "00:00:00:00:00:00", "tpa": "10.0.0.2"}
    assert (entries[1]["tcp_flags"], entries[1]["flags"]) == (2, "SYN")
    assert entries[1]["tcp_options"] == {"mss": 1460, "wscale": 7, "sack_permitted": True,
                                         "sack_blocks": [], "ts_val": 5, "ts_ecr": 0}
    assert entries[2]["malformed"] == {"code": "tcp-invalid", "message": "tcp header length 12 is invalid"}

    rows = [dict(zip(CSV_COLUMNS, csv_row(f))) for f in (arp, syn, bad_offset)]
    assert (rows[0]["arp_opcode"], rows[0]["arp_spa"], rows[0]["info"]) == (1, "10.0.0.1", arp.info)
    assert (rows[1]["flags"], rows[1]["tcp_flags"], rows[1]["mss"], rows[1]["wscale"]) == ("SYN", 2, 1460, 7)
    assert (rows[2]["malformed"], rows[2]["malformed_code"]) == ("tcp header length 12 is invalid", "tcp-invalid")
