"""`make lab`: the student's own session, driven through a pseudo-terminal (pexpect), as a student types it.

Each test types messages and a vote into the real client, then checks what the terminal showed (the
course's prompts, the server's lines live, one narrated line per frame in the order of the wire)
and that the pcap holds exactly that session, read by tshark. Every wait is bounded.
"""
from __future__ import annotations

import json
import os
import re
import signal
import sys
from pathlib import Path

import pexpect
import pytest

from capture.state import LOCK_TIMEOUT, STATE_DIR
from tests.capture.support.compose import assert_no_compose_leftovers, compose_image, needs_compose
from tests.capture.support.netns import ROOT, assert_no_leftovers, lab_leftovers, needs_root, needs_tshark
from tests.capture.support.tshark_fields import frames, payloads

pytestmark = [needs_root, needs_tshark, pytest.mark.root, pytest.mark.slow]
__all__ = ["compose_image"]
TIMEOUT = 60   # seconds for any one expected line (the machine is shared; a line takes well under 1 s)
# The first prompt may wait for the lab lock (another worktree's capture, up to LOCK_TIMEOUT); the
# time to it is measured by `make bench-lab-ready`, not asserted here.
FIRST_PROMPT = LOCK_TIMEOUT + TIMEOUT
CLIENT, CLIENT2, SERVER = "172.28.0.3", "172.28.0.4", "172.28.0.2"
FRAME_LINE = re.compile(r"frame  \|\s+(\d+)\s+[\d.]+\s+(\w+)\s+([\w-]+\??)\s+(\S+)", re.M)


def spawn(*argv: str) -> pexpect.spawn:
    return pexpect.spawn(argv[0], list(argv[1:]), cwd=str(ROOT), timeout=TIMEOUT, encoding="utf-8",
                         dimensions=(50, 220), env={**os.environ, "TERM": "dumb"})


class Terminal:
    """One pexpect terminal and everything it showed so far."""

    def __init__(self, *argv: str) -> None:
        self.child = spawn(*argv)
        self.seen: list[str] = []

    def expect(self, pattern: str, timeout: float = TIMEOUT) -> None:
        try:
            self.child.expect(pattern, timeout=timeout)
        finally:
            self.seen.append(self.child.before or "")
            if isinstance(self.child.after, str):
                self.seen.append(self.child.after)

    def say(self, text: str, then: str = "Enter another message: ") -> None:
        self.child.sendline(text)
        self.expect(then)

    def finish(self) -> int:
        self.expect(pexpect.EOF)
        self.child.close()
        return self.child.exitstatus if self.child.exitstatus is not None else 128 + (self.child.signalstatus or 0)

    @property
    def text(self) -> str:
        return "".join(self.seen).replace("\r\n", "\n")

    def kill(self) -> None:
        if self.child.isalive():
            self.child.kill(signal.SIGKILL)

    def __enter__(self) -> "Terminal":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.kill()   # a failed test leaves no lab running (the lab's own cleanup then runs)


def labels(text: str) -> list[tuple[int, str, str]]:
    return [(int(m.group(1)), m.group(2), m.group(3)) for m in FRAME_LINE.finditer(text)]


def check_narration(text: str, count: int) -> None:
    """Frames 1..count, each narrated once, in order; ARP, SYN, SYN-ACK, ACK, data, FIN, in that order."""
    narrated = labels(text)
    assert [n for n, _, _ in narrated] == list(range(1, count + 1)), narrated
    order = [label for _, _, label in narrated]
    first = {name: order.index(name) for name in ("arp-request", "arp-reply", "syn", "syn-ack", "handshake-ack",
                                                   "data", "fin", "teardown-ack")}
    assert list(first.values()) == sorted(first.values()), order
    assert order[0] == "arp-request" and order[-1] == "teardown-ack", order


def started_lab(out: Path) -> Terminal:
    """`python -m capture lab --out OUT` in a terminal, at its first prompt."""
    term = Terminal(sys.executable, "-m", "capture", "lab", "--out", str(out))
    try:
        term.expect("Enter message: ", FIRST_PROMPT)
    except BaseException:
        term.kill()
        raise
    return term


