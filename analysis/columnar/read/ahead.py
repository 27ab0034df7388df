"""Read ahead: the next chunk is read and decoded on a second thread while the caller works on
this one.

    slots = Slots(threaded=True)
    for cols, data, slot, made, done in run_ahead(produce(), slots):   # produce: a ChunkReader loop
        ...                                   # the caller's stages on chunk (cols, data)
        slots.release(slot)                   # done with it: the producer may write there again

The read stage (readinto, the index kernel, the decode kernel) and the stages after it (tcp, conn,
labels, exchanges) are numba kernels compiled with nogil=True, so on two cores they run at the
same time: a chunk costs the longer of the two instead of their sum. The producer writes a chunk's
columns into one of two slots and its bytes into one of two read buffers; before it writes a slot
or refills a buffer again it waits until the caller has released every chunk that points there.
So a chunk stays valid until the caller asks for the next one, as when nothing reads ahead.

Without a thread (threaded=False, one core, or the caller asks) the same bookkeeping runs in
line: the caller always releases a chunk before the producer resumes, so no wait ever blocks.
"""
from __future__ import annotations

import os
import queue
import threading
from collections.abc import Iterator

SLOTS = 2                  # the chunk the caller holds and the one being read


def cores_available() -> int:
    """CPUs this process may run on (a container's or taskset's limit, not the machine's)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


class Stopped(Exception):
    """The caller stopped reading: the producer ends where it waits."""


class Slots:
    """Which slot and which read buffer each chunk the caller still holds points into."""

    def __init__(self, threaded: bool) -> None:
        self.threaded = threaded
        self._held: list[object | None] = [None] * SLOTS   # slot k -> its chunk's buffer, or None
        self._cond = threading.Condition()
        self._stopped = False

    def claim(self, slot: int) -> None:
        """Producer: wait until the chunk in `slot` is released."""
        self._wait(lambda: self._held[slot] is None)

    def claim_buffer(self, buf: object) -> None:
        """Producer: wait until no chunk the caller holds points into `buf`."""
        self._wait(lambda: all(held is not buf for held in self._held))

    def hand_over(self, slot: int, buf: object) -> None:
        """Producer: `slot` now holds a chunk whose bytes are in `buf`."""
        with self._cond:
            self._held[slot] = buf

    def release(self, slot: int) -> None:
        """Caller: done with the chunk in `slot`."""
        with self._cond:
            self._held[slot] = None
            self._cond.notify_all()

    def stop(self) -> None:
        """Caller: no more chunks wanted; a producer waiting (or about to) raises Stopped."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    def _wait(self, free) -> None:
        with self._cond:
            if not self.threaded and not free():
                # in line, the caller releases before the producer resumes: this is a bug
                raise RuntimeError("read-ahead slot still held with no thread to release it")
            while not free():
                if self._stopped:
                    raise Stopped
                self._cond.wait()
            if self._stopped:
                raise Stopped


def run_ahead(chunks: Iterator, slots: Slots) -> Iterator:
    """The items of `chunks`, produced on a second thread one chunk ahead of the caller.

    An exception the producer raises is raised here after the items before it; closing this
    generator (or an exception in the caller) stops the producer and joins its thread."""
    items: queue.SimpleQueue = queue.SimpleQueue()    # unbounded: the slots hold the producer back
    end = object()

    def produce() -> None:
        try:
            for item in chunks:
                items.put((item, None))
            items.put((end, None))
        except Stopped:
            pass
        except BaseException as exc:      # raised again on the caller's thread, in order
            items.put((end, exc))

    thread = threading.Thread(target=produce, name="reqresp-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            item, error = items.get()
            if item is end:
                if error is not None:
                    raise error
                return
            yield item
    finally:
        slots.stop()
        thread.join()
