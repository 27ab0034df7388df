"""analysis.decode.frame against the conformance truth (tshark) and crafted captures (scapy)."""
from __future__ import annotations

import pytest
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import (ICMPv6EchoRequest, IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrFragment,
                                IPv6ExtHdrHopByHop, IPv6ExtHdrRouting)
from scapy.layers.ipsec import AH
from scapy.layers.l2 import ARP, CookedLinux, CookedLinuxV2, Dot1AD, Dot1Q, Ether
from scapy.packet import Raw

from analysis.decode.frame import decode_frame, iter_frames
from analysis.model import Malformed
from analysis.vocabulary import MALFORMED, MALFORMED_CUT
from analysis.errors import UnknownLinkTypeError
from analysis.model import RawRecord
from analysis.read.reader import CaptureReader
from tests.analysis.support.pcapfiles import pcap_bytes

# Wireshark's frame.encap_type (WTAP_ENCAP_*) -> the LINKTYPE_* the file declares
WTAP_TO_LINKTYPE = {1: 1, 15: 0, 25: 113, 129: 228, 210: 276}
# Frames whose TCP/UDP checksum is wrong, from
#   tshark -o tcp.check_checksum:TRUE -o udp.check_checksum:TRUE -e tcp.checksum.status -e udp.checksum.status
# (status 0 "Bad"); every other fully captured TCP/UDP frame of the set checks as good (status 1).
TSHARK_BAD_CHECKSUMS = {
    "pcpp_one_tcp_rst_refused.pcap": {1},
    "zeek_openjdk_tls_sll2.pcap": {6},
    "zeek_pcapng_multi_interface.pcapng": {1, 3, 5},   # UDP, sent by the capturing host (offload)
    "zeek_syn_bad_cksum.pcap": {1},
}
IPV6_EXTENSION_HEADERS = {0, 43, 44, 51, 60}


def frames_of(path):
    return list(iter_frames(CaptureReader(path)))


# -- conformance -----------------------------------------------------------------------------------

def test_conformance_frames_match_tshark(conformance_name, conformance_truth):
    truth = conformance_truth(conformance_name)
    frames = frames_of(truth.pcap)
    assert len(frames) == truth.capinfos.packets == len(truth.packets)
    bad_checksums = TSHARK_BAD_CHECKSUMS.get(conformance_name, set())
    for f, row in zip(frames, truth.packets):
        where = f"{conformance_name} frame {f.number}"
        assert f.number == row["frame.number"], where
        assert f.ts_ns == row["ts_ns"], where
        assert (f.wirelen, f.caplen) == (row["frame.len"], row["frame.cap_len"]), where
        assert f.interface == (row["frame.interface_id"] or 0), where
        assert f.linktype == WTAP_TO_LINKTYPE[row["frame.encap_type"]], where
        assert f.vlan_ids == row["vlan.id"], where
        # the network protocol, as each link layer's own field names it
        if f.linktype == 1:
            assert (row["vlan.etype"][-1] if f.vlan_ids else row["eth.type"]) == f.ethertype, where
        elif f.linktype in (113, 276):
            assert f.ethertype == row["sll.etype"], where
        elif f.linktype == 0:
            assert row["null.family"] == 2 and f.ethertype == 0x0800, where
        ip_src = row["ip.src"] or row["ipv6.src"]
        assert (f.src, f.dst) == ((ip_src, row["ip.dst"] or row["ipv6.dst"]) if ip_src
                                  else (row["arp.src.proto_ipv4"], row["arp.dst.proto_ipv4"])), where
        if row["ip.proto"] is not None:
            assert (f.net, f.ip_proto) == ("ipv4", row["ip.proto"]), where
        if row["ipv6.nxt"] is not None and row["ipv6.nxt"] not in IPV6_EXTENSION_HEADERS:
            # ours is the upper-layer protocol after extension headers, tshark's the fixed header's
            assert (f.net, f.ip_proto) == ("ipv6", row["ipv6.nxt"]), where
        if row["arp.opcode"] is not None:
            assert f.arp is not None and f.proto == ("arp" if row["arp.opcode"] in (1, 2) else "rarp")
            assert (f.arp.opcode, f.arp.sha, f.arp.tha, f.arp.spa, f.arp.tpa) == (
                row["arp.opcode"], row["arp.src.hw_mac"], row["arp.dst.hw_mac"],
                row["arp.src.proto_ipv4"], row["arp.dst.proto_ipv4"]), where
        else:
            assert f.arp is None, where
        if row["tcp.flags"] is not None:
            assert f.proto == "tcp" and f.tcp is not None, where
            assert (f.sport, f.dport, f.tcp.flags, f.tcp.seq, f.tcp.ack, f.payload_len) == (
                row["tcp.srcport"], row["tcp.dstport"], row["tcp.flags"], row["tcp.seq_raw"],
                row["tcp.ack_raw"], row["tcp.len"]), where
            assert len(f.payload) == min(f.payload_len, max(f.caplen - (f.wirelen - f.payload_len), 0))
        else:
            assert f.proto != "tcp", where
        # truncation and malformation
        assert f.truncated == (f.caplen < f.wirelen), where
        if row["_ws.malformed"]:
            assert f.malformed is not None, where
        elif f.malformed is not None:
            # Deliberate difference: a header cut by the snaplen is reported in `malformed`
            # ("tcp options header cut at 14 of 20 bytes"); tshark calls that frame
            # "[Packet size limited during capture]", not _ws.malformed.
            assert f.malformed.code in MALFORMED_CUT and f.truncated, where
        # checksums: None exactly when the segment was not wholly captured (or UDP sent none)
        if f.checksum_ok is not None:
            assert f.checksum_ok == (f.number not in bad_checksums), where
        elif f.proto in ("tcp", "udp"):
            assert f.caplen < f.wirelen, where


