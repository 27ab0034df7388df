"""Units: tcpdump's command and statistics, the tally reader, the scenario table, the loss rule."""
from __future__ import annotations

from pathlib import Path

import pytest

from capture.errors import CaptureFailedError, InvalidNameError, UnknownScenarioError
from capture.loss import RandomLoss, _drop_rule
from capture.processes import OutputLine
from capture.result import CaptureResult, final_tally
from capture.scenarios import SCENARIOS, get_scenario
from capture.tcpdump import parse_stats, tcpdump_argv

TCPDUMP_TAIL = """tcpdump: listening on lab-br0, link-type EN10MB (Ethernet), snapshot length 262144 bytes
24 packets captured
25 packets received by filter
0 packets dropped by kernel
"""


def test_tcpdump_statistics_are_read() -> None:
    stats = parse_stats(TCPDUMP_TAIL)
    assert (stats.captured, stats.received, stats.dropped) == (24, 25, 0)
    assert parse_stats("1 packet captured\n1 packet received by filter\n3 packets dropped by kernel").dropped == 3


def test_missing_statistics_is_an_error_naming_interface_and_file() -> None:
    with pytest.raises(CaptureFailedError, match="lab-br0 into x.pcap"):
        parse_stats("tcpdump: listening on lab-br0\n", "lab-br0", "x.pcap")


def test_tcpdump_command_is_an_argument_list_with_full_snaplen_and_packet_buffering() -> None:
    argv = tcpdump_argv("lab-br0", Path("/tmp/a b.pcap"))
    assert argv[argv.index("-i") + 1] == "lab-br0"
    assert argv[argv.index("-s") + 1] == "0"
    assert "-U" in argv and "--immediate-mode" in argv
    assert argv[argv.index("-w") + 1] == "/tmp/a b.pcap"  # one argument, spaces and all
    with pytest.raises(InvalidNameError):
        tcpdump_argv("eth0", Path("x.pcap"))  # never capture outside the lab


def _line(text: str, role: str = "client") -> OutputLine:
    return OutputLine(0.0, role, text)


def test_final_tally_is_the_reply_with_most_votes() -> None:
    lines = [_line("Received from server: VOTED A A=1 B=0 C=0"),
             _line("Received from server: VOTED B A=2 B=1 C=0", "client2"),
             _line("Received from server: VOTED A A=2 B=0 C=0", "client3"),
             _line("Received from server: RESULTS A=9 B=9 C=9")]
    assert final_tally(lines) == (3, "A=2 B=1 C=0")
    assert final_tally([_line("Received from server: Echo: hi")]) is None


def test_result_lines_and_summary() -> None:
    result = CaptureResult("default", "netns", Path("/x/reqresp.pcap"), 24, 0, 0.5,
                           (_line("Server listening on 0.0.0.0:2222", "server"), _line("Received from server: Echo: hi")))
    assert result.lines("server") == ("Server listening on 0.0.0.0:2222",)
    assert result.roles == ("server", "client")
    assert result.summary().startswith("wrote /x/reqresp.pcap: 24 packets captured, 0 dropped by kernel, 0.50 s")


def test_scenarios_are_the_ones_the_issue_names() -> None:
    assert tuple(SCENARIOS) == ("default", "echo", "vote", "multi", "legacy", "refused", "reset", "lossy")
    assert get_scenario("multi").client_hosts == 3
    assert not get_scenario("refused").run_server
    assert get_scenario("lossy").loss == RandomLoss(5)
    default = get_scenario("default").clients[0]
    assert default.module == "lab.client"
    assert default.args[default.args.index("--host") + 1] == "172.28.0.2"
    with pytest.raises(UnknownScenarioError, match="choose one of default, echo"):
        get_scenario("nope")


def test_every_scenario_client_only_targets_the_lab_server() -> None:
    for scenario in SCENARIOS.values():
        for program in scenario.clients:
            assert program.args[program.args.index("--host") + 1] == "172.28.0.2", scenario.name


def test_loss_rule_is_numgen_cmp_drop() -> None:
    assert RandomLoss(5).percent == 20.0
    names = [expr["attrs"][0][1] for expr in _drop_rule(RandomLoss(5))]
    assert names == ["numgen", "cmp", "immediate"]
    with pytest.raises(ValueError):
        RandomLoss(1)


def test_a_stop_requested_during_cleanup_waits_for_its_end() -> None:
    from capture.errors import Interrupted
    from capture.interrupts import request_stop, shielded

    done = []
    with pytest.raises(Interrupted, match="SIGTERM"):
        with shielded():
            request_stop("SIGTERM")  # noted, not raised: the cleanup goes on
            done.append("cleaned")
    assert done == ["cleaned"]
    with pytest.raises(Interrupted, match="SIGINT"):
        request_stop("SIGINT")  # outside a cleanup: at once


def test_a_real_signal_inside_a_shielded_block_waits_for_its_end() -> None:
    """Python's own SIGINT (KeyboardInterrupt, as in a notebook) is held too, then delivered."""
    import os
    import signal

    from capture.interrupts import shielded

    done = []
    with pytest.raises(KeyboardInterrupt):
        with shielded():
            os.kill(os.getpid(), signal.SIGINT)
            with shielded():  # nested: still held until the outermost block ends
                done.append("forked")
            done.append("recorded")
    assert done == ["forked", "recorded"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back


def test_a_namespace_is_named_by_lab_name_pid_or_path() -> None:
    from capture.errors import NetworkSetupError
    from capture.nsutil import netns_file

    assert str(netns_file("lab-client")) == "/run/netns/lab-client"
    assert str(netns_file(1234)) == "/proc/1234/ns/net"
    assert str(netns_file(Path("/proc/77/ns/net"))) == "/proc/77/ns/net"
    with pytest.raises(InvalidNameError):
        netns_file("client")  # a bare name must follow the lab- contract
    with pytest.raises(NetworkSetupError):
        netns_file(0)
