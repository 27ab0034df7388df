"""The server's log sink: a stdout nobody reads never blocks the loop; dropped lines are counted,
reported in place once the reader is back, and everything else arrives in order."""
from __future__ import annotations

import asyncio
import os
import re
import threading
import time

from lab.logsink import LogSink


def test_lines_are_dropped_not_waited_for_and_the_count_is_reported_when_stdout_drains():
    r, w = os.pipe()
    try:
        async def main() -> tuple[LogSink, float]:
            sink = LogSink(asyncio.get_running_loop(), w, name="stdout", limit=50_000)
            slowest = 0.0
            for turn in range(200):              # 2 MB through a 64 KiB pipe nobody reads yet
                t = time.monotonic()
                for i in range(100):
                    sink(f"line {turn:03d}-{i:02d} " + "x" * 80)
                await asyncio.sleep(0)           # the end of a loop turn: lines go to the writer
                slowest = max(slowest, time.monotonic() - t)
            return sink, slowest

        sink, slowest = asyncio.run(main())
        assert slowest < 0.5, "the loop waited for the pipe"
        assert sink.dropped_total > 0
        chunks: list[bytes] = []
        reader = threading.Thread(target=lambda: chunks.extend(iter(lambda: os.read(r, 65536), b"")))
        reader.start()
        assert sink.close(10) == 0               # everything kept was written once the pipe drained
    finally:
        os.close(w)
    reader.join(10)
    os.close(r)
    lines = b"".join(chunks).decode().splitlines()
    notes = [line for line in lines if line.startswith("...")]
    kept = [line for line in lines if not line.startswith("...")]
    assert sum(int(re.fullmatch(r"\.\.\. (\d+) log lines dropped \(stdout not read\)", n).group(1))
               for n in notes) == sink.dropped_total
    assert len(kept) + sink.dropped_total == 200 * 100
    assert kept == sorted(kept)                  # in order, whole lines only
    assert kept[0].startswith("line 000-00 ")


def test_close_gives_up_after_its_timeout_when_nobody_ever_reads():
    r, w = os.pipe()
    try:
        async def main() -> tuple[int, float]:
            sink = LogSink(asyncio.get_running_loop(), w, limit=100_000)
            for _ in range(100):                 # 20 MB: more than the pipe holds
                for _ in range(20):
                    sink("y" * 10_000)
                await asyncio.sleep(0)
            t = time.monotonic()
            return sink.close(0.2), time.monotonic() - t

        unwritten, took = asyncio.run(main())
        assert unwritten > 0
        assert took < 2
    finally:
        os.close(w)
        os.close(r)
