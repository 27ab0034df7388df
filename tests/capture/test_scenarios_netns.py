"""Each scenario on real network namespaces, its pcap checked with tshark (not with our analyzer).

Root only: they build lab- namespaces, veths and a bridge, and remove them again.
"""
from __future__ import annotations

import pytest

import capture
from capture.result import CaptureResult
from tests.capture.support.netns import assert_no_leftovers, needs_root, needs_tshark
from tests.capture.support.tshark_fields import Frame, frames, payloads

pytestmark = [needs_root, needs_tshark, pytest.mark.root]

SERVER, CLIENT = "172.28.0.2", "172.28.0.3"
SERVER_MAC = "02:42:ac:1c:00:02"


@pytest.fixture(scope="module")
def run(tmp_path_factory):  # type: ignore[no-untyped-def]
    """run(name) -> (CaptureResult, frames); each scenario runs once per module."""
    cache: dict[str, tuple[CaptureResult, list[Frame]]] = {}
    folder = tmp_path_factory.mktemp("pcaps")

    def get(name: str) -> tuple[CaptureResult, list[Frame]]:
        if name not in cache:
            result = capture.run_scenario(name, folder / f"{name}.pcap")
            assert_no_leftovers()
            rows = frames(result.pcap)
            _common(result, rows)
            cache[name] = (result, rows)
        return cache[name]

    return get


def _common(result: CaptureResult, rows: list[Frame]) -> None:
    """What every capture must be: complete, nothing dropped, only the lab's ARP and TCP."""
    assert result.dropped == 0
    assert result.packets == len(rows) > 0  # tcpdump's count is what the file holds
    # Only the link, network and transport layers matter: above TCP, tshark guesses the payload's
    # protocol from the port numbers (an ephemeral port 34980 reads as EtherCAT, "ecatf").
    odd = [f["frame.protocols"] for f in rows
           if f["frame.protocols"] != "eth:ethertype:arp"
           and f["frame.protocols"].split(":")[:4] != ["eth", "ethertype", "ip", "tcp"]]
    assert not odd, f"frames other than the lab's ARP and TCP: {odd}"
    assert all(f["tcp.checksum.status"] == "1" for f in rows if f["ip.src"]), "bad or unverified checksums"
    assert all(int(f["frame.len"]) <= 1514 for f in rows), "super-segments: offloads are on"
    assert all(f["ip.src"].startswith("172.28.0.") for f in rows if f["ip.src"])
    assert rows[0]["arp.opcode"] == "1", "the capture starts with an ARP request (tcpdump listened first)"


def _syns(rows: list[Frame]) -> list[Frame]:
    return [f for f in rows if f.syn and not f.ack]


def _arp_exchange(rows: list[Frame], asker: str = CLIENT) -> None:
    assert any(f["arp.opcode"] == "1" and f["arp.src.proto_ipv4"] == asker and f["arp.dst.proto_ipv4"] == SERVER
               for f in rows)
    assert any(f["arp.opcode"] == "2" and f["arp.src.proto_ipv4"] == SERVER and f["arp.src.hw_mac"] == SERVER_MAC
               for f in rows)


def _handshake(rows: list[Frame], client: str = CLIENT) -> None:
    assert any(f["ip.src"] == client for f in _syns(rows))
    assert any(f.syn and f.ack and f["ip.src"] == SERVER and f["ip.dst"] == client for f in rows)
    assert any(f.flags() == 0x010 and f["ip.src"] == client and (f["tcp.seq"], f["tcp.ack"]) == ("1", "1")
               for f in rows), "no third ACK of the handshake"


def _fins(rows: list[Frame], client: str = CLIENT) -> None:
    senders = [f["ip.src"] for f in rows if f.fin and client in (f["ip.src"], f["ip.dst"])]
    assert client in senders and SERVER in senders
    assert senders[0] == client, "the client closes first (sends the first FIN)"


