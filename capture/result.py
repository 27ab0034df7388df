"""What a capture run gives back: the record a CLI prints and a notebook reads."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from capture.processes import OutputLine
from capture.text import N_, NP_, Text, Translation, plural

_TALLY = re.compile(r"^Received from server: VOTED \S+ ((?:\S+=\d+ ?)+)$")


@dataclass(frozen=True)
class CaptureResult:
    """One finished capture.

    ``transcript`` holds every line the lab's programs printed (server, client, client2, ...), in
    time order, with seconds since the run started. ``duration`` is the time tcpdump listened.
    """

    scenario: str
    backend: str
    pcap: Path
    packets: int           # tcpdump: packets captured
    dropped: int           # tcpdump: packets dropped by kernel (0 for a good capture)
    duration: float        # seconds
    transcript: tuple[OutputLine, ...]
    attempts: int = 1      # lossy: how many runs it took to catch a retransmission
    retransmissions: int | None = None  # segments the server retransmitted (its TCP counters)
    totals: str | None = None           # multi: the tally after the last vote, e.g. "A=3 B=2 C=1"

    def lines(self, role: str) -> tuple[str, ...]:
        """What one program printed, e.g. ``result.lines("server")``."""
        return tuple(line.text for line in self.transcript if line.role == role)

    @property
    def roles(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for line in self.transcript:
            seen.setdefault(line.role, None)
        return tuple(seen)

    def summary(self, t: Translation | None = None) -> str:
        """The one summary line the CLI prints: English, or in the language of `t` (the record
        itself stays language-free)."""
        details: list[str | Text] = [self.scenario, self.backend]
        if self.attempts > 1:
            details.append(plural(*NP_("{count} run", "{count} runs"), count=self.attempts))
        if self.retransmissions is not None:
            details.append(plural(*NP_("{count} retransmitted segment", "{count} retransmitted segments"),
                                  count=self.retransmissions))
        if self.totals is not None:
            details.append(Text(N_("totals {totals}"), totals=self.totals))
        return Text(N_("wrote {path}: {packets}, {dropped} dropped by kernel, {seconds:.2f} s ({details})"),
                    path=str(self.pcap), packets=plural(*NP_("{count} packet captured", "{count} packets captured"),
                                                        count=self.packets),
                    dropped=self.dropped, seconds=self.duration, details=details).render(t)


def final_tally(transcript: tuple[OutputLine, ...] | list[OutputLine]) -> tuple[int, str] | None:
    """The VOTED reply with the most votes counted: (votes, "A=3 B=2 C=1"), or None without votes.

    Each VOTED reply carries the whole tally after that vote, so the largest one is the final state.
    """
    best: tuple[int, str] | None = None
    for line in transcript:
        m = _TALLY.match(line.text)
        if m is None:
            continue
        tally = m.group(1).strip()
        count = sum(int(part.split("=")[1]) for part in tally.split())
        if best is None or count > best[0]:
            best = (count, tally)
    return best
