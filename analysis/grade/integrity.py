"""Integrity signals: shown to the instructor next to the grades, never graded.

Per capture (`inspect`, run where the capture is graded), from the decoded frames
(`analysis.iter_frames`):
  * bad-checksums: TCP segments whose checksum fails. The lab turns checksum offload off, so its
    captures never have one; a few mean a frame's bytes were edited, most mean the capture was
    taken elsewhere (on a host with checksum offload);
  * time-backwards: a frame whose timestamp is earlier than the frame before it;
  * bad-length: an IPv4 packet whose total length does not match the frame (the frame holds more
    than the IP header says, beyond Ethernet's minimum of 60 bytes, or less). The lab's packets
    carry no IP options, so the IP header is taken as 20 bytes;
  * not-lab: frames that are neither ARP nor TCP between two addresses of the rubric's network on
    its port.
Across the cohort (`duplicates`): two submissions whose captures share the SYNs' initial sequence
numbers, every timestamp, or the digest of every TCP payload with its sequence number - one run
of the lab cannot produce any of these twice.
"""
from __future__ import annotations

import hashlib
import ipaddress
from pathlib import Path
from typing import Any, NamedTuple, Sequence

from analysis.api import iter_frames
from analysis.vocabulary import MALFORMED_CUT, frame_filter
from analysis.grade.checks import N_

_SYN, _ACK = 0x002, 0x010
_ETHERNET = 1
_CUT_CODES = frozenset(MALFORMED_CUT)


class Fingerprint(NamedTuple):
    isns: tuple[int, ...]       # sorted initial sequence numbers of the SYN and SYN-ACK segments
    timestamps: str             # sha256 of every frame's timestamp (ns), in order; "" if no frame
    payloads: str               # sha256 of (seq, payload) of every TCP payload; "" if none


class Signal(NamedTuple):
    kind: str                   # bad-checksums | time-backwards | bad-length | not-lab | duplicate
    students: tuple[str, ...]
    message: str                # English, with {fields} (translated like the verdicts)
    args: dict[str, Any]
    frames: tuple[int, ...]     # in the (first) student's capture; () for duplicates
    filter: str


def inspect(student: str, path: str | Path, port: int, network: str
            ) -> tuple[Fingerprint, list[Signal]]:
    """One capture's fingerprint and its own signals. Raises AnalysisError for an unreadable file."""
    net = ipaddress.ip_network(network)
    isns: list[int] = []
    times, payloads = hashlib.sha256(), hashlib.sha256()
    has_payload = False
    bad_sum: list[int] = []
    tcp_total = 0
    backwards: list[int] = []
    bad_length: list[int] = []
    not_lab: list[int] = []
    foreign: set[str] = set()
    ports: set[int] = set()
    previous = None
    count = 0
    for frame in iter_frames(path):
        count += 1
        times.update(frame.ts_ns.to_bytes(8, "big", signed=True))
        if previous is not None and frame.ts_ns < previous:
            backwards.append(frame.number)
        previous = frame.ts_ns
        tcp = frame.tcp
        if tcp is not None:
            tcp_total += 1
            if tcp.flags & _SYN:
                isns.append(tcp.seq)
            if frame.payload:
                has_payload = True
                payloads.update(tcp.seq.to_bytes(4, "big") + len(frame.payload).to_bytes(4, "big"))
                payloads.update(frame.payload)
            if frame.checksum_ok is False:
                bad_sum.append(frame.number)
        if _length_mismatch(frame):
            bad_length.append(frame.number)
        if frame.net == "arp":
            continue
        inside = (frame.net == "ipv4" and ipaddress.ip_address(frame.src) in net
                  and ipaddress.ip_address(frame.dst) in net)
        if not inside and frame.src is not None:
            foreign.update(a for a in (frame.src, frame.dst)
                           if a and ipaddress.ip_address(a) not in net)
        on_port = tcp is not None and port in (frame.sport, frame.dport)
        if tcp is not None and not on_port:
            ports.add(min(frame.sport, frame.dport))
        if not (inside and on_port):
            not_lab.append(frame.number)
    fingerprint = Fingerprint(tuple(sorted(isns)), times.hexdigest() if count else "",
                              payloads.hexdigest() if has_payload else "")
    signals = []
    one = (student,)
    if bad_sum:
        message = (N_("{count} of {total} TCP segments have bad checksums (frames {frames}): most "
                      "of them, so the capture was taken elsewhere, with checksum offload")
                   if len(bad_sum) * 2 >= tcp_total else
                   N_("{count} of {total} TCP segments have bad checksums (frames {frames}): the "
                      "lab's captures never do; were these frames edited?"))
        signals.append(_signal("bad-checksums", one, message, bad_sum, count=len(bad_sum),
                               total=tcp_total, frames=_short(bad_sum)))
    if backwards:
        signals.append(_signal("time-backwards", one,
                               N_("the timestamps go backwards at frames {frames}: a capture "
                                  "never does; was it edited?"), backwards, frames=_short(backwards)))
    if bad_length:
        signals.append(_signal("bad-length", one,
                               N_("the IP total length does not match the frame in frames "
                                  "{frames}: was it edited?"), bad_length, frames=_short(bad_length)))
    if not_lab:
        where = ", ".join(sorted(foreign, key=_address_key)) or "-"
        others = ", ".join(map(str, sorted(ports))) or "-"
        lab_filter = f"!(arp || (ip.src == {network} && ip.dst == {network} && tcp.port == {port}))"
        signals.append(Signal("not-lab", one,
                              N_("{count} frames are not the lab's (addresses outside {network}: "
                                 "{addresses}; other TCP ports: {ports})"),
                              {"count": len(not_lab), "network": network, "addresses": where,
                               "ports": others}, tuple(not_lab), lab_filter))
    return fingerprint, signals


