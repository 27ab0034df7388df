"""One set of label rules (analysis/session/label_rules.py) for every labeller: the per-frame
reference, the numba kernel, the benchmark's tshark check and the pyshark cross-check."""
from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import ARP, Ether
from scapy.utils import wrpcap

from analysis import analyze
from analysis.columnar.engine import Scan
from analysis.columnar.frames_view import rows
from analysis.session import label_rules as rules
from analysis.vocabulary import LABEL_PHASE, LABELS
from bench.analyzer.agreement import TsharkLabeler

ROOT = Path(__file__).resolve().parents[2]
LABELLERS = ("analysis/session/labels.py", "analysis/columnar/session/labels.py", "bench/analyzer/agreement.py")
needs_tshark = pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed")


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


@pytest.mark.parametrize("path", LABELLERS)
def test_every_labeller_applies_the_shared_rules(path: str) -> None:
    assert "analysis.session.label_rules" in _imports(ROOT / path)


def test_the_pyshark_check_labels_through_the_shared_rules() -> None:
    assert "bench.analyzer.agreement.TsharkLabeler" in _imports(ROOT / "tests/analysis/support/pyshark_engine.py")


def test_the_rules_speak_the_vocabulary() -> None:
    assert rules.RULE_LABELS == tuple(LABELS)
    assert all(LABEL_PHASE[name] == phase for name, phase in zip(rules.RULE_LABELS, rules.RULE_PHASES))
    assert set(rules.OTHER_LABELS.values()) <= set(LABELS)


@pytest.mark.parametrize("spa,tpa,op,label", [
    ("0.0.0.0", "10.0.0.5", 1, "arp-announcement"),      # an RFC 5227 probe
    ("10.0.0.5", "10.0.0.5", 1, "arp-announcement"),     # gratuitous
    ("10.0.0.5", "10.0.0.5", 2, "arp-announcement"),
    ("10.0.0.3", "10.0.0.2", 1, "arp-request"),
    ("10.0.0.2", "10.0.0.3", 2, "arp-reply"),
    ("10.0.0.2", "10.0.0.3", 3, "rarp"),
    ("", "", 1, "arp-request"),                          # not IPv4: never an announcement
])
def test_arp_rules(spa, tpa, op, label) -> None:
    assert TsharkLabeler.arp(op, spa, tpa) == label


def _arp_and_tcp(path: Path) -> Path:
    """ARP: a probe from 0.0.0.0, an announcement, a request and its reply; then one short TCP
    connection."""
    mac_a, mac_b = "02:00:00:00:00:05", "02:00:00:00:00:02"
    c, s = ("10.0.0.5", 40000), ("10.0.0.2", 2222)
    packets = [
        Ether(src=mac_a, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=mac_a, psrc="0.0.0.0", pdst="10.0.0.5"),
        Ether(src=mac_a, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=mac_a, psrc="10.0.0.5", pdst="10.0.0.5"),
        Ether(src=mac_a, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=mac_a, psrc="10.0.0.5", pdst="10.0.0.2"),
        Ether(src=mac_b, dst=mac_a) / ARP(op=2, hwsrc=mac_b, psrc="10.0.0.2", hwdst=mac_a, pdst="10.0.0.5"),
    ]

    def seg(from_client, flags, seq, ack, data=b""):
        (src, sport), (dst, dport) = (c, s) if from_client else (s, c)
        pkt = Ether(src=mac_a if from_client else mac_b, dst=mac_b if from_client else mac_a) / IP(
            src=src, dst=dst) / TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack)
        return pkt / data if data else pkt

    packets += [seg(True, "S", 100, 0), seg(False, "SA", 500, 101), seg(True, "A", 101, 501),
                seg(True, "PA", 101, 501, b"Hello\n"), seg(False, "PA", 501, 107, b"Echo: Hello\n"),
                seg(True, "FA", 107, 513), seg(False, "FA", 513, 108), seg(True, "A", 108, 514)]
    for i, pkt in enumerate(packets):
        pkt.time = 1_700_000_000 + i * 0.001
    wrpcap(str(path), packets)
    return path


WANT = ["arp-announcement", "arp-announcement", "arp-request", "arp-reply", "syn", "syn-ack",
        "handshake-ack", "data", "data", "fin", "fin", "teardown-ack"]


def test_both_engines_label_the_probe_an_announcement(tmp_path) -> None:
    pcap = _arp_and_tcp(tmp_path / "arp.pcap")
    assert [f.label for f in analyze(pcap).frames] == WANT
    fast = [r.label for batch in Scan(pcap).batches() for r in rows(batch.frames, batch.tcp, batch.labels, 0)]
    assert fast == WANT


@needs_tshark
def test_the_pyshark_engine_agrees_on_the_probe(tmp_path) -> None:
    """The pyshark copy of the rules used to miss the 0.0.0.0 probe (it said arp-request)."""
    from tests.analysis.support.pyshark_engine import disagreements, label_with_tshark

    pcap = _arp_and_tcp(tmp_path / "arp.pcap")
    theirs = label_with_tshark(pcap)
    assert [f.label for f in theirs] == WANT
    assert disagreements(analyze(pcap).frames, theirs) == []


def test_the_rules_stay_in_the_subset_the_kernel_compiles() -> None:
    """No rule calls another function (the kernel compiles each rule alone: a call to a plain
    Python function fails in numba) and the module reads only integer constants and tables."""
    tree = ast.parse((ROOT / "analysis/session/label_rules.py").read_text())
    for func in (n for n in tree.body if isinstance(n, ast.FunctionDef)):
        calls = [ast.unparse(c.func) for c in ast.walk(func) if isinstance(c, ast.Call)]
        assert not calls, f"{func.name} calls {calls}"
