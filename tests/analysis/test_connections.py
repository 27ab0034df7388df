"""Connections: Zeek's conn_state and history, checked against Zeek's own baselines.

Three kinds of test:
  * the pure `conn_state()` function, state by state (main.zeek's table);
  * every conformance capture with a Zeek baseline (truth/*.zeek.*): conn_state, history,
    originator/responder, packet counts, bytes and duration wherever the baseline has them, run
    with the checksum setting Zeek was run with (-C or not); the captures without a baseline get
    the README's expected states. Each deliberate difference is an explicit expectation below;
  * crafted captures: in test_connections_crafted.py.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from analysis.conn.zeek import (CLOSED, ESTABLISHED, INACTIVE, PARTIAL, RESET, SYN_ACK_SENT,
                                SYN_SENT)
from analysis.conn.connections import conn_state
from analysis.vocabulary import CONN_STATES
from tests.analysis.support.conn_tracking import track



# --- the pure function ---------------------------------------------------------------------------

@pytest.mark.parametrize("orig, resp, sizes, history, expected", [
    (SYN_SENT, INACTIVE, (0, 0), "S", "S0"),
    (ESTABLISHED, ESTABLISHED, (5, 5), "ShAD", "S1"),
    (CLOSED, CLOSED, (5, 5), "ShADadFf", "SF"),
    (SYN_SENT, RESET, (0, 0), "Sr", "REJ"),
    (SYN_ACK_SENT, RESET, (0, 0), "Hr", "REJ"),
    (RESET, RESET, (0, 0), "SRr", "REJ"),              # both reset, nothing sent either way
    (RESET, RESET, (3, 0), "ShADRr", "RSTR"),          # ... but with data it is the responder's RST
    (CLOSED, ESTABLISHED, (5, 5), "ShADF", "S2"),
    (ESTABLISHED, CLOSED, (5, 5), "ShADf", "S3"),
    (RESET, ESTABLISHED, (5, 5), "ShADR", "RSTO"),
    (ESTABLISHED, RESET, (5, 5), "ShADr", "RSTR"),
    (RESET, INACTIVE, (0, 0), "SR", "RSTOS0"),
    (RESET, INACTIVE, (0, 0), "^SR", "RSTOS0"),
    (RESET, INACTIVE, (0, 0), "SaR", "RSTOS0"),        # lower-case letters don't break the pattern
    (RESET, INACTIVE, (0, 0), "SaFR", "OTH"),          # a FIN does: Zeek's /^?S[^HAFGIQ]*R.*/
    (RESET, INACTIVE, (0, 0), "R", "OTH"),
    (RESET, PARTIAL, (0, 0), "DR", "OTH"),
    (INACTIVE, RESET, (0, 0), "^hr", "RSTRH"),
    (PARTIAL, RESET, (0, 0), "Dr", "RSTRH"),
    (CLOSED, INACTIVE, (0, 0), "SF", "SH"),
    (CLOSED, PARTIAL, (0, 0), "SFd", "SH"),
    (INACTIVE, CLOSED, (0, 0), "^hf", "SHR"),
    (PARTIAL, PARTIAL, (5, 5), "Dd", "OTH"),
    (INACTIVE, INACTIVE, (0, 0), "C", "OTH"),
    (SYN_SENT, ESTABLISHED, (0, 0), "^hS", "OTH"),
])
def test_conn_state_follows_zeeks_table(orig, resp, sizes, history, expected):
    assert expected in CONN_STATES
    assert conn_state(orig, resp, sizes[0], sizes[1], history) == expected


# --- conformance captures with a Zeek baseline ----------------------------------------------------

def read_conn_log(path: Path) -> list[dict]:
    """A Zeek conn.log (with #fields) or a zeek-cut table (header line first) as dicts."""
    lines = [line for line in path.read_text().splitlines() if not line.startswith("### ")]
    fields = None
    rows = []
    for line in lines:
        if line.startswith("#fields"):
            fields = line.split("\t")[1:]
        elif line.startswith("#"):
            continue
        elif fields is None:
            fields = line.split("\t")
        else:
            rows.append(dict(zip(fields, line.split("\t"))))
    return rows


def zeek_file(conformance_dir: Path, capture: str, suffix: str) -> Path:
    return conformance_dir / "truth" / f"{capture}.zeek.{suffix}"


# capture, Zeek baseline, run with -C (checksums ignored)?
CONN_LOGS = [
    ("zeek_http_get.pcap", "core.tcp.reassembly-known-ports.conn.log", False),
    ("zeek_miss_end_data.pcap", "core.tcp.miss-end-data.conn.log", False),
    ("zeek_ftp_ipv4.pcap", "scripts.base.protocols.ftp.ftp-ipv4.conn.log", False),
    # Zeek also has conn-all.log (every timer expired: the retransmission 300 s later becomes a
    # second connection, `Da` then `D`). Connections here are tshark's streams, which never
    # split on a timeout, so we match conn-limited.log: one connection `DaT`.
    ("zeek_retransmit_timeout.pcapng", "core.expire-all-timers.conn-limited.log", True),
]


@pytest.mark.parametrize("capture, baseline, ignore_checksums", CONN_LOGS)
def test_matches_zeek_conn_log(conformance_dir, capture, baseline, ignore_checksums):
    expected = read_conn_log(zeek_file(conformance_dir, capture, baseline))
    got = track(conformance_dir / "pcaps" / capture, ignore_checksums=ignore_checksums)
    assert len(got) == len(expected)
    by_pair = {(c.orig, c.resp): c for c in got}
    for row in expected:
        conn = by_pair[(f"{row['id.orig_h']}:{row['id.orig_p']}",
                        f"{row['id.resp_h']}:{row['id.resp_p']}")]
        assert (conn.conn_state, conn.history) == (row["conn_state"], row["history"])
        assert (conn.orig_pkts, conn.resp_pkts) == (int(row["orig_pkts"]), int(row["resp_pkts"]))
        assert (conn.orig_bytes, conn.resp_bytes) == (int(row["orig_bytes"]),
                                                      int(row["resp_bytes"]))
        assert conn.duration == pytest.approx(float(row["duration"]), abs=1e-6)


def test_bad_checksum_syn_is_only_a_c(conformance_dir):
    # core.tcp.bad-checksum-syn (checksums on): history C, OTH, no packets counted
    row, = read_conn_log(zeek_file(conformance_dir, "zeek_syn_bad_cksum.pcap",
                                   "core.tcp.bad-checksum-syn.conn.log"))
    conn, = track(conformance_dir / "pcaps" / "zeek_syn_bad_cksum.pcap")
    assert (conn.history, conn.conn_state) == (row["history"], row["conn_state"]) == ("C", "OTH")
    assert (conn.orig_pkts, conn.resp_pkts) == (int(row["orig_pkts"]), int(row["resp_pkts"]))
    # with zeek -C the same SYN is an ordinary attempt
    conn, = track(conformance_dir / "pcaps" / "zeek_syn_bad_cksum.pcap", ignore_checksums=True)
    assert (conn.history, conn.conn_state, conn.orig_pkts) == ("S", "S0", 1)


def test_syslog_raw_ipv4_history_and_counts(conformance_dir):
    capture = "zeek_tcp_syslog_rawipv4.pcap"
    row, = read_conn_log(zeek_file(conformance_dir, capture,
                                   "scripts.base.protocols.syslog.tcp-framing.conn.log"))
    conn, = track(conformance_dir / "pcaps" / capture, ignore_checksums=True)   # zeek -C -b
    assert conn.history == row["history"] == "ShADFf"
    assert (conn.orig_pkts, conn.resp_pkts) == (int(row["orig_pkts"]), int(row["resp_pkts"]))
    assert conn.duration == pytest.approx(float(row["duration"]), abs=1e-6)
    assert conn.conn_state == "SF"     # not among the baseline's columns: Zeek's table gives SF


@pytest.mark.parametrize("capture, line", [
    ("zeek_single_rst.pcap", 0), ("zeek_syn_then_rst.pcap", 1),
    ("zeek_syn_then_stuff_then_rst.pcap", 3)])
def test_rst_behavior_lines(conformance_dir, capture, line):
    # conn_state-RST-behavior/out prints "history, conn_state" per trace (zeek -b -C)
    text = zeek_file(conformance_dir, capture,
                     "scripts.base.protocols.conn.conn_state-RST-behavior.out").read_text()
    lines = [x for x in text.splitlines() if not x.startswith("#")]
    history, state = lines[line].split(", ")
    conn, = track(conformance_dir / "pcaps" / capture, ignore_checksums=True)
    assert (conn.history, conn.conn_state) == (history, state)


def endpoint_records(text: str) -> list[dict]:
    """'[size=175, state=1, num_pkts=4, ...]' lines of a Zeek event print, as dicts of ints."""
    rows = []
    for line in text.splitlines():
        if "state=" in line:
            inner = line[line.index("[") + 1:line.rindex("]")]
            fields = dict(part.split("=", 1) for part in inner.split(", "))
            rows.append({k: int(fields[k]) for k in ("size", "state", "num_pkts")})
    return rows


def test_rst_injected_before_syn_ack(conformance_dir):
    # core.tcp.rst-after-syn: orig SYN_SENT (1) 4 pkts size 175, resp RESET (6) 5 pkts size 0
    capture = "zeek_rst_inject_rae.pcap"
    orig, resp = endpoint_records(zeek_file(conformance_dir, capture,
                                            "core.tcp.rst-after-syn.stdout").read_text())
    conn, = track(conformance_dir / "pcaps" / capture)
    assert (conn.orig, conn.resp) == ("1.2.0.2:2527", "1.2.0.3:6649")
    assert (orig["state"], resp["state"]) == (SYN_SENT, RESET)
    assert (conn.orig_pkts, conn.orig_bytes) == (orig["num_pkts"], orig["size"])
    assert (conn.resp_pkts, conn.resp_bytes) == (resp["num_pkts"], resp["size"])
    # main.zeek on those states: the responder reset a connection whose originator never left
    # SYN_SENT; the second RST repeats the first one's sequence number, so one `r`.
    assert (conn.conn_state, conn.history) == ("REJ", "SrhADa")


def test_fin_retransmission(conformance_dir):
    # core.tcp.fin-retransmit: orig CLOSED (5) 3 pkts, resp RESET (6) 2 pkts
    capture = "zeek_fin_retransmission.pcap"
    orig, resp = endpoint_records(zeek_file(conformance_dir, capture,
                                            "core.tcp.fin-retransmit.out").read_text())
    conn, = track(conformance_dir / "pcaps" / capture)
    assert (orig["state"], resp["state"]) == (CLOSED, RESET)
    assert (conn.orig_pkts, conn.resp_pkts) == (orig["num_pkts"], resp["num_pkts"])
    assert (conn.orig_bytes, conn.resp_bytes) == (orig["size"], resp["size"])
    # the second FIN has the first one's sequence number: one F
    assert (conn.conn_state, conn.history) == ("RSTR", "SFhr")
    assert (conn.closed_by, conn.end) == ("orig", "fin-rst")


def test_handshake_reorder_flips_roles(conformance_dir):
    capture = "zeek_handshake_reorder.pcap"
    text = zeek_file(conformance_dir, capture, "core.connection_flip_roles.out").read_text()
    final = text.splitlines()[-1]          # connection_state_remove: the roles after the flip
    assert "orig_h=141.142.228.5, orig_p=59856/tcp, resp_h=192.150.187.43, resp_p=80/tcp" in final
    cut = zeek_file(conformance_dir, capture,
                    "scripts.policy.protocols.conn.community-id-logging-flipped.conn.log.cut")
    orig_h, orig_p, resp_h, resp_p = cut.read_text().splitlines()[-1].split("\t")[:4]
    expected = (f"{orig_h}:{orig_p}", f"{resp_h}:{resp_p}")

    # Our default: a first SYN-ACK flips on creation (Zeek with 80 in likely_server_ports, as
    # its core.tcp.missing-syn baseline `^hADdFaf`); the later SYN then sets orig to SYN_SENT.
    conn, = track(conformance_dir / "pcaps" / capture)
    assert (conn.orig, conn.resp) == expected
    assert (conn.conn_state, conn.history) == ("SF", "^hSADadFf")
    assert (conn.orig_pkts, conn.resp_pkts) == (7, 7)

    # The baseline's own configuration (likely_server_ports = {}, no flip on creation): Zeek
    # flips at the SYN (the SYN/SYN-ACK reversal), after `H` and `s` were recorded.
    conn, = track(conformance_dir / "pcaps" / capture, likely_server_ports=frozenset(),
                  flip_syn_ack=False)
    assert (conn.orig, conn.resp) == expected
    assert (conn.conn_state, conn.history) == ("SF", "Hs^ADadFf")


def test_truncated_header_final_roles(conformance_dir):
    # core.tcp.truncated-header: the first SYN's header is cut (snaplen 68) and gives no event;
    # after the first event every one has orig=201.186.157.67:60827. We skip the cut SYN as Zeek
    # does, so the SYN-ACK opens the connection and flips it (port 25 is in Zeek's default
    # likely_server_ports). Deliberate difference: the baseline (zeek -b, no likely ports) shows
    # the unflipped id on its first event; we report only the final roles.
    capture = "zeek_truncated_header.pcap"
    text = zeek_file(conformance_dir, capture, "core.tcp.truncated-header.out").read_text()
    events = [line for line in text.splitlines() if "orig_h=" in line]
    assert len(events) == 23
    assert all("orig_h=201.186.157.67, orig_p=60827/tcp" in e for e in events[1:])
    conn, = track(conformance_dir / "pcaps" / capture)
    assert (conn.orig, conn.resp) == ("201.186.157.67:60827", "128.3.26.249:25")
    assert conn.orig_pkts + conn.resp_pkts == len(events)
    assert len(conn.frames) == 24          # the cut SYN still belongs to the stream
    assert conn.history.startswith("^h") and conn.conn_state == "SF"
    # every payload is cut by the snaplen, so acked bytes were never captured: gaps (g, G)
    assert "g" in conn.history and "G" in conn.history


# --- conformance captures without a Zeek baseline: the README's expectations ---------------------

@pytest.mark.parametrize("capture, options, expected", [
    ("zeek_syn_only.pcap", {}, ("S0", "S")),
    ("tcpdump_tcp_handshake_nano.pcap", {}, ("S1", "ShA")),
    # Zeek counts SYN + SYN-ACK as established on both sides: S1 without the final ACK
    ("zeek_syn_synack.pcap", {}, ("S1", "Sh")),
    # README: a SYN answered by RST/ACK is REJ. The SYN's TCP checksum is bad (offloading), so
    # Zeek with checksums on drops it: RSTRH `Cr`. With -C it is the expected REJ.
    ("pcpp_one_tcp_rst_refused.pcap", {"ignore_checksums": True}, ("REJ", "Sr")),
    ("pcpp_one_tcp_rst_refused.pcap", {}, ("RSTRH", "Cr")),
    ("tcpdump_dns_tcp.pcap", {}, ("SF", "ShADadFf")),
    ("tcpdump_mptcp_fclose_arp.pcap", {}, ("RSTR", "ShADadr")),
    # a lone RST/ACK whose 8 payload bytes end at its own sequence number: Zeek's
    # update_last_seq takes payload that does not advance last_seq for a retransmission (T)
    ("tcpdump_rst_diag_payload_snaplen50.pcap", {}, ("OTH", "RT")),
    ("zeek_openjdk_tls_sll2.pcap", {"ignore_checksums": True}, ("S1", "ShADad")),
])
def test_captures_without_baseline(conformance_dir, capture, options, expected):
    conn, = track(conformance_dir / "pcaps" / capture, **options)
    assert (conn.conn_state, conn.history) == expected


def test_irtt_and_streams_match_tshark(conformance_dir, conformance_name, conformance_truth):
    truth = conformance_truth(conformance_name)
    rows = [r for r in truth.packets if r.get("tcp.stream") is not None]
    conns = track(truth.pcap)
    assert len(conns) == len({r["tcp.stream"] for r in rows})
    for conn in conns:
        mine = [r for r in rows if r["frame.number"] in set(conn.frames)]
        assert [r["frame.number"] for r in mine] == list(conn.frames)
        shown = [r["tcp.analysis.initial_rtt"] for r in mine
                 if r.get("tcp.analysis.initial_rtt") is not None]
        if shown:
            assert conn.irtt == pytest.approx(shown[0], abs=1e-9)
        else:
            assert conn.irtt is None