def closed_in_order(term: Terminal, out: Path) -> list:  # type: ignore[type-arg]
    """The pcap's frames (tshark), after checking the narration and that the client closed first."""
    rows = frames(out)
    check_narration(term.text, len(rows))
    assert [r["ip.src"] for r in rows if r.fin] == [CLIENT, SERVER]
    return rows


def server_lines(text: str) -> list[str]:
    return re.findall(r"server \| (.*)$", text, re.M)  # a live line may follow a prompt


@needs_root
def test_a_session_typed_in_the_terminal_is_narrated_live_and_captured_whole(tmp_path: Path) -> None:
    out = tmp_path / "mine.pcap"
    with Terminal("make", "--no-print-directory", "-s", "lab", f"OUT={out}") as term:
        term.expect("Enter message: ", FIRST_PROMPT)
        term.say("Hello Server")
        term.say("Apa kabar?")
        term.say("VOTE B")
        term.child.sendline("bye")
        assert term.finish() == 0, term.text
    text = term.text
    # the course's client, line for line
    assert text.count("Enter message: ") == 1 and text.count("Enter another message: ") == 3
    for reply in ("Echo: Hello Server", "Echo: Apa kabar?", "VOTED B A=0 B=1 C=0", "Echo: bye"):
        assert f"Received from server: {reply}" in text  # a live line may land before its newline
    # the server's lines, live and marked as the server's
    said = server_lines(text)
    assert said[0] == "Server listening on 0.0.0.0:2222"
    assert re.match(rf"Connection from: \('{CLIENT}', \d+\)", said[1])
    assert said[2:] == [f"Received from client: {m}" for m in ("Hello Server", "Apa kabar?", "VOTE B", "bye")]
    # the pcap: exactly this session, as tshark reads it
    rows = frames(out)
    check_narration(text, len(rows))
    assert [r["arp.opcode"] for r in rows[:2]] == ["1", "2"]
    assert {r["tcp.stream"] for r in rows[2:]} == {"0"} and all(r["tcp.checksum.status"] == "1" for r in rows[2:])
    assert payloads(rows, CLIENT) == ["Hello Server\n", "Apa kabar?\n", "VOTE B\n", "bye\n"]
    assert payloads(rows, SERVER) == ["Echo: Hello Server\n", "Echo: Apa kabar?\n", "VOTED B A=0 B=1 C=0\n",
                                      "Echo: bye\n"]
    fins = [r for r in rows if r.fin]
    assert [r["ip.src"] for r in fins] == [CLIENT, SERVER]          # the client closes first
    assert rows[-1]["ip.src"] == CLIENT and rows[-1].ack and not rows[-1].fin  # the last FIN acknowledged
    assert f"wrote {out}: {len(rows)} packets captured, 0 dropped by kernel" in text
    assert f"next: make analyze {out}" in text
    assert "closed first by the client" in text     # the narrator's summary
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.pcap"]   # no partial file left
    assert_no_leftovers()


@needs_root
def test_a_second_client_joins_with_lab_client_and_a_shell_with_lab_shell(tmp_path: Path) -> None:
    out = tmp_path / "two.pcap"
    term = started_lab(out)
    joined = shell = None
    try:
        term.say("VOTE A")
        joined = Terminal("make", "--no-print-directory", "-s", "lab-client")
        joined.expect("Enter message: ")
        joined.say("VOTE C")
        shell = Terminal("make", "--no-print-directory", "-s", "lab-shell", "HOST=server")
        shell.child.sendline("ip -br -4 addr show lab-eth0; ss -tn state established; exit")
        assert shell.finish() == 0
        term.say("RESULTS")
        term.child.sendline("bye")       # the joined client is still at its prompt: the end closes it
        assert term.finish() == 0, term.text
        assert joined.finish() != 0      # it was stopped (SIGINT: it closed first, as after bye)
    finally:
        for t in (term, joined, shell):
            if t is not None:
                t.kill()
    assert f"{SERVER}/24" in shell.text and ":2222" in shell.text       # the shell ran in the server's host
    assert "Received from server: VOTED C A=1 B=0 C=1" in joined.text
    assert "Received from server: RESULTS A=1 B=0 C=1" in term.text
    said = server_lines(term.text)
    assert any(re.match(rf"Connection from: \('{CLIENT2}', \d+\)", line) for line in said)
    rows = frames(out)
    check_narration(term.text, len(rows))
    streams = {r["tcp.stream"]: r["ip.src"] for r in rows if r.syn and not r.ack}
    assert sorted(streams.values()) == [CLIENT, CLIENT2]
    assert payloads(rows, CLIENT2) == ["VOTE C\n"]
    assert payloads(rows, CLIENT) == ["VOTE A\n", "RESULTS\n", "bye\n"]
    for stream in streams:   # each connection: its client's FIN first
        fins = [r["ip.src"] for r in rows if r.fin and r["tcp.stream"] == stream]
        assert fins == [streams[stream], SERVER]
    assert_no_leftovers()


