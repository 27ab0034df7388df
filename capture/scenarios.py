"""The built-in scenarios, as data: who runs what, on which network, with which link conditions.

A scenario never talks to the network itself; `capture.runner` builds the topology, starts tcpdump,
the real lab server (``python -m lab.server``) and the scenario's client programs in their
namespaces. The client programs are the real lab client (``python -m lab.client``), except for
behaviours the lab client deliberately does not have (the course's original newline-less client,
an aborting client, a client that knocks on a closed port): those live in ``capture/peers/``.
"""
from __future__ import annotations

from dataclasses import dataclass

from capture.errors import UnknownScenarioError
from capture.loss import RandomLoss
from capture.text import N_
from capture.topology import SERVER_IP

PORT = 2222
CLOSED_PORT = 2222  # `refused` runs no server, so the lab's own port is the closed one
COURSE_MESSAGES = ("Hello Server", "Apa kabar?")
COURSE_VOTES = ("A", "B", "A")


@dataclass(frozen=True)
class ClientProgram:
    """One client process: the host it runs on and its argument list (after ``python -m``)."""

    host: str                  # topology host name: "client", "client2", ...
    module: str                # "lab.client" or "capture.peers.legacy_client", ...
    args: tuple[str, ...]


@dataclass(frozen=True)
class Scenario:
    name: str
    summary: str                               # one line for --help and README (English; N_ marks it)
    clients: tuple[ClientProgram, ...]
    run_server: bool = True
    server_args: tuple[str, ...] = ("--store", "memory")
    loss: RandomLoss | None = None             # random loss of what the first client receives
    require_retransmission: bool = False       # retry until the server retransmitted
    max_attempts: int = 1
    expected_totals: str | None = None         # e.g. "A=3 B=2 C=1": the final tally must be this
    expected_votes: int = 0

    @property
    def client_hosts(self) -> int:
        return len({c.host for c in self.clients})


def lab_client(host: str, *session: str, server_ip: str = SERVER_IP) -> ClientProgram:
    return ClientProgram(host, "lab.client", ("--host", server_ip, "--port", str(PORT), *session))


def _messages(*texts: str) -> tuple[str, ...]:
    return tuple(arg for text in texts for arg in ("-m", text))


def _votes(*options: str) -> tuple[str, ...]:
    return tuple(arg for option in options for arg in ("--vote", option))


_DEFAULT_SESSION = (*_messages(*COURSE_MESSAGES), *_votes(*COURSE_VOTES), *_messages("RESULTS", "bye"))
# multi: three clients vote at once; every VOTED reply carries the tally after that vote, so the
# tally of the 6th vote must read exactly A=3 B=2 C=1 if no vote was lost or counted twice.
_MULTI_VOTES = (("A", "B"), ("A", "C"), ("A", "B"))

SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("default", N_("the course's session: Hello Server, Apa kabar?, votes A B A, RESULTS, bye"),
                 (lab_client("client", *_DEFAULT_SESSION),)),
        Scenario("echo", N_("the echo half: Hello Server, Apa kabar?, bye"),
                 (lab_client("client", *_messages(*COURSE_MESSAGES, "bye")),)),
        Scenario("vote", N_("the vote half: votes A B A, RESULTS, bye"),
                 (lab_client("client", *_votes(*COURSE_VOTES), *_messages("RESULTS", "bye")),)),
        Scenario("multi", N_("three clients vote at once over separate connections; exact totals A=3 B=2 C=1"),
                 tuple(lab_client(host, *_votes(*votes), *_messages("RESULTS", "bye"))
                       for host, votes in zip(("client", "client2", "client3"), _MULTI_VOTES)),
                 expected_totals="A=3 B=2 C=1", expected_votes=6),
        Scenario("legacy", N_("the course's original client: messages without newline, waits for each reply"),
                 (ClientProgram("client", "capture.peers.legacy_client",
                                ("--host", SERVER_IP, "--port", str(PORT),
                                 *_messages(*COURSE_MESSAGES, "VOTE A", "RESULTS", "bye"))),)),
        Scenario("refused", N_("a client knocks on a port where nothing listens: SYN answered by RST"),
                 (ClientProgram("client", "capture.peers.refused_client",
                                ("--host", SERVER_IP, "--port", str(CLOSED_PORT))),),
                 run_server=False),
        Scenario("reset", N_("a client sends one request, then aborts with RST (SO_LINGER 0)"),
                 (ClientProgram("client", "capture.peers.reset_client",
                                ("--host", SERVER_IP, "--port", str(PORT), "-m", "Hello Server")),)),
        Scenario("lossy", N_("the default session while the client loses one packet in five it receives (20 %): "
                             "retransmissions"),
                 (lab_client("client", *_DEFAULT_SESSION),),
                 loss=RandomLoss(one_in=5),
                 require_retransmission=True, max_attempts=6),
    )
}


def get_scenario(name: str) -> Scenario:
    try:
        return SCENARIOS[name]
    except KeyError:
        raise UnknownScenarioError(name, tuple(SCENARIOS)) from None
