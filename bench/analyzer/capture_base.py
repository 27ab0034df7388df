"""The benchmark's base capture: a real lab capture, made by the capture package (one run per
scenario, concatenated in time) or, as a fallback, by tcpdump on loopback around lab.server and
many short lab sessions of echo and votes."""
from __future__ import annotations

import os
import random
import struct
import subprocess
import sys
from pathlib import Path

from bench.analyzer.inputs import pcap_header, read_pcap


def _sessions(port: int, connections: int, seed: int) -> None:
    """Many short connections of echo and votes, with deterministic content (seeded)."""
    from lab.session import ClientConfig, Session

    rng = random.Random(seed)
    config = ClientConfig(host="127.0.0.1", port=port, retries=2, timeout=5.0)
    for n in range(connections):
        session = Session(config)
        for _ in range(rng.randint(1, 3)):
            session.ask(f"hello {n} " + "x" * rng.randint(0, 40))
        if rng.random() < 0.7:
            session.vote(rng.choice("ABC"), vote_id=f"bench{seed}-{n:06d}")
        if rng.random() < 0.3:
            session.ask("RESULTS")
        session.close()


def loopback_capture(out: str | os.PathLike, connections: int = 200, seed: int = 6) -> Path:
    """A real capture of the lab server and client on loopback (capture.loopback: tcpdump -i lo
    on a port of the server's own, the helper the analyzer's tests use too).

    (The fallback while `python -m capture` cannot make one: loopback frames are Ethernet with zero
    MAC addresses and offloaded checksums, and there is no ARP.)"""
    from capture.loopback import capture_loopback

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    # 256 MiB: 18,000 connections on a loaded machine overran 16 MiB and 64 MiB (tcpdump dropped
    # packets); tcpdump holds the ring only for the ~10 s of the capture
    made = capture_loopback(out, lambda port: _sessions(port, connections, seed), buffer_kib=262144)
    if made.dropped:
        raise RuntimeError(f"tcpdump dropped {made.dropped} packets; run again on a quieter machine")
    return made.pcap


def capture_package_ready() -> bool:
    """`python -m capture` exists and we can run it (root, for the network namespaces)."""
    pkg = Path(__file__).resolve().parents[2] / "capture"
    return (pkg / "__main__.py").exists() and hasattr(os, "geteuid") and os.geteuid() == 0


def lab_capture(out: str | os.PathLike, scenario: str) -> Path:
    """A capture made by the capture package (network namespaces on a bridge)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([sys.executable, "-m", "capture", "--scenario", scenario, "--out", str(out)],
                          capture_output=True, text=True, timeout=300)
    if done.returncode != 0 or not out.exists():
        raise RuntimeError(f"python -m capture --scenario {scenario} failed ({done.returncode}): "
                           f"{(done.stderr or done.stdout).strip()[-300:]}")
    return out


def concatenate(parts: list[Path], out: str | os.PathLike, gap_ns: int = 1_000_000_000) -> Path:
    """One pcap of several captures one after another (each starts `gap_ns` after the previous
    one ended), so one base holds every scenario's connections."""
    caps = [read_pcap(p) for p in parts]
    linktypes = {c.linktype for c in caps}
    if len(linktypes) != 1:
        raise ValueError(f"captures with different link types {sorted(linktypes)}")
    with open(out, "wb") as f:
        f.write(pcap_header(caps[0].linktype, max(c.snaplen for c in caps)))
        next_start = None
        for cap in caps:
            if not cap.records:
                continue
            shift = 0 if next_start is None else next_start - cap.records[0].ts_ns
            for r in cap.records:
                ts = r.ts_ns + shift
                f.write(struct.pack("<IIII", ts // 1_000_000_000, ts % 1_000_000_000, len(r.data),
                                    r.wirelen) + r.data)
            next_start = cap.records[-1].ts_ns + shift + gap_ns
    return Path(out)


# the capture package's scenarios that make the base: every kind of connection the lab has
# (echo, votes, several clients, a reset, a refused connection, retransmissions on a lossy link)
LAB_SCENARIOS = ("default", "echo", "vote", "multi", "reset", "refused", "lossy")


def base_capture(out: str | os.PathLike, source: str = "auto",
                 scenarios: tuple[str, ...] = LAB_SCENARIOS,
                 connections: int = 200) -> tuple[Path, str]:
    """Make the base capture; returns (path, how it was made).

    `capture` (or `auto` when the capture package is ready): one `python -m capture` run per
    scenario, concatenated in time; a scenario that fails (lossy may find no loss) is left out.
    `loopback`: lab.server and `connections` lab sessions on loopback."""
    out = Path(out)
    if source in ("auto", "capture") and capture_package_ready():
        parts, made, failed = [], [], []
        for name in scenarios:
            part = out.with_name(f"{out.stem}-{name}.pcap")
            try:
                parts.append(lab_capture(part, name))
                made.append(name)
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                failed.append(f"{name} ({str(exc)[:80]})")
        if parts:
            concatenate(parts, out)
            for part in parts:
                part.unlink()
            how = f"python -m capture, scenarios {', '.join(made)} concatenated"
            return out, how + (f"; failed: {'; '.join(failed)}" if failed else "")
        if source == "capture":
            raise RuntimeError(f"every capture scenario failed: {'; '.join(failed)}")
    if source == "capture":
        raise RuntimeError("the capture package is not ready (no capture/__main__.py, or not root)")
    return loopback_capture(out, connections), f"loopback (tcpdump -i lo, lab.server + {connections} lab sessions)"