def test_default_has_arp_handshake_data_both_ways_and_fin_from_both(run) -> None:  # type: ignore[no-untyped-def]
    result, rows = run("default")
    _arp_exchange(rows)
    _handshake(rows)
    sent, replies = "".join(payloads(rows, CLIENT)), "".join(payloads(rows, SERVER))
    assert sent.startswith("Hello Server\nApa kabar?\nVOTE A id=") and sent.endswith("RESULTS\nbye\n")
    assert replies.startswith("Echo: Hello Server\nEcho: Apa kabar?\nVOTED A A=1 B=0 C=0\n")
    assert "RESULTS A=2 B=1 C=0\n" in replies
    assert sum(f.psh for f in rows if f["ip.src"] == CLIENT) >= 7
    assert sum(f.psh for f in rows if f["ip.src"] == SERVER) >= 7
    _fins(rows)
    assert not any(f.rst for f in rows)
    assert "Server listening on 0.0.0.0:2222" in result.lines("server")
    assert "Received from server: RESULTS A=2 B=1 C=0" in result.lines("client")


def test_echo_and_vote_are_the_two_halves(run) -> None:  # type: ignore[no-untyped-def]
    _, echo = run("echo")
    assert "".join(payloads(echo, CLIENT)) == "Hello Server\nApa kabar?\nbye\n"
    _fins(echo)
    _, vote = run("vote")
    sent = "".join(payloads(vote, CLIENT))
    assert sent.startswith("VOTE A id=") and "Hello" not in sent
    assert "".join(payloads(vote, SERVER)).endswith("RESULTS A=2 B=1 C=0\nEcho: bye\n")
    _fins(vote)


def test_multi_has_three_connections_and_exact_totals(run) -> None:  # type: ignore[no-untyped-def]
    result, rows = run("multi")
    clients = ["172.28.0.3", "172.28.0.4", "172.28.0.5"]
    assert sorted(f["ip.src"] for f in _syns(rows)) == clients
    assert len({f["tcp.stream"] for f in rows if f["tcp.stream"]}) == 3
    for client in clients:
        _arp_exchange(rows, client)
        _handshake(rows, client)
        _fins(rows, client)
    voted = [line for line in "".join(payloads(rows, SERVER)).splitlines() if line.startswith("VOTED")]
    counts = sorted(sum(int(part.split("=")[1]) for part in line.split()[2:]) for line in voted)
    assert counts == [1, 2, 3, 4, 5, 6], "each vote counted exactly once"
    last = next(line for line in voted if sum(int(p.split("=")[1]) for p in line.split()[2:]) == 6)
    assert last.endswith("A=3 B=2 C=1")
    assert result.totals == "A=3 B=2 C=1"


def test_legacy_sends_messages_without_newlines(run) -> None:  # type: ignore[no-untyped-def]
    _, rows = run("legacy")
    assert payloads(rows, CLIENT) == ["Hello Server", "Apa kabar?", "VOTE A", "RESULTS", "bye"]
    assert all(reply.endswith("\n") for reply in payloads(rows, SERVER))
    _handshake(rows)
    _fins(rows)


def test_refused_is_a_syn_answered_by_rst(run) -> None:  # type: ignore[no-untyped-def]
    result, rows = run("refused")
    _arp_exchange(rows)
    assert [f["ip.src"] for f in _syns(rows)] == [CLIENT]
    assert [f["ip.src"] for f in rows if f.rst] == [SERVER]
    assert not any(f.syn and f.ack for f in rows)
    assert any("Connection refused" in line for line in result.lines("client"))


def test_reset_client_aborts_with_rst(run) -> None:  # type: ignore[no-untyped-def]
    _, rows = run("reset")
    _handshake(rows)
    assert payloads(rows, CLIENT) == ["Hello Server\n"]
    assert payloads(rows, SERVER) == ["Echo: Hello Server\n"]
    assert [f["ip.src"] for f in rows if f.rst] == [CLIENT]
    assert not any(f.fin for f in rows if f["ip.src"] == CLIENT)


def test_lossy_holds_retransmissions_and_still_completes(run) -> None:  # type: ignore[no-untyped-def]
    result, rows = run("lossy")
    assert any(f["tcp.analysis.retransmission"] for f in rows), "no tcp.analysis.retransmission"
    assert (result.retransmissions or 0) >= 1
    assert "RESULTS A=2 B=1 C=0\n" in "".join(payloads(rows, SERVER))
    assert any(f.fin for f in rows if f["ip.src"] == CLIENT)
    assert any(f.fin for f in rows if f["ip.src"] == SERVER)
