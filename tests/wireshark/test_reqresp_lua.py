"""wireshark/reqresp.lua in the real tshark: its requests, responses and vote counts equal the
analyzer's exchanges (analysis.analyze(...).exchanges, .votes), on every lab scenario captured
live (root), on the shipped captures, and on crafted captures for the framing rules (a line in
several segments, pipelined lines, messages without newline, a tail at the capture's end).
`make wireshark` installs it where tshark finds it without -X."""
from __future__ import annotations

import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from analysis import analyze
from analysis.read.reader import iter_records
from analysis.report.annotate import annotate
from analysis.session.exchanges import reply_counts
from tests.analysis.support.conformance import REPO_ROOT, SHIPPED_CAPTURES
from tests.analysis.support.crafted import TcpConversation

TSHARK = shutil.which("tshark")
LUA = REPO_ROOT / "wireshark" / "reqresp.lua"
pytestmark = pytest.mark.skipif(TSHARK is None, reason="tshark is not installed")
SCENARIOS = ("default", "echo", "vote", "multi", "legacy", "refused", "reset", "lossy")


def _records(path: Path) -> list[tuple]:
    return [(r.ts_ns, r.caplen, r.wirelen, r.linktype, bytes(r.data)) for r in iter_records(path)]


def _fields(proto) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for field in proto.iter("field"):
        out.setdefault(field.get("name"), []).append(field.get("show"))
    return out


def dissect(pcap: Path, *extra: str, env=None) -> list[dict]:
    """Every reqresp PDU tshark shows (two passes, so the links are known), in frame order."""
    args = [TSHARK, "-n", "-2", "-r", str(pcap), "-Y", "reqresp", "-T", "pdml", *extra]
    if not extra:
        args[1:1] = ["-X", f"lua_script:{LUA}"]
    run = subprocess.run(args, capture_output=True, text=True, timeout=120, env=env)
    assert run.returncode == 0, run.stderr
    assert "Lua" not in run.stderr and "error" not in run.stderr.lower(), run.stderr
    pdus = []
    for packet in ET.fromstring(run.stdout).iter("packet"):
        protos = {p.get("name"): p for p in packet.iter("proto")}
        number = int(_fields(protos["frame"])["frame.number"][0])
        stream = int(_fields(protos["tcp"])["tcp.stream"][0])
        for proto in packet.iter("proto"):
            if proto.get("name") != "reqresp":
                continue
            f = _fields(proto)
            pdus.append({"frame": number, "stream": stream, "first": int(f.get("reqresp.begins_in", [number])[0]),
                         "type": f["reqresp.type"][0], "text": f["reqresp.text"][0],
                         "command": f["reqresp.command"][0], "fields": f})
    return pdus


def exchanges_of(pdus: list[dict]) -> list[tuple]:
    """The dissector's exchanges, as the analyzer's Exchange fields. Links are frame numbers, so
    pipelined messages (several in one frame) are matched in the order they are shown."""
    answers: dict[tuple[int, int], list[dict]] = {}
    for p in pdus:
        if p["type"] == "response" and "reqresp.request_in" in p["fields"]:
            answers.setdefault((p["stream"], int(p["fields"]["reqresp.request_in"][0])), []).append(p)
    out = []
    for p in pdus:
        if p["type"] != "request":
            continue
        link = p["fields"].get("reqresp.response_in")
        response = answers[(p["stream"], p["first"])].pop(0) if link else None
        if response is not None:
            assert response["first"] == int(link[0])
        out.append((p["stream"], p["text"], p["first"], response and response["text"],
                    response and response["first"],
                    response and round(float(response["fields"]["reqresp.latency"][0]), 6),
                    p["fields"]["reqresp.kind"][0]))
    assert not any(answers.values()), "a response links to a request that does not link back"
    return sorted(out, key=lambda e: (e[2], e[0]))


def check_equal(pcap: Path) -> list[dict]:
    result = analyze(pcap)
    pdus = dissect(pcap)
    ours = [(e.conn, e.request, e.request_frame, e.response, e.response_frame,
             None if e.latency is None else round(e.latency, 6), e.kind) for e in result.exchanges]
    theirs = exchanges_of(pdus)
    assert theirs == ours
    # every response the analyzer paired is shown once; a response to nothing is shown too
    paired = {(e.conn, e.response_frame) for e in result.exchanges if e.response is not None}
    assert paired <= {(p["stream"], p["first"]) for p in pdus if p["type"] == "response"}
    # vote counts: each reply's counts as the analyzer reads the same reply, and the totals the
    # capture ends with (the last vote or results reply, in the order of the requests)
    counts = {}
    for p in pdus:
        if p["type"] == "response":
            got = dict(zip(p["fields"].get("reqresp.count.option", []),
                           map(int, p["fields"].get("reqresp.count", []))))
            assert got == reply_counts(p["text"])
            counts[(p["stream"], p["first"], p["text"])] = got
    totals: dict[str, int] = {}
    for conn, _, _, response, response_frame, _, kind in theirs:
        if kind in ("vote", "results") and counts.get((conn, response_frame, response)):
            totals = counts[(conn, response_frame, response)]
    assert totals == result.votes
    return pdus


