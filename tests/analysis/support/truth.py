"""Load the conformance set's ground truth (tshark, capinfos, tcpdump) into plain Python data.

The truth files are described in `<conformance>/README.md`; this module only parses them, it
decides nothing.  Typical use in a test:

    truth = load_truth(conformance_dir, "zeek_http_get.pcap")
    for row in truth.packets:            # one dict per frame, keyed by the tshark field name
        row["tcp.seq_raw"]               # int, or None when tshark printed nothing
    truth.capinfos.packets               # 14
    truth.conv_tcp[0].frames             # per conversation totals

Value conventions in `packets` rows (every column of the CSV is kept):
  * an empty cell is None;
  * a cell tshark joined with ';' (several occurrences, e.g. an ICMP error quoting an inner IP
    header, Q-in-Q VLAN ids) becomes a tuple of converted values;  VLAN columns are *always*
    tuples (empty tuple when untagged), since a frame may carry any number of tags;
  * integer fields are int ("0x0800" style hex fields included), tcp.analysis.initial_rtt is float;
  * frame.time_epoch stays the exact text, and `ts_ns` (int nanoseconds) is added beside it;
  * tcp.analysis.* presence fields and _ws.malformed are bool (True when tshark printed them).
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

INT_FIELDS = frozenset({
    "frame.number", "arp.opcode", "tcp.stream", "tcp.srcport", "tcp.dstport", "tcp.seq_raw",
    "tcp.ack_raw", "tcp.len", "frame.len", "frame.cap_len", "frame.interface_id",
    "frame.encap_type", "null.family", "vlan.id", "ip.proto", "ipv6.nxt",
})
HEX_FIELDS = frozenset({"eth.type", "tcp.flags", "sll.etype", "vlan.etype"})
FLOAT_FIELDS = frozenset({"tcp.analysis.initial_rtt"})
TUPLE_FIELDS = frozenset({"vlan.id", "vlan.etype"})
# Presence fields: tshark prints "1" (or "1;1" for a repeated expert item) when set.
BOOL_FIELDS = frozenset({
    "tcp.analysis.flags", "tcp.analysis.retransmission", "tcp.analysis.fast_retransmission",
    "tcp.analysis.spurious_retransmission", "tcp.analysis.out_of_order",
    "tcp.analysis.lost_segment", "tcp.analysis.duplicate_ack", "tcp.analysis.ack_lost_segment",
    "tcp.analysis.keep_alive", "tcp.analysis.window_update", "tcp.analysis.reused_ports",
    "_ws.malformed",
})

# capinfos' Wireshark encapsulation short names -> the file's LINKTYPE_* value.
ENCAP_TO_LINKTYPE = {
    "ether": 1, "null": 0, "loop": 108, "linux-sll": 113, "linux-sll2": 276,
    "rawip": 101, "rawip4": 228, "rawip6": 229,
}


def _convert(name: str, text: str):
    if name in INT_FIELDS:
        return int(text)
    if name in HEX_FIELDS:
        return int(text, 16)
    if name in FLOAT_FIELDS:
        return float(text)
    return text


def time_epoch_to_ns(text: str) -> int:
    """'1103139821.634774000' -> 1103139821634774000, exactly (no float rounding)."""
    seconds, _, fraction = text.partition(".")
    return int(seconds) * 1_000_000_000 + int((fraction + "000000000")[:9])


def parse_packets(path: Path) -> list[dict]:
    rows = []
    with open(path, newline="") as handle:
        for raw in csv.DictReader(handle):
            row: dict = {}
            for name, text in raw.items():
                if name in BOOL_FIELDS:
                    row[name] = bool(text)
                elif not text:
                    row[name] = () if name in TUPLE_FIELDS else None
                elif ";" in text or name in TUPLE_FIELDS:
                    row[name] = tuple(_convert(name, part) for part in text.split(";"))
                else:
                    row[name] = _convert(name, text)
            row["ts_ns"] = time_epoch_to_ns(raw["frame.time_epoch"])
            rows.append(row)
    return rows


@dataclass(frozen=True)
class Interface:
    encapsulation: str          # "Ethernet"
    encap_name: str             # Wireshark short name, "ether"
    linktype: int | None        # LINKTYPE_* via ENCAP_TO_LINKTYPE (None if unmapped)
    snaplen: int | None
    precision: int | None       # decimal digits: 6 us, 9 ns
    ticks_per_second: int | None


@dataclass(frozen=True)
class CapInfos:
    file_type: str              # "Wireshark/tcpdump/... - pcap", "... - nanosecond pcap", "... - pcapng"
    format: str                 # "pcap" | "pcapng"
    encapsulation: str          # the "File encapsulation" line
    packets: int
    precision: int | None       # file precision digits; -1 = per-packet (mixed pcapng resolutions)
    interfaces: tuple[Interface, ...]


def parse_capinfos(path: Path) -> CapInfos:
    text = path.read_text()

    def line(key: str) -> str | None:
        match = re.search(rf"^{re.escape(key)}:\s*(.*)$", text, re.M)
        return match.group(1).strip() if match else None

    interfaces = []
    for block in re.split(r"^Interface #\d+ info:\s*$", text, flags=re.M)[1:]:
        enc = re.search(r"Encapsulation = (.*) \((\d+) - ([\w-]+)\)", block)
        snap = re.search(r"Capture length = (\d+)", block)
        prec = re.search(r"Time precision = .*\((\d+)\)", block)
        ticks = re.search(r"Time ticks per second = (\d+)", block)
        interfaces.append(Interface(
            encapsulation=enc.group(1), encap_name=enc.group(3),
            linktype=ENCAP_TO_LINKTYPE.get(enc.group(3)),
            snaplen=int(snap.group(1)) if snap else None,
            precision=int(prec.group(1)) if prec else None,
            ticks_per_second=int(ticks.group(1)) if ticks else None))
    file_type = line("File type") or ""
    precision = re.search(r"\((-?\d+)\)", line("File timestamp precision") or "")
    return CapInfos(
        file_type=file_type,
        format="pcapng" if file_type.endswith("pcapng") else "pcap",
        encapsulation=line("File encapsulation") or "",
        packets=int(line("Number of packets") or 0),
        precision=int(precision.group(1)) if precision else None,
        interfaces=tuple(interfaces))


@dataclass(frozen=True)
class Conversation:
    """One line of `tshark -z conv,tcp`: A <-> B, '<-' is B->A, '->' is A->B."""

    a: str                      # "ip:port"
    b: str
    frames_b_to_a: int
    bytes_b_to_a: int
    frames_a_to_b: int
    bytes_a_to_b: int
    frames: int
    bytes: int
    rel_start: float
    duration: float


_CONV_LINE = re.compile(
    r"^(\S+)\s+<->\s+(\S+)\s+(\d+)\s+(\d+) bytes\s+(\d+)\s+(\d+) bytes\s+(\d+)\s+(\d+) bytes"
    r"\s+([\d.]+)\s+([\d.]+)\s*$")


def parse_conv_tcp(path: Path) -> list[Conversation]:
    conversations = []
    for text in path.read_text().splitlines():
        match = _CONV_LINE.match(text)
        if match:
            g = match.groups()
            conversations.append(Conversation(
                g[0], g[1], int(g[2]), int(g[3]), int(g[4]), int(g[5]), int(g[6]), int(g[7]),
                float(g[8]), float(g[9])))
    return conversations


@dataclass(frozen=True)
class ExpertRow:
    frame: int
    stream: int | None
    severities: tuple[int, ...]  # Wireshark PI_* severities (2097152 chat, 4194304 note, 6291456 warn, 8388608 error)
    messages: str                # the messages, joined by tshark with spaces (not splittable reliably)


def parse_expert(path: Path) -> list[ExpertRow]:
    rows = []
    lines = path.read_text().splitlines()
    for text in lines[1:]:
        cells = (text.split("\t") + ["", "", "", ""])[:4]
        stream = cells[1].split()[0] if cells[1].strip() else None
        rows.append(ExpertRow(int(cells[0]), int(stream) if stream is not None else None,
                              tuple(int(s) for s in cells[2].split()), cells[3]))
    return rows


@dataclass(frozen=True)
class Truth:
    name: str
    pcap: Path
    packets: list[dict]
    capinfos: CapInfos
    conv_tcp: list[Conversation]
    expert: list[ExpertRow]
    tshark_error: str | None     # tshark_error.txt content when tshark complained, else None
    tcpdump_exit: int            # the exit status tcpdump reported on the last line of tcpdump.txt
    tcpdump_lines: list[str] = field(repr=False, default_factory=list)


def load_truth(conformance_dir: Path, name: str) -> Truth:
    """Everything the conformance set says about capture `name` (a file name in pcaps/)."""
    base = Path(conformance_dir) / "truth" / name
    tcpdump_lines = Path(f"{base}.tcpdump.txt").read_text().splitlines()
    status = re.match(r"# tcpdump exit status: (\d+)", tcpdump_lines[-1])
    if status is None:
        raise ValueError(f"{base}.tcpdump.txt: last line is not '# tcpdump exit status: N'")
    error_path = Path(f"{base}.tshark_error.txt")
    return Truth(
        name=name,
        pcap=Path(conformance_dir) / "pcaps" / name,
        packets=parse_packets(Path(f"{base}.tshark_packets.csv")),
        capinfos=parse_capinfos(Path(f"{base}.capinfos.txt")),
        conv_tcp=parse_conv_tcp(Path(f"{base}.tshark_conv_tcp.txt")),
        expert=parse_expert(Path(f"{base}.tshark_expert.tsv")),
        tshark_error=error_path.read_text() if error_path.exists() else None,
        tcpdump_exit=int(status.group(1)),
        tcpdump_lines=tcpdump_lines[:-1])
