"""tcpdump's pcap stream (``-w -``) copied, as it arrives, into a file and into a reader's pipe."""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import BinaryIO

from capture.errors import CaptureError
from capture.text import N_, Text


class StreamTee:
    """Copy tcpdump's pcap stream, as it arrives, into the partial file and the narrator's stdin.

    The narrator is attached once the client runs (its start-up would otherwise compete with the
    server's and the client's for the CPU, before the first prompt); what arrived before waits
    in memory (a few frames) and is handed on first, in order."""

    def __init__(self, source: BinaryIO, file: Path) -> None:
        self.source, self.path = source, file
        self.narrator: BinaryIO | None = None
        self.backlog: list[bytes] | None = []    # None once handed on (or nobody will read it)
        self.lock = threading.Lock()
        self.ended = False
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="lab-tee", daemon=True)
        self.thread.start()

    def attach(self, narrator: BinaryIO) -> None:
        with self.lock:
            self.narrator = narrator
            pending, self.backlog = self.backlog or [], None
            for chunk in pending:
                self._feed(chunk)
            if self.ended:
                self._close()

    def _run(self) -> None:
        fd = self.source.fileno()
        try:
            with open(self.path, "wb") as pcap:
                while chunk := os.read(fd, 65536):
                    pcap.write(chunk)
                    pcap.flush()
                    with self.lock:
                        if self.backlog is not None:
                            self.backlog.append(chunk)
                        else:
                            self._feed(chunk)
        except OSError as exc:
            self.error = exc
        finally:
            with self.lock:
                self.ended = True
                if self.backlog is None:
                    self._close()

    def _feed(self, chunk: bytes) -> None:
        if self.narrator is None:
            return
        try:
            self.narrator.write(chunk)
            self.narrator.flush()
        except OSError:  # the narrator died: the pcap is still written whole
            self._close()

    def _close(self) -> None:
        """End of stream for the narrator: it prints its summary."""
        if self.narrator is not None:
            try:
                self.narrator.close()
            except OSError:
                pass
            self.narrator = None

    def join(self, timeout: float) -> None:
        self.thread.join(timeout)
        if self.thread.is_alive():
            raise CaptureError(Text(N_("the capture stream into {path} did not end within {seconds:g} s after "
                                       "tcpdump stopped"), path=str(self.path), seconds=timeout))
        if self.error is not None:
            raise CaptureError(Text(N_("writing the capture {path} failed: {error}"), path=str(self.path),
                                    error=str(self.error)))