def test_conformance_snaplen_cut_headers_are_reported(conformance_truth):
    """zeek_truncated_header: snaplen 68 cuts frame 1 inside its TCP options (40-byte header)."""
    frames = frames_of(conformance_truth("zeek_truncated_header.pcap").pcap)
    first = frames[0]
    assert first.truncated and first.malformed == Malformed("tcp-options-cut", "tcp options header cut at 14 of 20 bytes")
    assert first.tcp.header_len == 40 and first.tcp.mss == 1460   # what was captured is decoded
    assert all(f.truncated for f in frames)


# -- crafted captures ------------------------------------------------------------------------------

def write(tmp_path, packets, linktype=1, snaplen=65535, name="crafted.pcap"):
    path = tmp_path / name
    items = []
    for i, p in enumerate(packets):
        data = bytes(p)
        items.append((1_700_000_000_000_000_000 + i * 1000, data[:snaplen], len(data)))
    path.write_bytes(pcap_bytes(items, linktype=linktype, snaplen=snaplen))
    return path


def decode_one(tmp_path, packet, linktype=1, snaplen=65535):
    (frame,) = frames_of(write(tmp_path, [packet], linktype, snaplen))
    return frame


TCP_SEG = (IP(src="10.1.0.1", dst="10.1.0.2", ttl=33)
           / TCP(sport=1234, dport=80, seq=1000, ack=2000, flags="PA") / Raw(b"hello"))


@pytest.mark.parametrize("tags,ids", [
    (Dot1Q(vlan=10), (10,)),
    (Dot1AD(vlan=100) / Dot1Q(vlan=20), (100, 20)),                 # 802.1ad Q-in-Q
    (Dot1Q(type=0x9100, vlan=7) / Dot1Q(vlan=8) / Dot1Q(vlan=9), (7, 8, 9)),  # 0x9100 stacking
])
def test_vlan_tags(tmp_path, tags, ids):
    outer = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02", type=tags.name == "802_1AD" and 0x88a8 or 0x8100)
    f = decode_one(tmp_path, outer / tags / TCP_SEG)
    assert f.vlan_ids == ids and f.ethertype == 0x0800
    assert (f.eth_src, f.eth_dst, f.src, f.dst, f.sport, f.dport) == (
        "02:00:00:00:00:01", "02:00:00:00:00:02", "10.1.0.1", "10.1.0.2", 1234, 80)
    assert (f.payload, f.payload_len, f.checksum_ok, f.malformed) == (b"hello", 5, True, None)


