"""The contract between the lab server and the analyzer: the reply prefixes the analyzer reads a
capture by (analysis/session/exchanges.py) are the ones the server writes (lab/protocol.py).

analysis/ never imports lab/ (tests/test_architecture.py): this test is where the two meet."""
from __future__ import annotations

import pytest

from analysis.session.exchanges import LAB_REPLY_PREFIXES, exchange_kind
from lab import protocol
from tests.lab.support.server import ServerStarter, ask

# one message of every kind, the kind the analyzer must give its exchange, and the prefix of the reply
MESSAGES = [(b"Hello Server\n", "echo", protocol.ECHO_PREFIX),
            (b"VOTE A\n", "vote", protocol.VOTED_PREFIX),
            (b"vote b id=contract-1\n", "vote", protocol.VOTED_PREFIX),
            (b"RESULTS\n", "results", protocol.RESULTS_PREFIX),
            (b"VOTE Z\n", "error", protocol.ERROR_PREFIX),
            (b"\xff\xfe\n", "error", protocol.ERROR_PREFIX)]


def test_the_analyzer_reads_the_prefixes_the_protocol_writes() -> None:
    assert LAB_REPLY_PREFIXES == tuple(p.encode() for p in protocol.REPLY_PREFIXES)


def test_every_reply_builder_starts_with_its_prefix_and_reads_as_its_kind() -> None:
    built = [("Hello", protocol.echo_reply("Hello"), "echo"),
             ("VOTE A", protocol.voted_reply("A", "A=1 B=0 C=0"), "vote"),
             ("RESULTS", protocol.results_reply("A=1 B=0 C=0"), "results"),
             ("VOTE", protocol.error_reply("usage"), "error")]
    for request, reply, kind in built:
        assert reply.encode().startswith(LAB_REPLY_PREFIXES), reply
        assert exchange_kind(request, reply) == kind, reply
    assert protocol.echo_line(b"Apa kabar?") == protocol.line(protocol.echo_reply("Apa kabar?"))
    for constant in (protocol.BUSY, protocol.INVALID_UTF8, protocol.LINE_TOO_LONG):
        assert constant.startswith(protocol.ERROR_PREFIX.encode()) and constant.endswith(b"\n")


@pytest.fixture
def server(tmp_path):
    starter = ServerStarter(tmp_path)
    yield starter.start(store="memory")
    starter.close()


def test_what_the_server_writes_reads_as_the_lab_protocol(server) -> None:
    """A real server (python -m lab.server): every reply starts with one of the analyzer's
    prefixes, the one of its kind, and the analyzer gives the exchange that kind."""
    with server.connect() as sock:
        for message, kind, prefix in MESSAGES:
            reply = ask(sock, message)
            assert reply.startswith(prefix.encode()) and reply.endswith(b"\n"), (message, reply)
            assert reply.startswith(LAB_REPLY_PREFIXES)
            request = message.decode("utf-8", errors="backslashreplace").strip()
            assert exchange_kind(request, reply.decode().rstrip("\n")) == kind, (message, reply)
