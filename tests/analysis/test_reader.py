"""analysis.read.reader against the conformance truth (capinfos, tshark) and crafted captures."""
from __future__ import annotations

import shutil
import struct
import subprocess

import pytest
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether
from scapy.utils import RawPcapWriter, rdpcap

import analysis.read.reader as reader_module
from analysis.errors import CaptureFormatError
from analysis.read.reader import CaptureReader, iter_records
from tests.analysis.support.pcapfiles import pcap_bytes, pcapng_block, pcapng_epb, pcapng_idb, pcapng_shb

T0 = 1_700_000_000_123_456_789      # an epoch time in ns with every digit significant


def frame(i: int = 0) -> bytes:
    return bytes(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
                 / IP(src="10.0.0.1", dst="10.0.0.2") / TCP(sport=40000 + i, dport=7, flags="S"))


def read(path):
    reader = CaptureReader(path)
    return reader, list(reader.records())


# -- conformance -----------------------------------------------------------------------------------

def test_conformance_records_match_tshark_and_capinfos(conformance_name, conformance_truth):
    truth = conformance_truth(conformance_name)
    reader, records = read(truth.pcap)
    info = truth.capinfos
    assert len(records) == info.packets == len(truth.packets)
    assert reader.format == info.format
    assert reader.linktypes == tuple(i.linktype for i in info.interfaces)
    assert [i.snaplen for i in reader.interfaces] == [i.snaplen for i in info.interfaces]
    assert [i.ticks_per_second for i in reader.interfaces] == [i.ticks_per_second for i in info.interfaces]
    assert reader.nanosecond == any(i.precision == 9 for i in info.interfaces)
    for rec, row in zip(records, truth.packets):
        assert rec.number == row["frame.number"]
        assert rec.ts_ns == row["ts_ns"], f"frame {rec.number} time"
        assert rec.caplen == row["frame.cap_len"] == len(rec.data)
        assert rec.wirelen == row["frame.len"]
        # tshark prints frame.interface_id for pcapng only; pcap has the one interface 0
        assert rec.interface == (row["frame.interface_id"] if info.format == "pcapng" else 0)
        assert rec.linktype == reader.linktypes[rec.interface]


def test_conformance_errors_and_warnings_match_truth(conformance_name, conformance_truth):
    """tshark and tcpdump read every conformance file cleanly: so must we (no warning, no error).
    A truth with tshark_error.txt or a non-zero tcpdump status would demand a warning or error."""
    truth = conformance_truth(conformance_name)
    clean = truth.tshark_error is None and truth.tcpdump_exit == 0
    try:
        reader, _ = read(truth.pcap)
        problems = reader.warnings
    except CaptureFormatError as exc:
        problems = [exc]
    assert (problems == []) == clean, problems


# Frames tshark dissects as TCP but leaves out of `-z conv,tcp`: the TCP tap only runs once the
# whole header was read, and frame 1 of zeek_truncated_header is cut (snaplen 68) inside its options.
NOT_IN_CONV_TCP = {"zeek_truncated_header.pcap": {1}}


def test_truth_loader_is_self_consistent(conformance_name, conformance_truth):
    truth = conformance_truth(conformance_name)
    skip = NOT_IN_CONV_TCP.get(conformance_name, set())
    tcp_rows = [r for r in truth.packets
                if r["tcp.stream"] is not None and r["frame.number"] not in skip]
    assert sum(c.frames for c in truth.conv_tcp) == len(tcp_rows)
    assert sum(c.bytes for c in truth.conv_tcp) == sum(r["frame.len"] for r in tcp_rows)
    assert len({r["tcp.stream"] for r in tcp_rows}) == len(truth.conv_tcp)
    assert [e.frame for e in truth.expert] == [r["frame.number"] for r in truth.packets]


# -- crafted pcap ----------------------------------------------------------------------------------