def test_linux_sll_and_sll2(tmp_path):
    sll = decode_one(tmp_path, CookedLinux(pkttype=4, lladdrtype=1, lladdrlen=6,
                                           src=b"\x02\x00\x00\x00\x00\x09\x00\x00", proto=0x0800) / TCP_SEG,
                     linktype=113)
    assert (sll.linktype, sll.ethertype, sll.eth_src, sll.src, sll.payload) == (
        113, 0x0800, "02:00:00:00:00:09", "10.1.0.1", b"hello")
    sll2 = decode_one(tmp_path, CookedLinuxV2(proto=0x86DD) / IPv6(src="fe80::1", dst="fe80::2")
                      / ICMPv6EchoRequest(id=1, seq=2, data=b"abcd"), linktype=276)
    assert (sll2.ethertype, sll2.net, sll2.proto, sll2.icmp_type, sll2.src, sll2.payload_len) == (
        0x86DD, "ipv6", "icmpv6", 128, "fe80::1", 4)


@pytest.mark.parametrize("linktype", [101, 12, 14, 228])
def test_raw_ipv4(tmp_path, linktype):
    f = decode_one(tmp_path, TCP_SEG, linktype=linktype)
    assert (f.eth_src, f.ethertype, f.net, f.ip_ttl, f.tcp.flags, f.checksum_ok) == (
        None, 0x0800, "ipv4", 33, 0x18, True)


@pytest.mark.parametrize("linktype", [101, 229])
def test_raw_ipv6(tmp_path, linktype):
    f = decode_one(tmp_path, IPv6(src="2001:db8::1", dst="2001:db8::2", hlim=9)
                   / UDP(sport=53, dport=5353) / Raw(b"q" * 11), linktype=linktype)
    assert (f.net, f.src, f.dst, f.ip_ttl, f.proto, f.sport, f.dport, f.payload_len, f.checksum_ok) == (
        "ipv6", "2001:db8::1", "2001:db8::2", 9, "udp", 53, 5353, 11, True)


@pytest.mark.parametrize("linktype,header,ethertype", [
    (0, (2).to_bytes(4, "little"), 0x0800), (0, (2).to_bytes(4, "big"), 0x0800),
    (0, (24).to_bytes(4, "little"), 0x86DD), (0, (28).to_bytes(4, "little"), 0x86DD),
    (0, (30).to_bytes(4, "big"), 0x86DD), (108, (2).to_bytes(4, "big"), 0x0800),
    (108, (24).to_bytes(4, "big"), 0x86DD),
])
def test_bsd_null_and_loop(tmp_path, linktype, header, ethertype):
    ip = TCP_SEG if ethertype == 0x0800 else IPv6(src="::1", dst="::1") / TCP(sport=5, dport=6)
    f = decode_one(tmp_path, header + bytes(ip), linktype=linktype)
    assert f.ethertype == ethertype and f.proto == "tcp" and f.checksum_ok is True


def test_ipv6_extension_headers_are_skipped(tmp_path):
    # The TCP checksum does not depend on extension headers, so compute it on a plain IPv6 packet:
    # scapy 2.8 gets it wrong when AH sits in the chain (tshark agrees it is then bad).
    addresses = dict(src="2001:db8::a", dst="2001:db8::b")
    segment = bytes(IPv6(**addresses) / TCP(sport=7, dport=8, flags="S", options=[("MSS", 1220)]))[40:]
    packet = (Ether() / IPv6(**addresses) / IPv6ExtHdrHopByHop()
              / IPv6ExtHdrDestOpt() / IPv6ExtHdrRouting(addresses=[]) / IPv6ExtHdrFragment(offset=0, m=0)
              / AH(nh=6, payloadlen=4, icv=b"\0" * 12) / Raw(segment))
    f = decode_one(tmp_path, packet)
    assert (f.ip_proto, f.proto, f.sport, f.dport, f.tcp.flags, f.tcp.mss, f.payload_len) == (
        6, "tcp", 7, 8, 0x002, 1220, 0)
    assert f.checksum_ok is True and f.malformed is None


def test_ipv6_non_first_fragment_has_no_transport(tmp_path):
    f = decode_one(tmp_path, Ether() / IPv6() / IPv6ExtHdrFragment(offset=10, nh=6) / Raw(b"x" * 24))
    assert (f.net, f.proto, f.ip_proto, f.tcp, f.sport, f.payload_len) == ("ipv6", "ipv6", 6, None, None, 24)