@pytest.mark.parametrize("name", sorted(p.name for p in SHIPPED_CAPTURES.glob("*.pcap")))
def test_shipped_captures(name):
    check_equal(SHIPPED_CAPTURES / name)


def test_default_capture_fields():
    pdus = check_equal(SHIPPED_CAPTURES / "reqresp.pcap")
    vote = next(p for p in pdus if p["text"].startswith("VOTE B"))
    assert vote["command"] == "VOTE" and vote["fields"]["reqresp.option"] == ["B"]
    assert vote["fields"]["reqresp.vote_id"][0] == vote["text"].split("id=")[1]
    voted = next(p for p in pdus if p["text"].startswith("VOTED B"))
    assert voted["fields"]["reqresp.count"] == ["1", "1", "0"]
    assert voted["fields"]["reqresp.tally"] == ["A=1 B=1 C=0"]
    assert [p["text"] for p in pdus][:2] == ["Hello Server", "Echo: Hello Server"]


def _crafted(tmp_path: Path) -> Path:
    c = TcpConversation(server=("10.0.0.2", 2222))
    c.handshake()
    c.client(b"VOTE", flags="A")                 # a line in two segments: no PSH on the first
    c.client(b" A id=k1\n")
    c.server(b"VOTED A A=1 B=0 C=0\n")
    c.client(b"Hel")                             # pushed without newline, then more of it
    c.client(b"lo Server")
    c.server(b"Echo: Hello Server\n")            # ... until the other side answers
    c.client(b"one\ntwo\nRESULTS\n")             # pipelined: three PDUs in one frame
    c.server(b"Echo: one\nEcho: two\n")
    c.server(b"RESULTS A=1 B=0 C=0\n")
    c.client(b"VOTE D\r\n")
    c.server(b"ERROR unknown option 'D' (options: A, B, C)\n")
    c.client(b"tail without newline")            # the capture ends: one message, unanswered
    c.client(flags="FA")
    return c.write(tmp_path / "crafted.pcap")


def test_crafted_framing(tmp_path):
    pdus = check_equal(_crafted(tmp_path))
    texts = [(p["frame"], p["type"], p["text"]) for p in pdus]
    assert (5, "request", "VOTE A id=k1") in texts
    assert (8, "request", "Hello Server") in texts
    assert [t for f, _, t in texts if f == 10] == ["one", "two", "RESULTS"]
    tail = next(p for p in pdus if p["text"] == "tail without newline")
    assert tail["fields"]["reqresp.no_newline"] == ["1"] and "reqresp.response_in" not in tail["fields"]
    hello = next(p for p in pdus if p["text"] == "Hello Server")
    assert hello["first"] == 7 and hello["fields"]["reqresp.no_newline"] == ["1"]
    error = next(p for p in pdus if p["command"] == "ERROR")
    assert error["fields"]["reqresp.error"] == ["unknown option 'D' (options: A, B, C)"]


def test_make_wireshark_installs_into_the_personal_lua_folder(tmp_path):
    env = {**os.environ, "HOME": str(tmp_path)}
    env.pop("XDG_CONFIG_HOME", None)
    run = subprocess.run(["make", "-s", "wireshark"], cwd=REPO_ROOT, capture_output=True, text=True,
                         env=env, timeout=60)
    assert run.returncode == 0, run.stderr
    installed = tmp_path / ".local" / "lib" / "wireshark" / "plugins" / "reqresp.lua"
    assert installed.read_bytes() == LUA.read_bytes()
    assert str(installed) in run.stdout
    pdus = dissect(SHIPPED_CAPTURES / "reqresp.pcap", "-o", "gui.console_open:NEVER", env=env)
    assert len(pdus) == 14


@pytest.fixture(scope="module")
def scenario_pcap(tmp_path_factory):
    import capture
    from tests.capture.support.netns import SKIP_REASON, assert_no_leftovers

    if SKIP_REASON is not None:
        pytest.skip(SKIP_REASON)
    folder = tmp_path_factory.mktemp("scenarios")
    cache: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in cache:
            cache[name] = capture.run_scenario(name, folder / f"{name}.pcap").pcap
            assert_no_leftovers()
        return cache[name]

    return get


@pytest.mark.root
@pytest.mark.parametrize("name", SCENARIOS)
def test_every_scenario(name, scenario_pcap, tmp_path):
    pcap = Path(scenario_pcap(name))
    pdus = check_equal(pcap)
    result = analyze(pcap)
    if name != "refused":
        assert pdus and result.exchanges
    if name == "legacy":
        assert all(p["fields"].get("reqresp.no_newline") == ["1"] for p in pdus if p["type"] == "request")
    if name == "multi":
        assert result.votes == {"A": 3, "B": 2, "C": 1}
    # and the annotated copy of the same capture selects its handshake in tshark
    out = tmp_path / "annotated.pcapng"
    annotate(result, out)
    assert _records(out) == _records(pcap)
    selected = subprocess.run([TSHARK, "-n", "-r", str(out), "-Y", 'frame.comment contains "handshake"',
                               "-T", "fields", "-e", "frame.number"], capture_output=True, text=True,
                              check=True).stdout.split()
    assert [int(n) for n in selected] == [f.number for f in result.frames if f.phase == "handshake"]