@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("nano", [False, True])
def test_pcap_byte_orders_and_resolutions(tmp_path, order, nano):
    path = tmp_path / "x.pcap"
    times = [T0, T0 + 1_000_001]
    path.write_bytes(pcap_bytes([(t, frame(i)) for i, t in enumerate(times)], order=order, nano=nano))
    reader, records = read(path)
    expected = times if nano else [t // 1000 * 1000 for t in times]
    assert [r.ts_ns for r in records] == expected
    assert [r.data for r in records] == [frame(0), frame(1)]
    assert (reader.format, reader.linktypes, reader.nanosecond) == ("pcap", (1,), nano)


@pytest.mark.parametrize("endianness", ["<", ">"])
def test_pcap_written_by_scapy(tmp_path, endianness):
    """An independent writer: scapy's RawPcapWriter, both byte orders, nanosecond magic."""
    path = tmp_path / "scapy.pcap"
    writer = RawPcapWriter(str(path), linktype=1, endianness=endianness, nano=True)
    writer.write_header(None)
    writer.write_packet(frame(0), sec=1_700_000_000, usec=123_456_789)
    writer.close()
    (rec,) = iter_records(path)
    assert rec.ts_ns == 1_700_000_000_123_456_789
    assert rec.data == frame(0) and rec.linktype == 1


def test_modified_pcap_magic(tmp_path):
    path = tmp_path / "modified.pcap"
    path.write_bytes(pcap_bytes([(T0, frame(0)), (T0, frame(1))], modified=True))
    assert [r.data for r in iter_records(path)] == [frame(0), frame(1)]


def test_records_cross_read_buffer_boundaries(tmp_path, monkeypatch):
    path = tmp_path / "many.pcap"
    path.write_bytes(pcap_bytes([(T0 + i, frame(i)) for i in range(50)]))
    whole = list(iter_records(path))
    monkeypatch.setattr(reader_module, "CHUNK", 37)   # forces a refill inside most records
    assert list(iter_records(path)) == whole
    assert len(whole) == 50


def test_snaplen_cut_frame_keeps_wire_length(tmp_path):
    path = tmp_path / "snap.pcap"
    path.write_bytes(pcap_bytes([(T0, frame(0)[:40], len(frame(0)))], snaplen=40))
    reader, (rec,) = read(path)
    assert (rec.caplen, rec.wirelen, reader.snaplen) == (40, len(frame(0)), 40)


@pytest.mark.parametrize("cut", [5, 16 + 20])   # inside the record header, inside the frame
def test_file_cut_mid_record_warns_with_offset(tmp_path, cut):
    path = tmp_path / "cut.pcap"
    whole = pcap_bytes([(T0, frame(0)), (T0, frame(1)), (T0, frame(2))])
    third = 24 + 2 * (16 + len(frame(0)))
    path.write_bytes(whole[:third + cut])
    reader, records = read(path)
    assert [r.data for r in records] == [frame(0), frame(1)]
    (warning,) = reader.warnings
    assert (warning.code, warning.offset, warning.frame) == ("truncated-file", third, 3)
    assert "\n" not in warning.message and str(path) in warning.message
    assert f"offset {third}" in warning.message


def test_empty_file_is_an_error(tmp_path):
    path = tmp_path / "empty.pcap"
    path.write_bytes(b"")
    with pytest.raises(CaptureFormatError) as err:
        CaptureReader(path)
    assert str(path) in str(err.value) and "empty" in str(err.value) and "\n" not in str(err.value)


def test_text_file_is_not_a_capture(tmp_path):
    path = tmp_path / "notes.pcap"          # the name says pcap; the magic decides
    path.write_text("GET / HTTP/1.1\r\nHost: example\r\n\r\n")
    with pytest.raises(CaptureFormatError) as err:
        CaptureReader(path)
    assert str(path) in str(err.value) and "not a pcap or pcapng" in str(err.value)
    assert "\n" not in str(err.value)


def test_cut_pcap_file_header_is_an_error(tmp_path):
    path = tmp_path / "short.pcap"
    path.write_bytes(pcap_bytes([])[:10])
    with pytest.raises(CaptureFormatError, match="file header cut at 10 of 24"):
        CaptureReader(path)


def test_absurd_record_length_names_the_frame(tmp_path):
    path = tmp_path / "absurd.pcap"
    data = bytearray(pcap_bytes([(T0, frame(0)), (T0, frame(1))]))
    struct.pack_into("<I", data, 24 + 16 + len(frame(0)) + 8, 0x7FFFFFF0)   # frame 2's caplen
    path.write_bytes(bytes(data))
    reader = CaptureReader(path)
    records = reader.records()
    assert next(records).data == frame(0)           # nothing already read is lost
    with pytest.raises(CaptureFormatError) as err:
        next(records)
    assert err.value.frame == 2 and "frame 2" in str(err.value) and str(path) in str(err.value)


def test_name_is_not_used_for_detection(tmp_path):
    path = tmp_path / "really_pcapng.pcap"
    path.write_bytes(pcapng_shb() + pcapng_idb() + pcapng_epb(0, T0 // 1000, frame(0)))
    reader, records = read(path)
    assert reader.format == "pcapng" and len(records) == 1


# -- crafted pcapng --------------------------------------------------------------------------------

def test_pcapng_interfaces_with_their_own_resolution_and_offset(tmp_path):
    path = tmp_path / "multi.pcapng"
    body = [pcapng_shb(),
            pcapng_idb(1),                                   # default resolution: microseconds
            pcapng_idb(113, tsresol=9),                      # nanoseconds, Linux SLL
            pcapng_idb(1, tsresol=0x80 | 20),                # 2**-20 s ticks
            pcapng_idb(228, tsresol=3, tsoffset=1000),       # milliseconds, 1000 s offset
            pcapng_block(0x0000000A + 0x100, b"ignored unknown block"),
            pcapng_epb(0, T0 // 1000, frame(0)),
            pcapng_epb(1, T0, b"sll" + frame(1)),
            pcapng_epb(2, (3 << 20) + (1 << 19), frame(2)),  # 3.5 s
            pcapng_epb(3, 1234, frame(3)[14:])]
    path.write_bytes(b"".join(body))
    reader, records = read(path)
    assert reader.linktypes == (1, 113, 1, 228)
    assert [i.ticks_per_second for i in reader.interfaces] == [10**6, 10**9, 2**20, 10**3]
    assert reader.nanosecond and reader.format == "pcapng"
    assert [r.interface for r in records] == [0, 1, 2, 3]
    assert [r.linktype for r in records] == [1, 113, 1, 228]
    assert [r.ts_ns for r in records] == [T0 // 1000 * 1000, T0, 3_500_000_000,
                                          (1000 + 1) * 10**9 + 234_000_000]

    if shutil.which("tshark"):    # an independent reader agrees (it is installed by `make tools`)
        out = subprocess.run(["tshark", "-n", "-r", str(path), "-T", "fields", "-e",
                              "frame.time_epoch", "-e", "frame.interface_id"],
                             capture_output=True, text=True, timeout=60, check=True).stdout
        rows = [line.split("\t") for line in out.splitlines()]
        assert [int(i) for _, i in rows] == [0, 1, 2, 3]
        whole, frac = zip(*(t.split(".") for t, _ in rows))
        assert [int(w) * 10**9 + int(f.ljust(9, "0")) for w, f in zip(whole, frac)] == \
               [r.ts_ns for r in records]


def test_pcapng_sections_of_both_byte_orders_number_interfaces_globally(tmp_path):
    path = tmp_path / "sections.pcapng"
    path.write_bytes(b"".join([
        pcapng_shb("<"), pcapng_idb(1), pcapng_epb(0, 5, frame(0)),
        pcapng_shb(">"), pcapng_idb(276, order=">"), pcapng_idb(1, tsresol=9, order=">"),
        pcapng_epb(1, 7, frame(1), order=">"), pcapng_epb(0, 6, b"x" * 20 + frame(2), order=">")]))
    reader, records = read(path)
    assert reader.linktypes == (1, 276, 1)
    assert [(r.interface, r.linktype, r.ts_ns) for r in records] == [(0, 1, 5000), (2, 1, 7),
                                                                      (1, 276, 6000)]
    assert records[2].data == b"x" * 20 + frame(2)


def test_pcapng_simple_and_obsolete_packet_blocks(tmp_path):
    path = tmp_path / "old.pcapng"
    spb = pcapng_block(3, struct.pack("<I", len(frame(0))) + frame(0))
    pb = pcapng_block(2, struct.pack("<HHIIII", 0, 0, 0, 42, len(frame(1)), len(frame(1))) + frame(1))
    path.write_bytes(pcapng_shb() + pcapng_idb(1, snaplen=50) + spb + pb)
    _, (simple, obsolete) = read(path)
    # an SPB holds at most the interface's snaplen; it has no timestamp
    assert (simple.caplen, simple.wirelen, simple.ts_ns, simple.data) == (50, len(frame(0)), 0,
                                                                          frame(0)[:50])
    assert (obsolete.ts_ns, obsolete.data) == (42_000, frame(1))


def test_pcapng_cut_mid_block_warns(tmp_path):
    path = tmp_path / "cut.pcapng"
    head = pcapng_shb() + pcapng_idb() + pcapng_epb(0, 1, frame(0))
    path.write_bytes(head + pcapng_epb(0, 2, frame(1))[:30])
    reader, records = read(path)
    assert len(records) == 1
    (warning,) = reader.warnings
    assert (warning.code, warning.offset, warning.frame) == ("truncated-file", len(head), 2)


def test_pcapng_packet_on_undefined_interface_is_an_error(tmp_path):
    path = tmp_path / "noidb.pcapng"
    path.write_bytes(pcapng_shb() + pcapng_idb() + pcapng_epb(0, 1, frame(0)) + pcapng_epb(4, 1, frame(1)))
    records = CaptureReader(path).records()
    next(records)
    with pytest.raises(CaptureFormatError, match="frame 2: packet refers to interface 4"):
        next(records)


def test_pcapng_written_by_scapy_reads_the_same_as_scapy(tmp_path):
    from scapy.utils import wrpcapng
    packets = [Ether(frame(i)) for i in range(3)]
    for i, p in enumerate(packets):
        p.time = 1_700_000_000 + i / 4
    path = tmp_path / "scapy.pcapng"
    wrpcapng(str(path), packets)
    ours = list(iter_records(path))
    theirs = rdpcap(str(path))
    assert [r.data for r in ours] == [bytes(p) for p in theirs]
    assert [r.ts_ns / 1e9 for r in ours] == pytest.approx([float(p.time) for p in theirs], abs=1e-6)
