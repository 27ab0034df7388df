"""The replicator: a valid pcap that tshark analyses exactly like the base, replica after replica."""
from __future__ import annotations

import shutil
import struct
import subprocess

import pytest

from bench.analyzer import inputs
from tests.bench.support.base import SERVER, needs_tshark

REPLICAS = 5


def _tshark(path, *fields, extra=()):
    args = ["tshark", "-n", "-r", str(path), *extra, "-T", "fields", "-E", "separator=\t",
            "-E", "occurrence=f"]
    for name in fields:
        args += ["-e", name]
    done = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "cut short" not in done.stderr and "appears to be damaged" not in done.stderr, done.stderr
    return [line.split("\t") for line in done.stdout.splitlines()]


@pytest.fixture(scope="module")
def replicated(tiny_base, tmp_path_factory):
    base, facts = tiny_base
    out = tmp_path_factory.mktemp("replicas") / "r.pcap"
    info = inputs.replicate(base, out, facts["packets"] * REPLICAS - 3)   # rounds up to whole replicas
    return base, facts, out, info


def test_replicate_writes_whole_replicas(replicated):
    _, facts, out, info = replicated
    assert info.replicas == REPLICAS
    assert info.packets == facts["packets"] * REPLICAS
    assert info.base_connections == facts["connections"]
    assert info.connections == facts["connections"] * REPLICAS
    assert sum(1 for _ in inputs.iter_pcap_records(out)) == info.packets


def test_timestamps_never_go_back_and_replicas_follow_each_other(replicated):
    _, facts, out, _ = replicated
    times = [r.ts_ns for r in inputs.iter_pcap_records(out)]
    assert times == sorted(times)
    n = facts["packets"]
    for k in range(1, REPLICAS):
        assert times[k * n] > times[k * n - 1]
        # inside a replica the gaps are the base's gaps, to the nanosecond
        assert [b - a for a, b in zip(times[k * n:(k + 1) * n], times[k * n + 1:(k + 1) * n])] == \
               [b - a for a, b in zip(times[:n], times[1:n])]


@needs_tshark
def test_tshark_reads_it_and_sees_base_connections_times_replicas(replicated):
    _, facts, out, info = replicated
    rows = _tshark(out, "frame.number", "tcp.stream", "ip.src", "tcp.srcport", "ip.dst", "tcp.dstport")
    assert len(rows) == info.packets
    streams = {int(r[1]) for r in rows if r[1]}
    assert len(streams) == facts["connections"] * REPLICAS
    # every stream has its own client endpoint, from the shifted range; the server's is unchanged
    clients = {}
    for _, stream, src, sport, dst, dport in (r for r in rows if r[1]):
        client = (src, int(sport)) if (dst, int(dport)) == SERVER else (dst, int(dport))
        assert SERVER in ((src, int(sport)), (dst, int(dport)))
        clients.setdefault(int(stream), set()).add(client)
    assert all(len(c) == 1 for c in clients.values())
    ports = [next(iter(c))[1] for c in clients.values()]
    assert len(set(ports)) == len(ports)
    assert all(p >= inputs.PORT_LOW for p in ports)


@needs_tshark
def test_checksums_are_valid_in_every_replica(replicated):
    _, _, out, info = replicated
    rows = _tshark(out, "ip.checksum.status", "tcp.checksum.status",
                   extra=("-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE"))
    tcp_rows = [r for r in rows if r[1]]
    assert tcp_rows and all(r == ["1", "1"] for r in tcp_rows)   # 1 = Good


@needs_tshark
def test_analysis_flags_are_the_base_flags_in_every_replica(replicated):
    base, facts, out, _ = replicated
    fields = ("tcp.analysis.flags", "tcp.analysis.retransmission", "tcp.analysis.reused_ports",
              "tcp.analysis.lost_segment", "tcp.analysis.out_of_order", "tcp.analysis.duplicate_ack")
    want = [tuple(bool(v) for v in r) for r in _tshark(base, *fields)]
    assert sum(1 for r in want if r[1]) == facts["retransmissions"]
    got = [tuple(bool(v) for v in r) for r in _tshark(out, *fields)]
    assert got == want * REPLICAS


