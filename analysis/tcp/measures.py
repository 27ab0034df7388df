"""What a TCP lab measures on one connection: RTT samples (Karn's rule), EstimatedRTT, bytes
acknowledged per ACK, throughput. Pure functions of an `Analysis`; questions.py turns them into
answers with their frames.
"""
from __future__ import annotations

from typing import NamedTuple

from analysis.model import ACK, Connection, LabeledFrame
from analysis.vocabulary import RETRANSMISSION_FLAGS
ALPHA = 0.125          # RFC 6298's alpha, the weight the classic lab uses for EstimatedRTT
RTT_SEGMENTS = 6       # the lab computes EstimatedRTT over the first six data segments


class RttSample(NamedTuple):
    """A data segment and the first ACK from the peer that covers all of it."""

    frame: int
    ack_frame: int
    seq: int                    # relative
    length: int
    rtt: float                  # seconds


class RttEstimate(NamedTuple):
    samples: tuple[RttSample, ...]
    estimates: tuple[float, ...]    # EstimatedRTT after each sample
    alpha: float

    @property
    def final(self) -> float | None:
        return self.estimates[-1] if self.estimates else None


class AckedBytes(NamedTuple):
    frame: int
    side: str                   # "client" | "server": who sent the ACK
    ack: int                    # relative acknowledgement number
    acked: int                  # bytes (sequence numbers) newly acknowledged by this ACK


class Throughput(NamedTuple):
    side: str                   # the sender: "client" (requests) or "server" (responses)
    bytes: int                  # payload bytes, retransmissions not counted twice
    seconds: float              # first data segment to the ACK that covers the last byte
    first_frame: int
    last_frame: int

    @property
    def bytes_per_second(self) -> float | None:
        return self.bytes / self.seconds if self.seconds > 0 else None


# --- helpers -------------------------------------------------------------------------------------

def side_of(frame: LabeledFrame, conn: Connection) -> str:
    return "client" if (frame.src, frame.sport) == (conn.orig_ip, conn.orig_port) else "server"


def is_retransmission(frame: LabeledFrame) -> bool:
    return bool(set(frame.analysis) & set(RETRANSMISSION_FLAGS))


def has_ack(frame: LabeledFrame) -> bool:
    return bool(frame.tcp_flags & ACK)


# --- computations --------------------------------------------------------------------------------

def rtt_samples(analysis, conn: int, side: str = "client") -> list[RttSample]:
    """RTT samples the way the lab takes them: from a data segment to the first ACK from the
    peer that acknowledges its last byte. Segments that were retransmitted, or are themselves
    retransmissions, give no sample (Karn's rule: the ACK could answer either copy)."""
    connection = analysis.connection(conn)
    frames = analysis.frames_of(conn)
    repeated = {(f.src, f.sport, f.seq) for f in frames if is_retransmission(f)}
    samples: list[RttSample] = []
    for index, frame in enumerate(frames):
        if frame.payload_len == 0 or side_of(frame, connection) != side or is_retransmission(frame):
            continue
        if (frame.src, frame.sport, frame.seq) in repeated:
            continue
        end = (frame.seq or 0) + frame.payload_len
        ack = next((f for f in frames[index + 1:] if side_of(f, connection) != side and has_ack(f)
                    and f.ack is not None and f.ack >= end), None)
        if ack is not None:
            samples.append(RttSample(frame.number, ack.number, frame.seq or 0, frame.payload_len,
                                     ack.time - frame.time))
    return samples


def estimated_rtt(analysis, conn: int, *, alpha: float = ALPHA, count: int | None = RTT_SEGMENTS,
                  side: str = "client") -> RttEstimate:
    """EstimatedRTT = (1 - alpha) * EstimatedRTT + alpha * SampleRTT over the first `count`
    samples, starting from the first sample (as the lab does)."""
    samples = rtt_samples(analysis, conn, side)[:count]
    estimates: list[float] = []
    for sample in samples:
        previous = estimates[-1] if estimates else sample.rtt
        estimates.append((1 - alpha) * previous + alpha * sample.rtt)
    return RttEstimate(tuple(samples), tuple(estimates), alpha)


def acked_bytes(analysis, conn: int) -> list[AckedBytes]:
    """Each ACK that acknowledges something new after the handshake, and how many bytes
    (a FIN counts one, as it takes one sequence number)."""
    connection = analysis.connection(conn)
    highest: dict[str, int] = {}
    result: list[AckedBytes] = []
    for frame in analysis.frames_of(conn):
        if not has_ack(frame) or frame.ack is None:
            continue
        side = side_of(frame, connection)
        before = highest.get(side)
        highest[side] = max(frame.ack, before if before is not None else frame.ack)
        if frame.phase in ("handshake",) or before is None or frame.ack <= before:
            continue
        result.append(AckedBytes(frame.number, side, frame.ack, frame.ack - before))
    return result


def throughput(analysis, conn: int, side: str = "client") -> Throughput | None:
    """Payload bytes one side sent, over the time from its first data segment to the ACK that
    covers its last byte (the lab's definition)."""
    connection = analysis.connection(conn)
    frames = analysis.frames_of(conn)
    data = [f for f in frames if f.payload_len > 0 and side_of(f, connection) == side]
    if not data:
        return None
    total = sum(f.payload_len for f in data if not is_retransmission(f))
    end = max((f.seq or 0) + f.payload_len for f in data)
    last = next((f for f in frames if side_of(f, connection) != side and has_ack(f)
                 and f.ack is not None and f.ack >= end and f.number > data[0].number), data[-1])
    return Throughput(side, total, last.time - data[0].time, data[0].number, last.number)