def test_ipv4_options_and_fragments(tmp_path):
    base = IP(src="10.0.0.1", dst="10.0.0.2", options=[b"\x01\x01\x01\x00"], id=7, proto=6)
    segment = bytes(TCP(sport=1, dport=2, flags="A", seq=5) / Raw(b"z" * 40))
    first = Ether() / base.copy() / Raw(segment[:32])
    first[IP].flags = "MF"
    later = Ether() / base.copy() / Raw(segment[32:])
    later[IP].frag = 4
    f1, f2 = frames_of(write(tmp_path, [first, later]))
    assert (f1.proto, f1.sport, f1.dport, f1.tcp.seq) == ("tcp", 1, 2, 5)
    assert f1.payload_len == 12 and f1.checksum_ok is False   # checksum covers the whole datagram
    assert (f2.proto, f2.tcp, f2.sport, f2.payload_len, f2.ip_proto) == ("ipv4", None, None, 28, 6)


def test_all_tcp_options(tmp_path):
    options = [("MSS", 1460), ("SAckOK", b""), ("Timestamp", (123456, 654321)), ("NOP", None),
               ("WScale", 7), ("NOP", None), ("NOP", None), ("SAck", (100, 200, 300, 400))]
    f = decode_one(tmp_path, Ether() / IP() / TCP(flags="SEC", options=options))
    t = f.tcp
    assert (t.mss, t.sack_permitted, t.ts_val, t.ts_ecr, t.wscale, t.sack_blocks) == (
        1460, True, 123456, 654321, 7, ((100, 200), (300, 400)))
    assert t.flags == 0x0C2 and t.header_len == 20 + 40


def test_arp_rarp_icmp_and_unknown_ethertype(tmp_path):
    arp_req = Ether(src="02:00:00:00:00:01", dst="ff:ff:ff:ff:ff:ff") / ARP(
        op=1, hwsrc="02:00:00:00:00:01", psrc="10.0.0.1", pdst="10.0.0.2")
    rarp = Ether(type=0x8035) / ARP(op=3, hwsrc="02:00:00:00:00:03", hwdst="02:00:00:00:00:03")
    icmp = Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / ICMP(type=8, id=1, seq=1) / Raw(b"p" * 16)
    other = Ether(type=0x88CC) / Raw(b"\0" * 46)                    # LLDP
    a, r, i, o = frames_of(write(tmp_path, [arp_req, rarp, icmp, other]))
    assert (a.proto, a.arp.opcode, a.arp.sha, a.arp.spa, a.arp.tha, a.arp.tpa, a.src, a.dst) == (
        "arp", 1, "02:00:00:00:00:01", "10.0.0.1", "00:00:00:00:00:00", "10.0.0.2", "10.0.0.1", "10.0.0.2")
    assert (r.net, r.proto, r.arp.opcode) == ("rarp", "rarp", 3)
    assert (i.proto, i.icmp_type, i.icmp_code, i.payload_len, i.checksum_ok) == ("icmp", 8, 0, 16, None)
    assert (o.net, o.proto, o.ethertype, o.malformed) == ("other", "other", 0x88CC, None)


def test_ethernet_padding_is_not_payload(tmp_path):
    packet = Ether() / IP() / TCP(flags="A")          # 54 bytes; the NIC pads to the 60-byte minimum
    assert len(packet) == 54
    f = decode_one(tmp_path, bytes(packet) + b"\0" * 6)
    assert (f.payload_len, f.payload, f.checksum_ok) == (0, b"", True)


def test_bad_checksums_are_detected(tmp_path):
    good4 = Ether() / TCP_SEG
    bad4 = Ether() / IP(bytes(TCP_SEG))
    bad4[TCP].chksum ^= 0x0101
    bad6 = Ether() / IPv6() / TCP(sport=1, dport=2, chksum=0x1234) / Raw(b"odd")
    bad_udp = Ether() / IP() / UDP(chksum=0x4321) / Raw(b"12345")
    no_udp = Ether() / IP() / UDP(chksum=0) / Raw(b"12345")          # IPv4: 0 means "not computed"
    frames = frames_of(write(tmp_path, [good4, bad4, bad6, bad_udp, no_udp]))
    assert [f.checksum_ok for f in frames] == [True, False, False, False, None]
    fast = [decode_frame(RawRecord(1, 0, len(bytes(p)), len(bytes(p)), 1, 0, bytes(p)),
                         verify_checksums=False) for p in (good4, bad4)]
    assert [f.checksum_ok for f in fast] == [None, None]
    assert fast[1].tcp.seq == 1000                                  # everything else still decoded


