"""Every scenario on the compose backend, on a live Docker engine; and the same story as netns.

Root and a Docker engine (.ci/run starts one). The image is built once per session.
"""
from __future__ import annotations

import pytest

import capture
from capture.result import CaptureResult
from tests.capture.support.compose import (assert_no_compose_leftovers, compose_image, needs_compose, phases,
                                           sequences)
from tests.capture.support.netns import needs_root, needs_tshark
from tests.capture.support.tshark_fields import Frame, frames, payloads

pytestmark = [needs_compose, needs_root, needs_tshark, pytest.mark.root, pytest.mark.slow]
__all__ = ["compose_image"]  # the session fixture, imported for pytest

SCENARIOS = ("default", "echo", "vote", "multi", "legacy", "refused", "reset", "lossy")
SERVER, CLIENT = "172.28.0.2", "172.28.0.3"


@pytest.fixture(scope="module")
def run(compose_image, tmp_path_factory):  # type: ignore[no-untyped-def]
    """run(name, backend) -> (CaptureResult, frames); each runs once per module."""
    cache: dict[tuple[str, str], tuple[CaptureResult, list[Frame]]] = {}
    folder = tmp_path_factory.mktemp("pcaps")

    def get(name: str, backend: str = "compose") -> tuple[CaptureResult, list[Frame]]:
        if (name, backend) not in cache:
            result = capture.run_scenario(name, folder / f"{name}-{backend}.pcap", backend=backend)
            assert_no_compose_leftovers()  # (lab- names of netns runs are machine-wide: their tests check them)
            assert not list(folder.glob(".*partial")), "the temporary capture was not renamed"
            cache[name, backend] = (result, frames(result.pcap))
        return cache[name, backend]

    return get


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario_on_compose_holds_only_the_lab(run, name: str) -> None:  # type: ignore[no-untyped-def]
    result, rows = run(name)
    assert result.backend == "compose" and result.dropped == 0
    assert result.packets == len(rows) > 0
    odd = [f["frame.protocols"] for f in rows if f["frame.protocols"] != "eth:ethertype:arp"
           and f["frame.protocols"].split(":")[:4] != ["eth", "ethertype", "ip", "tcp"]]
    assert not odd, f"frames other than the lab's ARP and TCP (IPv6, IGMP from the bridge?): {odd}"
    assert all(f["tcp.checksum.status"] == "1" for f in rows if f["ip.src"]), "bad checksums: offloads are on"
    assert all(f["ip.src"].startswith("172.28.0.") and f["ip.src"] != "172.28.0.1" for f in rows if f["ip.src"])
    assert rows[0]["arp.opcode"] == "1", "the capture starts with an ARP request (tcpdump listened first)"


def test_default_on_compose_is_the_course_session(run) -> None:  # type: ignore[no-untyped-def]
    result, rows = run("default")
    sent, replies = "".join(payloads(rows, CLIENT)), "".join(payloads(rows, SERVER))
    assert sent.startswith("Hello Server\nApa kabar?\nVOTE A id=") and sent.endswith("RESULTS\nbye\n")
    assert "RESULTS A=2 B=1 C=0\n" in replies
    assert [f["ip.src"] for f in rows if f.fin][0] == CLIENT
    assert "Server listening on 0.0.0.0:2222" in result.lines("server")
    assert result.lines("server")[1].startswith("Connection from: ('172.28.0.3', ")
    assert "Received from server: RESULTS A=2 B=1 C=0" in result.lines("client")


def test_multi_on_compose_has_three_client_containers_and_exact_totals(run) -> None:  # type: ignore[no-untyped-def]
    result, rows = run("multi")
    assert sorted(f["ip.src"] for f in rows if f.syn and not f.ack) == ["172.28.0.3", "172.28.0.4", "172.28.0.5"]
    assert result.totals == "A=3 B=2 C=1"
    assert {"client", "client2", "client3"} <= set(result.roles)


def test_lossy_on_compose_loses_in_the_client_container(run) -> None:  # type: ignore[no-untyped-def]
    result, rows = run("lossy")
    assert any(f["tcp.analysis.retransmission"] for f in rows)
    assert (result.retransmissions or 0) >= 1


def test_refused_and_reset_on_compose(run) -> None:  # type: ignore[no-untyped-def]
    _, refused = run("refused")
    assert [f["ip.src"] for f in refused if f.rst] == [SERVER]
    _, reset = run("reset")
    assert [f["ip.src"] for f in reset if f.rst] == [CLIENT]


@pytest.mark.parametrize("name", SCENARIOS)
def test_netns_and_compose_tell_the_same_story(run, name: str) -> None:  # type: ignore[no-untyped-def]
    """Our analyzer gives both captures the same phases and labels, frame by frame, per client.

    Pure ACKs depend on timing (delayed ACK), so they are left out of the comparison.
    `lossy` drops at random, so which frames are retransmitted differs from run to run: there the
    phases (in order) and the kinds of frame must agree, and both must show retransmissions.
    """
    netns, _ = run(name, "netns")
    compose, _ = run(name, "compose")
    a, b = sequences(netns.pcap), sequences(compose.pcap)
    assert set(a) == set(b), f"different client hosts: {sorted(a)} vs {sorted(b)}"
    if name != "lossy":
        # Whether a reply gets a pure ACK of its own before the next request (delayed ACK) depends
        # on timing, in every scenario. Every other frame must agree, in order.
        for client in a:
            mine, theirs = ([x for x in seq[client] if x != ("data", "ack")] for seq in (a, b))
            assert mine == theirs, f"{client}: netns {a[client]} != compose {b[client]}"
            assert phases(a[client]) == phases(b[client])
        return
    for client in a:
        assert phases(a[client]) == phases(b[client]) == ["arp", "handshake", "data", "teardown"]
        assert set(a[client]) == set(b[client])
