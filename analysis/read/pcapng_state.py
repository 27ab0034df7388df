"""The state of a pcapng read, shared by analysis/read/reader.py (CaptureReader.pcapng_block,
which decides every block) and the columnar ChunkReader that calls it between its index kernel's
runs: the current section's byte order and the interfaces' clocks."""
from __future__ import annotations

import struct
from typing import NamedTuple


class BlockStep(NamedTuple):
    """What CaptureReader.pcapng_block found at a position of the buffer."""

    end: int                     # where the next block starts
    need: int                    # > 0: the block needs this many bytes from its start; read on
    damaged: bool                # the file ends here (its warning is recorded)
    frame: tuple | None          # (ts_ns, caplen, wirelen, linktype, interface, data offset)


class PcapngState:
    """Where a pcapng read is: the current section's byte order and interfaces."""

    def __init__(self) -> None:
        self.clocks: list[tuple[int, int, int, int, int]] = []
        # per global interface: (ticks -> ns multiplier, divisor, offset ns, linktype, snaplen)
        self.new_section("<")

    def new_section(self, order: str) -> None:
        self.order = order
        self.block_head = struct.Struct(order + "II")
        self.epb = struct.Struct(order + "IIIII")
        self.epb_whole = struct.Struct(order + "IIIIIII")
        self.tail = struct.Struct(order + "I")         # a block's trailing total length
        self.section: list[int] = []                   # section-local id -> global interface id
        # section-local interface id -> (mul, div, offset ns, linktype, global interface id)
        self.local_clocks: list[tuple[int, int, int, int, int]] = []


def ns_scale(ticks_per_second: int) -> tuple[int, int]:
    """(mul, div) with ns = ticks * mul // div, exact for decimal resolutions up to 1 ns."""
    if 10**9 % ticks_per_second == 0:
        return 10**9 // ticks_per_second, 1
    return 10**9, ticks_per_second