def test_snaplen_cut_payload_keeps_lengths(tmp_path):
    packet = Ether() / IP() / TCP(flags="PA") / Raw(b"d" * 100)
    f = decode_one(tmp_path, packet, snaplen=64)
    assert (f.caplen, f.wirelen, f.payload_len, f.payload) == (64, 154, 100, b"d" * 10)
    assert f.truncated and f.checksum_ok is None and f.malformed is None


@pytest.mark.parametrize("snaplen,reason", [
    (14 + 20 + 10, Malformed("tcp-cut", "tcp header cut at 10 of 20 bytes")),
    (14 + 12, Malformed("cut", "ipv4 header cut at 12 of 20 bytes")),
    (10, Malformed("cut", "ethernet header cut at 10 of 14 bytes")),
])
def test_cut_headers_are_data_not_exceptions(tmp_path, snaplen, reason):
    f = decode_one(tmp_path, Ether() / TCP_SEG, snaplen=snaplen)
    assert f.truncated and f.malformed == reason and f.tcp is None


def test_invalid_header_values_are_malformed(tmp_path):
    bogus_offset = bytearray(bytes(Ether() / TCP_SEG))
    bogus_offset[14 + 20 + 12] = 0x30                              # tcp data offset 3 (12 bytes)
    short_total = Ether() / IP(len=10) / Raw(b"x" * 30)
    f1, f2 = frames_of(write(tmp_path, [bytes(bogus_offset), short_total]))
    assert f1.malformed == Malformed("tcp-invalid", "tcp header length 12 is invalid") and not f1.truncated
    assert f2.malformed == Malformed("length", "ipv4 total length 10 is shorter than its header (20)")
    assert not f2.truncated and {f1.malformed.code, f2.malformed.code} <= set(MALFORMED)


def test_unknown_link_type_is_a_one_line_error_naming_file_and_frame(tmp_path):
    path = write(tmp_path, [b"\x00" * 30], linktype=147)            # LINKTYPE_USER0
    with pytest.raises(UnknownLinkTypeError) as err:
        frames_of(path)
    message = str(err.value)
    assert str(path) in message and "frame 1" in message and "link type 147" in message
    assert "\n" not in message and err.value.frame == 1
    with pytest.raises(UnknownLinkTypeError, match="^frame 3: link type 147"):
        decode_frame(RawRecord(3, 0, 1, 1, 147, 0, b"\0"))         # no path given: frame only


def test_fast_path_equals_general_path(conformance_name, conformance_truth, tmp_path):
    """decode_frame's fast path (untagged Ethernet / IPv4 / TCP) must give what the general,
    layer-by-layer path gives: compare both on every conformance frame and on crafted edge cases."""
    from analysis.decode.frame import _decode_general
    records = list(CaptureReader(conformance_truth(conformance_name).pcap).records())
    crafted = write(tmp_path, [Ether() / TCP_SEG, Ether() / IP(len=0) / TCP(flags="S"),
                               Ether() / IP(options=[b"\x01\x01\x01\x00"]) / TCP(),
                               Ether() / IP(frag=3, proto=6) / Raw(b"x" * 20),
                               Ether() / IP() / TCP(dataofs=15), Ether() / IP(len=400) / TCP()])
    records += list(CaptureReader(crafted).records())
    for rec in records:
        for verify in (True, False):
            assert decode_frame(rec, verify_checksums=verify) == _decode_general(rec, None, verify)


def test_short_ethernet_ipv4_frame_is_a_cut_header_not_a_crash():
    # 15..23 bytes starting like IPv4: the fast path must not read past the end
    for size in range(15, 24):
        data = bytes(12) + b"\x08\x00\x45" + bytes(size - 15)
        frame = decode_frame(RawRecord(1, 0, size, size, 1, 0, data))
        assert frame.malformed == Malformed("cut", f"ipv4 header cut at {size - 14} of 20 bytes")
