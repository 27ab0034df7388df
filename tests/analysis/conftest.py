"""Shared fixtures for the analyzer's tests: the conformance set and its truth.

The conformance set lives beside the repository (`<repo>/../shared/conformance`, which is how CI
clones it) or wherever REQRESP_CONFORMANCE points.  If it is missing the conformance tests FAIL:
a missing truth must never turn into a quietly green run.

    def test_something(conformance_name, conformance_dir):    # runs once per capture
        truth = load_truth(conformance_dir, conformance_name)

or, for a single capture, `conformance_truth("zeek_http_get.pcap")` via the fixture of that name.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.analysis.truth import Truth, load_truth

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFORMANCE_DIR = Path(os.environ.get("REQRESP_CONFORMANCE")
                       or REPO_ROOT.parent / "shared" / "conformance")
# Stands in for the capture list when the set is missing, so the parametrized tests still run
# (and fail in the conformance_dir fixture) instead of being collected as an empty, skipped set.
MISSING = "<conformance set missing>"


def _names() -> list[str]:
    pcaps = CONFORMANCE_DIR / "pcaps"
    if not pcaps.is_dir():
        return [MISSING]
    return sorted(p.name for p in pcaps.iterdir() if p.is_file())


conformance_names: list[str] = _names()


@pytest.fixture(scope="session")
def conformance_dir() -> Path:
    if not (CONFORMANCE_DIR / "pcaps").is_dir() or not (CONFORMANCE_DIR / "truth").is_dir():
        pytest.fail(f"conformance set not found at {CONFORMANCE_DIR} (set REQRESP_CONFORMANCE, "
                    "or clone shared/ beside the repository)")
    return CONFORMANCE_DIR


@pytest.fixture(params=conformance_names)
def conformance_name(request, conformance_dir) -> str:
    """One capture's file name (e.g. 'zeek_http_get.pcap'); parametrizes a test over the set."""
    return request.param


@pytest.fixture(scope="session")
def conformance_truth(conformance_dir):
    """`conformance_truth(name) -> Truth`, cached for the session."""
    cache: dict[str, Truth] = {}

    def get(name: str) -> Truth:
        if name not in cache:
            cache[name] = load_truth(conformance_dir, name)
        return cache[name]

    return get


# -- crafted captures, written at test time ------------------------------------------------------
# Small, explicit writers (the test states every byte that matters) for container variants scapy's
# writers cannot produce: pcapng with several IDBs, if_tsresol / if_tsoffset, big-endian sections,
# SPB / obsolete PB blocks, the modified-pcap magic.  Frame bytes come from scapy in the tests.

def pcap_bytes(frames, *, linktype=1, order="<", nano=False, snaplen=65535, modified=False) -> bytes:
    """A classic pcap file.  `frames`: iterable of (ts_ns, data) or (ts_ns, data, wirelen)."""
    import struct
    magic = 0xA1B2CD34 if modified else (0xA1B23C4D if nano else 0xA1B2C3D4)
    out = [struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype)]
    for frame in frames:
        ts_ns, data = frame[0], bytes(frame[1])
        wirelen = frame[2] if len(frame) > 2 else len(data)
        frac = ts_ns % 10**9 if nano else (ts_ns % 10**9) // 1000
        out.append(struct.pack(order + "IIII", ts_ns // 10**9, frac, len(data), wirelen))
        if modified:
            out.append(struct.pack(order + "iHBx", 3, 0x0800, 0))
        out.append(data)
    return b"".join(out)


def pcapng_block(btype: int, body: bytes, order: str = "<") -> bytes:
    import struct
    body = body + b"\0" * (-len(body) % 4)
    return struct.pack(order + "II", btype, 12 + len(body)) + body + struct.pack(order + "I", 12 + len(body))


def pcapng_option(code: int, value: bytes, order: str = "<") -> bytes:
    import struct
    return struct.pack(order + "HH", code, len(value)) + value + b"\0" * (-len(value) % 4)


def pcapng_shb(order: str = "<") -> bytes:
    import struct
    return pcapng_block(0x0A0D0D0A, struct.pack(order + "IHHq", 0x1A2B3C4D, 1, 0, -1), order)


def pcapng_idb(linktype: int = 1, *, snaplen: int = 262144, tsresol: int | None = None,
               tsoffset: int | None = None, order: str = "<") -> bytes:
    import struct
    options = b""
    if tsresol is not None:
        options += pcapng_option(9, bytes([tsresol]), order)
    if tsoffset is not None:
        options += pcapng_option(14, struct.pack(order + "q", tsoffset), order)
    if options:
        options += pcapng_option(0, b"", order)
    return pcapng_block(1, struct.pack(order + "HHI", linktype, 0, snaplen) + options, order)


def pcapng_epb(interface: int, ticks: int, data: bytes, wirelen: int | None = None,
               order: str = "<") -> bytes:
    import struct
    data = bytes(data)
    head = struct.pack(order + "IIIII", interface, ticks >> 32, ticks & 0xFFFFFFFF, len(data),
                       len(data) if wirelen is None else wirelen)
    return pcapng_block(6, head + data, order)


# The captures shipped with the notebook (made by `make capture` and the capture API), analysed
# once per session for the figure, question and report tests.
SHIPPED_CAPTURES = REPO_ROOT / "notebooks" / "data"


def _shipped(name: str):
    from analysis import analyze

    return analyze(SHIPPED_CAPTURES / name)


@pytest.fixture(scope="session")
def default():
    """The `default` scenario's capture (notebooks/data/reqresp.pcap), analysed."""
    return _shipped("reqresp.pcap")


@pytest.fixture(scope="session")
def lossy():
    """The `lossy` scenario's capture, analysed."""
    return _shipped("lossy.pcap")


@pytest.fixture(scope="session")
def refused():
    """The `refused` scenario's capture, analysed."""
    return _shipped("refused.pcap")


# -- a real browser (tests/analysis/support/browser.py) --------------------------------------------------

@pytest.fixture(scope="session")
def browser():
    """Headless Chromium driven by selenium with the system's chromedriver (never downloaded)."""
    from tests.analysis.support.browser import CHROMEDRIVER, CHROMIUM, chromium

    if not (CHROMIUM and CHROMEDRIVER):
        pytest.fail("chromium / chromedriver not installed (make tools-test installs them)")
    with chromium() as driver:
        yield driver
