"""The Wireshark display filters we print are real: tshark accepts them and they select what we say."""
from __future__ import annotations

import shutil
import subprocess

import pytest

from analysis import analyze, vocabulary

pytestmark = pytest.mark.skipif(not shutil.which("tshark"), reason="tshark not installed")


def tshark_frames(pcap, display_filter: str) -> list[int]:
    done = subprocess.run(["tshark", "-n", "-r", str(pcap), "-Y", display_filter, "-T", "fields",
                           "-e", "frame.number"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"tshark rejected {display_filter!r}: {done.stderr}"
    return [int(line) for line in done.stdout.split()]


def test_frame_filter_compresses_ranges():
    assert vocabulary.frame_filter([5, 3, 4, 1, 9]) == "frame.number in {1,3..5,9}"
    assert vocabulary.frame_filter([7]) == "frame.number in {7}"


@pytest.mark.parametrize("name", ["zeek_http_get.pcap", "tcpdump_mptcp_fclose_arp.pcap",
                                  "zeek_linux_sll2_arp_icmp.pcap", "zeek_ftp_ipv4.pcap"])
def test_each_phase_filter_compiles_and_the_exact_filter_selects_the_phase(conformance_dir, name):
    pcap = conformance_dir / "pcaps" / name
    result = analyze(pcap)
    for phase, general in vocabulary.PHASE_FILTERS.items():
        selected = set(tshark_frames(pcap, general))
        members = [f.number for f in result.frames if f.phase == phase]
        if not members:
            continue
        assert tshark_frames(pcap, vocabulary.frame_filter(members)) == members
        # the general filter finds the phase's defining frames (SYNs, FINs, RSTs, ARP, payload)
        defining = {f.number for f in result.frames if f.phase == phase
                    and f.label in ("arp-request", "arp-reply", "syn", "syn-ack", "data", "fin", "rst")}
        assert defining <= selected, f"{name} {phase}: {sorted(defining - selected)} not selected"


def test_field_types_are_in_one_order_in_every_process():
    """report.html embeds FIELD_TYPES: made from sets, its order would change with the hash seed."""
    import subprocess
    import sys

    code = "from analysis.filter.fields import FIELD_TYPES; print(list(FIELD_TYPES))"
    orders = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                             env={**__import__("os").environ, "PYTHONHASHSEED": str(seed)}).stdout
              for seed in (1, 2, 3)}
    assert len(orders) == 1
