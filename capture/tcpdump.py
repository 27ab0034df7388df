"""tcpdump on the lab's bridge: started (and confirmed listening) before any host speaks, stopped
with SIGINT after the last FIN, and its closing statistics read back.

The bridge lives in the namespace ``lab-wire``, so tcpdump runs there (`python -m capture.nsexec`,
which execs tcpdump: the PID the run records is tcpdump's own).

tcpdump puts the bridge in promiscuous mode, and a promiscuous Linux bridge passes a copy of every
frame it forwards up to its own device: that is why ``-i lab-br0`` sees host-to-host unicast.
"""
from __future__ import annotations

import re
import shutil
import signal
from dataclasses import dataclass
from pathlib import Path

from capture.errors import CaptureFailedError, MissingToolError
from capture.names import check_kernel_name
from capture.processes import ProcessGroup
from capture.text import N_, Text

_STATS = {
    "captured": re.compile(r"^(\d+) packets? captured"),
    "received": re.compile(r"^(\d+) packets? received by filter"),
    "dropped": re.compile(r"^(\d+) packets? dropped by kernel"),
}


@dataclass(frozen=True)
class CaptureStats:
    """tcpdump's closing report."""

    captured: int
    received: int
    dropped: int


def tcpdump_argv(interface: str, out: Path, tcpdump: str = "tcpdump") -> list[str]:
    """The exact command: full snaplen, a packet-buffered file (-U), no name resolution, no
    buffering in the kernel ring (--immediate-mode, so nothing is left behind at SIGINT), and no
    privilege drop (-Z root: the pcap is chowned to the invoking user afterwards)."""
    check_kernel_name(interface, "interface")
    return [tcpdump, "-i", interface, "-U", "-s", "0", "-n", "--immediate-mode",
            "-Z", "root", "-w", str(out)]


def parse_stats(text: str, interface: str = "?", out: str = "?") -> CaptureStats:
    """Read the 'N packets captured / received by filter / dropped by kernel' lines."""
    values: dict[str, int] = {}
    for line in text.splitlines():
        for key, regex in _STATS.items():
            if (m := regex.match(line.strip())) is not None:
                values[key] = int(m.group(1))
    if set(values) != set(_STATS):
        raise CaptureFailedError(interface, out, Text(N_("tcpdump did not print its packet statistics")))
    return CaptureStats(**values)


def find_tcpdump() -> str:
    path = shutil.which("tcpdump") or next(
        (p for p in ("/usr/sbin/tcpdump", "/usr/bin/tcpdump") if Path(p).exists()), None)
    if path is None:
        raise MissingToolError("tcpdump", "tcpdump")
    return path


class BridgeCapture:
    """One tcpdump process writing ``out`` from ``interface`` in namespace ``netns``."""

    def __init__(self, group: ProcessGroup, interface: str, out: Path, netns: str, timeout: float = 10.0) -> None:
        self.interface, self.out = interface, out
        argv = tcpdump_argv(interface, out, find_tcpdump())
        self.process = group.start("tcpdump", argv, netns=netns)
        try:
            # "listening on" is printed after the socket is bound to the interface: from then on
            # every frame on the bridge lands in the file.
            self.process.wait_for_line(r"listening on " + re.escape(interface), timeout)
        except BaseException:
            self.process.stop(signal.SIGKILL)
            raise

    def stop(self) -> CaptureStats:
        self.process.stop(signal.SIGINT, grace=5.0)
        return parse_stats(self.process.output(), self.interface, str(self.out))
