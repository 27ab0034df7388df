"""PPPoE, MPLS, GRE and VXLAN are decoded as tshark decodes them, by both engines; layers we do not
decode are counted and reported, one warning line each, by both engines and the CLI."""
from __future__ import annotations

import pytest

from analysis import analyze
from analysis.columnar.columns import PROTOS
from analysis.columnar.conn.kernel import connections_from_table
from analysis.columnar.engine import Scan
from analysis.columnar.frames_view import collect, row_of
from analysis.decode.frame import iter_frames
from analysis.read.reader import CaptureReader
from analysis.vocabulary import ENCAPSULATIONS as ENCAPSULATION_NAMES
from tests.analysis.support.encap_captures import (ENCAPSULATIONS, UNDECODED, encap_pcap, turns_pcap,
                                           undecoded_pcap)
from tests.analysis.support.tshark_oracle import run_tshark, tshark_available

needs_tshark = pytest.mark.skipif(not tshark_available(), reason="tshark is not installed")

FIELDS = ("frame.number", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "tcp.srcport",
          "tcp.dstport", "tcp.flags", "tcp.stream", "tcp.len", "arp.src.proto_ipv4", "eth.src",
          "vlan.id", "_ws.malformed")
# what the decoder says it passed through, per capture kind
LAYERS = {"pppoe": ("pppoe",), "mpls": ("mpls",), "gre": ("gre",), "gre-teb": ("gre",),
          "gre6": ("gre",), "vxlan": ("vxlan",), "vlan-vxlan-vlan": ("vxlan",)}


def _last(text: str) -> str:
    # tshark joins the occurrences of a field of every layer: the innermost is the last
    return text.rsplit(";", 1)[-1]


def assert_engines_agree(path) -> None:
    ref = analyze(path)
    scan = Scan(path, chunk_frames=5)
    rows = list(collect(scan).rows())
    summary = scan.summary()
    assert len(rows) == len(ref.frames)
    for mine, theirs in zip(rows, ref.frames):
        assert mine == row_of(theirs), theirs.number
    assert connections_from_table(summary.connections) == [c._replace(frames=())
                                                           for c in ref.connections]
    assert summary.exchanges() == ref.exchanges
    assert summary.warnings == ref.warnings


@needs_tshark
@pytest.mark.parametrize("kind", ENCAPSULATIONS)
def test_inner_packets_are_decoded_as_tshark_decodes_them(tmp_path, kind):
    path = encap_pcap(tmp_path / f"{kind}.pcap", kind)
    frames = list(iter_frames(CaptureReader(path)))
    labeled = analyze(path).frames
    theirs = run_tshark(path, FIELDS)
    assert len(theirs) == len(frames) == len(labeled)
    tcp_frames = 0
    for frame, row, mine in zip(frames, theirs, labeled):
        where = f"{kind} frame {frame.number}"
        assert not row["_ws.malformed"], where
        assert frame.encap == LAYERS[kind] and frame.undecoded is None, where
        assert set(frame.encap) <= set(ENCAPSULATION_NAMES), where
        if frame.proto == "arp":
            assert frame.src == _last(row["arp.src.proto_ipv4"]), where
            assert frame.eth_src == _last(row["eth.src"]), where
            continue
        v6 = frame.net == "ipv6"
        assert frame.src == _last(row["ipv6.src" if v6 else "ip.src"]), where
        assert frame.dst == _last(row["ipv6.dst" if v6 else "ip.dst"]), where
        assert (frame.sport, frame.dport) == (int(row["tcp.srcport"]), int(row["tcp.dstport"])), where
        assert frame.tcp.flags == int(row["tcp.flags"], 16), where
        assert frame.payload_len == int(row["tcp.len"]), where
        assert frame.checksum_ok is True, where
        assert mine.conn == int(row["tcp.stream"]), where
        if kind == "vlan-vxlan-vlan":
            assert frame.vlan_ids == tuple(int(v) for v in row["vlan.id"].split(";")) == (10, 20)
        tcp_frames += 1
    assert tcp_frames == 28
    assert_engines_agree(path)


@pytest.mark.parametrize("kind", ENCAPSULATIONS)
def test_tunnelled_sessions_read_as_plain_ones(tmp_path, kind):
    result = analyze(encap_pcap(tmp_path / f"{kind}.pcap", kind))
    assert [(c.conn_state, c.history, c.resp_port) for c in result.connections] == [
        ("SF", "ShADadFf", 2222), ("SF", "ShADadFf", 80)]
    assert [(e.kind, e.request, e.response) for e in result.exchanges] == [
        ("echo", "Hello Server", "Echo: Hello Server"),
        ("other", "GET / HTTP/1.1\r\nHost: lab\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
        ("echo", "bye", "Echo: bye")]
    assert result.warnings == []


def test_layers_we_do_not_decode_are_counted_in_one_warning_line_each(tmp_path, capsys):
    from analysis.cli import main

    path = undecoded_pcap(tmp_path / "undecoded.pcap")
    result = analyze(path)
    lines = [w.message for w in result.warnings]
    assert [w.code for w in result.warnings] == ["not-decoded"] * len(UNDECODED)
    for layer, count in UNDECODED.items():
        noun = "frame" if count == 1 else "frames"
        (line,) = [m for m in lines if f" behind {layer} not decoded" in m]
        assert line.startswith(f"{path}: {count} {noun} behind {layer} not decoded")
    gre = [f for f in result.frames if f.proto == "ipv4"]
    assert len(gre) == 2 and all(f.src == "198.51.100.1" for f in gre)   # the outer packet stays
    assert [c.conn_state for c in result.connections] == ["SF"]
    assert_engines_agree(path)
    assert main([str(path)]) == 0
    err = capsys.readouterr().err.splitlines()
    assert [line for line in err if "not decoded" in line] == [f"warning: {m}" for m in lines]
    assert main([str(path), "--summary"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert [line for line in err if "not decoded" in line] == [f"warning: {m}" for m in lines]


def test_turns_capture_agrees_between_engines(tmp_path):
    assert_engines_agree(turns_pcap(tmp_path / "turns.pcap"))


def test_the_kernels_use_the_same_constants():
    from analysis.decode import link as D
    from analysis.columnar.decode import frames as K
    from analysis.columnar.decode import link as L

    assert (K.ETH_TEB, K.VXLAN_PORT, K.VXLAN_HEADER, K.MAX_TUNNELS) == (
        D.ETH_TEB, D.VXLAN_PORT, D.VXLAN_HEADER, D.MAX_TUNNELS)
    assert (L.ETH_PPPOE_SESSION, L.ETH_MPLS, L.ETH_MPLS_MULTICAST, L.PPP_IPV4, L.PPP_IPV6) == (
        D.ETH_PPPOE_SESSION, D.ETH_MPLS, D.ETH_MPLS_MULTICAST, D.PPP_IPV4, D.PPP_IPV6)
    assert (L.UNDECODED_PPP, L.UNDECODED_MPLS) == (D.UNDECODED_PPP << 16, D.UNDECODED_MPLS << 16)
    assert K.P_GRE >= len(PROTOS)          # a row value only, never a column code