@needs_root
def test_ctrl_c_in_the_middle_ends_the_session_in_order_and_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "cut.pcap"
    with started_lab(out) as term:
        term.say("Hello Server")
        lab_pids = [int(what.split()[1]) for what in lab_leftovers()["processes"]]
        run_file = STATE_DIR / f"run-{term.child.pid}.json"     # every process the run started
        recorded = {int(pid): info["role"] for pid, info in json.loads(run_file.read_text())["processes"].items()}
        assert sorted(recorded.values()) == ["client", "frame", "server", "tcpdump"]
        lab_pids += list(recorded)
        term.child.sendintr()
        assert term.finish() == 0, term.text
    assert "ended by Ctrl-C" in term.text
    rows = closed_in_order(term, out)     # the client still closes first
    assert payloads(rows, CLIENT) == ["Hello Server\n"]
    assert not [pid for pid in lab_pids if Path(f"/proc/{pid}").exists()]
    assert not run_file.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.pcap"]
    assert_no_leftovers()


@needs_root
def test_ctrl_c_while_the_session_ends_after_bye_still_writes_it(tmp_path: Path) -> None:
    out = tmp_path / "impatient.pcap"
    with started_lab(out) as term:
        term.child.sendline("bye")
        term.expect("Received from server: Echo: bye")
        term.child.sendintr()        # the session is ending already: this asks for nothing more
        assert term.finish() == 0, term.text
    rows = closed_in_order(term, out)
    assert f"wrote {out}: {len(rows)} packets captured" in term.text
    assert_no_leftovers()


@needs_root
def test_sigterm_while_the_lab_starts_removes_everything_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "never.pcap"
    with Terminal(sys.executable, "-m", "capture", "lab", "--out", str(out)) as term:
        term.expect("server \\| Server listening", FIRST_PROMPT)   # the network, tcpdump and the server are up
        term.child.kill(signal.SIGTERM)              # the other way to stop it: an abort
        status = term.finish()
    assert status == 143, term.text
    assert "interrupted by SIGTERM" in term.text
    assert list(tmp_path.iterdir()) == []
    assert_no_leftovers()


@needs_compose
def test_the_same_session_in_the_compose_containers(tmp_path: Path, compose_image: str) -> None:
    out = tmp_path / "compose.pcap"
    with Terminal("make", "--no-print-directory", "-s", "lab", "BACKEND=compose", f"OUT={out}") as term:
        term.expect("Enter message: ", FIRST_PROMPT)
        term.say("Hello Server")
        term.say("VOTE A")
        term.child.sendeof()        # Ctrl-D ends it too
        assert term.finish() == 0, term.text
    text = term.text
    assert "Received from server: VOTED A A=1 B=0 C=0" in text
    assert server_lines(text)[2:] == ["Received from client: Hello Server", "Received from client: VOTE A"]
    assert "pid " not in "\n".join(server_lines(text))
    rows = closed_in_order(term, out)
    assert payloads(rows, CLIENT) == ["Hello Server\n", "VOTE A\n"]
    assert "(lab session, compose" in text
    assert_no_leftovers()
    assert_no_compose_leftovers()
