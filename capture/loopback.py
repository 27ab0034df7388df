"""The lab on loopback, captured by tcpdump: no namespaces, no bridge, only 127.0.0.1.

    pcap = capture_loopback(Path("lo.pcap"), talk)      # talk(port) runs the clients

Starts ``python -m lab.server`` on 127.0.0.1 on a port the kernel picks (the server announces it,
so nothing probes the port and no probe is in the capture), then tcpdump on ``lo`` filtered to
that port, runs ``talk(port)``, and stops tcpdump and the server by PID - also when ``talk``
fails or on Ctrl-C. The capture is written beside ``out`` under a hidden name and renamed to
``out`` only when the run succeeded, so a failed run leaves an earlier file as it was.

Loopback frames are Ethernet with zero MAC addresses, their TCP checksums are left to the
offload that never happens (analyse with ``-C``), and there is no ARP: for the lab's full
picture, use the netns backend. The analyzer's tests and the benchmark's fallback base capture
both use this (one helper, in the package both may import).
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from capture.errors import CaptureFailedError, LabProcessError, MissingToolError
from capture.text import N_, Text
from capture.processes import _child_env, python_module

HOST = "127.0.0.1"
READY_TIMEOUT = 15.0       # seconds for the server's and tcpdump's first line
SETTLE = 0.4               # seconds after talk(): the teardown's last ACK reaches the capture
_LISTENING = re.compile(r"Server listening on 127\.0\.0\.1:(\d+)")
_DROPPED = re.compile(r"(\d+) packets? dropped by kernel")


LOOPBACK = Text(N_("the root namespace (loopback)"))

@dataclass(frozen=True)
class LoopbackCapture:
    pcap: Path
    port: int
    dropped: int           # packets tcpdump says the kernel dropped (0 on a quiet machine)


def _first_line(proc: subprocess.Popen, stream, role: str, timeout: float) -> str:
    """The first line `proc` writes on `stream`, within `timeout` (else LabProcessError)."""
    box: list[str] = []

    def read() -> None:
        try:
            box.append(stream.readline())
        except (OSError, ValueError):       # closed under us: the process is being stopped
            pass
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)
    if not box or not box[0]:
        why = (Text(N_("exited with status {code}"), code=proc.poll()) if proc.poll() is not None
               else Text(N_("said nothing within {seconds:g} s"), seconds=timeout))
        raise LabProcessError(role, LOOPBACK, why)
    return box[0]


def _drain(stream) -> None:
    """Keep reading a pipe we no longer need, so its writer never blocks on a full pipe."""
    def read() -> None:
        try:
            for _ in stream:
                pass
        except (OSError, ValueError):
            pass
    threading.Thread(target=read, daemon=True).start()


def _stop(proc: subprocess.Popen | None, sig: int) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def capture_loopback(out: str | os.PathLike, talk: Callable[[int], None], *,
                     buffer_kib: int | None = None, server_args: tuple[str, ...] = ("--store", "memory")) -> LoopbackCapture:
    """Run the lab server, capture it on loopback while `talk(port)` runs; see the module doc.
    `buffer_kib`: tcpdump's -B (a long run of many connections wants more than the default)."""
    if shutil.which("tcpdump") is None:
        raise MissingToolError("tcpdump", "tcpdump")
    out = Path(out)
    part = out.with_name(f".{out.name}.{os.getpid()}.part")
    server = dump = None
    stats = ""
    try:
        server = subprocess.Popen(python_module("lab.server", "--host", HOST, "--port", "0", *server_args),
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                  env=_child_env())
        found = _LISTENING.search(_first_line(server, server.stdout, "lab.server", READY_TIMEOUT))
        if not found:
            raise LabProcessError("lab.server", LOOPBACK, Text(N_("did not say where it listens")))
        _drain(server.stdout)
        port = int(found.group(1))
        # -Z root: tcpdump would otherwise drop to its own user, who may not write beside `out`;
        # --immediate-mode: packets still in the ring when tcpdump gets SIGINT are written too.
        argv = ["tcpdump", "-Z", "root", "--immediate-mode", "-i", "lo", "-U", "-s", "0", "-n",
                *(("-B", str(buffer_kib)) if buffer_kib else ()), "-w", str(part), "tcp", "port", str(port)]
        dump = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        line = _first_line(dump, dump.stderr, "tcpdump", READY_TIMEOUT)
        if "listening" not in line:
            raise LabProcessError("tcpdump", "lo", Text(N_("did not start")), line)
        talk(port)
        threading.Event().wait(SETTLE)
        _stop(dump, signal.SIGINT)
        stats = dump.stderr.read()
        if dump.returncode != 0:
            raise CaptureFailedError("lo", str(out), Text(N_("tcpdump exited with status {code}: {output}"),
                                                          code=dump.returncode, output=stats.strip()[-200:]))
        dropped = _DROPPED.search(stats)
        os.replace(part, out)
        return LoopbackCapture(out, port, int(dropped.group(1)) if dropped else 0)
    finally:
        _stop(dump, signal.SIGINT)
        _stop(server, signal.SIGTERM)
        for proc in (dump, server):
            for stream in (proc.stdout, proc.stderr) if proc is not None else ():
                if stream is not None:
                    stream.close()
        part.unlink(missing_ok=True)
