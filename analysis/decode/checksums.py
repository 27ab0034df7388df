"""Bad TCP checksums: which ones checksum offload explains, and the warnings both engines give.

Wireshark shows a segment with a bad checksum like any other; Zeek leaves it out of the
connection's state (history `c`/`C`) unless run with -C. A capture taken on a host that
offloads checksums to its network card (Docker's veths, most laptops) holds its own outgoing
segments as the kernel handed them down: the checksum field carries only the folded sum of the
pseudo-header (addresses, protocol, TCP length; Linux's CHECKSUM_PARTIAL), or 0 with some
drivers, and the card computes the real value after the capture point. Read strictly, every
connection of such a capture is `OTH` with no FIN: not what happened on the wire.

So the default reading accepts a bad checksum when, and only when, its
field holds exactly that offload pattern; `strict_checksums=True` (--strict-checksums) is Zeek's
reading (every bad checksum counts), and -C / verify_checksums=False trusts all (zeek -C).

Why per frame, and not "decide from the first N frames of the capture": offload is a property of
the sending host, so a capture on a bridge or on one end holds one side's segments offloaded and
the other side's correct - half the segments, never "nearly all" - and a per-capture threshold
would either miss that case or have to look ahead before the first frame can be judged, which a
live stream (`--live`, tcpdump -U into a pipe) and the columnar engine's batches cannot do
without holding frames back. The pattern itself is the evidence, frame by frame: a segment
damaged in transit keeps its sender's real checksum, and a damage that happens to turn the
field into exactly the pseudo-header sum is a 1 in 65,536 chance. Both engines apply this same
test (analysis/columnar/decode/frames.py marks such frames with checksum code 2), so they agree
frame by frame, on a file and on a stream alike.
"""
from __future__ import annotations

from socket import AF_INET6, inet_aton, inet_pton

from analysis.i18n import N_
from analysis.model import Frame, Warning, warning


def offload_pattern(field: int, pseudo_sum: int) -> bool:
    """The TCP checksum field as offload leaves it: 0, or the pseudo-header's sum (any
    representative mod 0xFFFF: ones'-complement 0x0000 and 0xFFFF are the same number)."""
    return field == 0 or field % 0xFFFF == pseudo_sum % 0xFFFF


def offloaded(frame: Frame) -> bool:
    """A TCP frame whose checksum is wrong exactly as checksum offload leaves it."""
    tcp = frame.tcp
    if frame.checksum_ok is not False or tcp is None or not frame.src or not frame.dst:
        return False
    if frame.net == "ipv6":
        addresses = inet_pton(AF_INET6, frame.src) + inet_pton(AF_INET6, frame.dst)
    else:
        addresses = inet_aton(frame.src) + inet_aton(frame.dst)
    # the pseudo-header: both addresses, protocol 6, and the TCP length (header + payload)
    pseudo = int.from_bytes(addresses, "big") + 6 + tcp.header_len + frame.payload_len
    return offload_pattern(tcp.checksum, pseudo)


def bad_checksums_warning(path: str, bad: int, tcp_frames: int) -> Warning | None:
    """The warning both engines give when most TCP checksums are bad (and not accepted as
    offload), else None: Zeek ignores such segments, and so do we."""
    if not bad or bad * 2 < tcp_frames:
        return None
    return warning(
        "bad-checksums",
        N_("{path}: {bad} of {tcp_frames} TCP segments have bad checksums and were left "
           "out of connection states (checksum offload on the capturing host?); to trust "
           "them anyway, as zeek -C does, use --ignore-checksums"),
        path=path, bad=bad, tcp_frames=tcp_frames)


def offload_warning(path: str, offloaded_count: int, tcp_frames: int) -> Warning | None:
    """The one line saying that segments were accepted as offloaded, and how to read strictly."""
    if not offloaded_count:
        return None
    return warning(
        "checksum-offload",
        N_("{path}: {offloaded} of {tcp_frames} TCP checksums are wrong as checksum offload "
           "leaves them (the field holds only the pseudo-header sum: segments sent by the "
           "capturing host, checksummed by its network card after the capture point); treated "
           "as valid, as Wireshark shows them (use --strict-checksums for Zeek's reading, which "
           "leaves them out)"),
        path=path, offloaded=offloaded_count, tcp_frames=tcp_frames)


def checksum_warnings(path: str, *, bad: int, offloaded_count: int,
                      tcp_frames: int) -> list[Warning]:
    """Both engines' checksum warnings for one capture, in this order."""
    found = [offload_warning(path, offloaded_count, tcp_frames),
             bad_checksums_warning(path, bad, tcp_frames)]
    return [w for w in found if w is not None]