def test_replica_endpoints_are_unique_across_address_blocks():
    ip = struct.unpack("!I", bytes([10, 0, 0, 3]))[0]
    seen = {inputs.replica_endpoint(ip, g) for g in range(inputs.PORT_SPAN - 2, inputs.PORT_SPAN + 2)}
    assert len(seen) == 4
    assert inputs.replica_endpoint(ip, inputs.PORT_SPAN) == (ip + 256, inputs.PORT_LOW)
    with pytest.raises(ValueError):
        inputs.replica_endpoint(ip, inputs.PORT_SPAN * 256)


def test_replica_ports_skip_the_server_ports_above_port_low():
    ip = struct.unpack("!I", bytes([127, 0, 0, 1]))[0]
    reserved = (inputs.PORT_LOW, 30000, 30001, 65535)
    span = inputs.PORT_SPAN - len(reserved)
    ports = [inputs.replica_endpoint(ip, g, reserved) for g in range(span)]
    assert sorted(port for _, port in ports) == [p for p in range(inputs.PORT_LOW, 65536) if p not in reserved]
    assert {address for address, _ in ports} == {ip}
    assert inputs.replica_endpoint(ip, span, reserved) == (ip + 256, inputs.PORT_LOW + 1)


def test_refuses_pcapng(tmp_path):
    ng = tmp_path / "x.pcapng"
    ng.write_bytes(b"\x0a\x0d\x0d\x0a" + b"\0" * 40)
    with pytest.raises(ValueError, match="classic pcap"):
        inputs.read_pcap(ng)


@needs_tshark
def test_a_base_with_a_high_server_port_replicates_without_meeting_it(tmp_path):
    # a loopback base: client and server on 127.0.0.1, the server on an ephemeral port
    from scapy.layers.inet import IP, TCP
    from scapy.layers.l2 import Ether
    from scapy.utils import wrpcap

    high = tmp_path / "high.pcap"
    lo = dict(src="127.0.0.1", dst="127.0.0.1")
    wrpcap(str(high), [Ether() / IP(**lo) / TCP(sport=40000, dport=30000, flags="S", seq=1),
                       Ether() / IP(**lo) / TCP(sport=30000, dport=40000, flags="SA", seq=9, ack=2),
                       Ether() / IP(**lo) / TCP(sport=40000, dport=30000, flags="A", seq=2, ack=10)])
    out = tmp_path / "out.pcap"
    info = inputs.replicate(high, out, 3 * 20_001)      # client ports wrap past 30000
    rows = _tshark(out, "tcp.srcport", "tcp.dstport", "tcp.stream")
    clients = {int(sport) if dport == "30000" else int(dport) for sport, dport, _ in rows}
    assert 30000 not in clients and len(clients) == info.replicas
    assert len({stream for _, _, stream in rows}) == info.replicas


def test_slice_is_the_head_of_the_file(replicated, tmp_path):
    _, _, out, _ = replicated
    sliced = tmp_path / "s.pcap"
    assert inputs.write_slice(out, sliced, 7) == 7
    assert list(inputs.iter_pcap_records(sliced)) == list(inputs.iter_pcap_records(out, 7))


@pytest.mark.skipif(shutil.which("editcap") is None, reason="editcap not installed")
def test_the_pcapng_copy_holds_the_same_frames(replicated, tmp_path):
    from analysis.read.reader import CaptureReader

    _, _, out, info = replicated
    ng = inputs.pcapng_copy(out, tmp_path / "r.pcapng")
    assert ng.read_bytes()[:4] == b"\x0a\x0d\x0d\x0a" and not list(tmp_path.glob("*.part"))

    def frames(path):
        return [(r.ts_ns, r.wirelen, r.linktype, bytes(r.data)) for r in CaptureReader(path).records()]
    assert len(frames(ng)) == info.packets
    assert frames(ng) == frames(out)


def test_the_pcap_record_count(replicated):
    _, _, out, info = replicated
    assert inputs.count_pcap_records(out) == info.packets