def _signal(kind: str, students, message: str, evidence: list[int], **args) -> Signal:
    return Signal(kind, tuple(students), message, args, tuple(evidence), frame_filter(evidence))


def _short(frames: list[int], limit: int = 12) -> str:
    text = ", ".join(map(str, frames[:limit]))
    return text + (f" ... ({len(frames)})" if len(frames) > limit else "")


def _address_key(text: str):
    address = ipaddress.ip_address(text)
    return (address.version, address)


def _length_mismatch(frame) -> bool:
    if (frame.malformed is not None and frame.malformed.code not in _CUT_CODES
            and frame.net in ("ipv4", "ipv6")):
        # a header value that disagrees with the bytes (a length, a header length), not the snaplen
        return True
    if frame.linktype != _ETHERNET or frame.net != "ipv4" or frame.truncated:
        return False
    if frame.tcp is not None:
        transport = frame.tcp.header_len
    elif frame.proto == "udp":
        transport = 8
    else:
        return False
    ip_total = 20 + transport + frame.payload_len
    on_wire = frame.wirelen - 14 - 4 * len(frame.vlan_ids)
    # Ethernet pads short frames to 60 bytes; beyond that, every byte belongs to the IP packet
    return ip_total != on_wire and not (on_wire > ip_total and frame.wirelen <= 60)


def duplicates(fingerprints: Sequence[tuple[str, Fingerprint | None]]) -> list[Signal]:
    """Submissions holding the same capture: one Signal per group of students, with the keys
    they share (isns, timestamps, payloads), sorted."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for key in ("isns", "timestamps", "payloads"):
        owners: dict[Any, list[str]] = {}
        for student, fp in fingerprints:
            value = getattr(fp, key) if fp is not None else None
            if value:
                owners.setdefault(value, []).append(student)
        for students in owners.values():
            if len(students) > 1:
                groups.setdefault(tuple(sorted(students)), []).append(key)
    names = {"isns": N_("initial sequence numbers"), "timestamps": N_("timestamps"),
             "payloads": N_("payload digests")}
    return [Signal("duplicate", students,
                   N_("{students} hold the same capture (same {keys})"),
                   {"students": ", ".join(students), "keys": [names[k] for k in keys]}, (), "")
            for students, keys in sorted(groups.items())]
