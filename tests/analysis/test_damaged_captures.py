"""The damaged captures of issue 11, exactly as found, through both engines and the command line:
a pcapng timestamp past what int64 nanoseconds hold, a block whose trailing length differs from
its leading one, a wire length past 2**31, an IPv4-mapped IPv6 address, and `--out` on a capture
without frames. The CLI runs in a subprocess: stderr must be exactly the expected lines.
"""
from __future__ import annotations

import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.read.reader import TS_MAX, TS_MIN
from tests.analysis.columnar.support.crafted_frames import TCP4, V4A, V4B, ethernet, ipv4, ipv6, tcp
from tests.analysis.support.pcapfiles import pcap_bytes, pcapng_block, pcapng_epb, pcapng_idb, pcapng_shb
from tests.analysis.support.fuzz_captures import check_engines_agree as _check

REPO = Path(__file__).resolve().parents[2]
PLAIN = ethernet(0x0800, TCP4)


def run_cli(*args: str) -> subprocess.CompletedProcess:
    # generous: the first --summary of a worktree may compile the kernels
    return subprocess.run([sys.executable, "-m", "analysis", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=300)


def the_issues_80_byte_file(path: Path) -> Path:
    """One EPB with ts_hi 0x400000 (microseconds: the year 2541) and no packet bytes."""
    shb = struct.pack("<IIIHHq", 0x0A0D0D0A, 28, 0x1A2B3C4D, 1, 0, -1) + struct.pack("<I", 28)
    idb = struct.pack("<IIHHI", 1, 20, 1, 0, 0) + struct.pack("<I", 20)
    epb = struct.pack("<IIIIIII", 6, 32, 0, 0x400000, 0, 0, 0) + struct.pack("<I", 32)
    path.write_bytes(shb + idb + epb)
    assert path.stat().st_size == 80
    return path


# -- item 7: timestamps past int64 nanoseconds -------------------------------------------------

def test_a_timestamp_in_2541_is_clamped_alike_in_both_engines(tmp_path):
    path = the_issues_80_byte_file(tmp_path / "y2541.pcapng")
    _, count, rows, _, warnings = _check(path)
    assert count == 1 and rows[0].time == TS_MAX / 1e9
    assert [(w.code, w.frame, w.offset) for w in warnings] == [("timestamp-out-of-range", 1, 48)]
    assert warnings[0].message == (
        f"{path}: frame 1 (byte offset 48) has a timestamp outside 1823-11-12 .. 2116-02-20 "
        "(what the analyzer's nanosecond times hold), set to the nearest of those limits: times and durations "
        "involving it are wrong (the capture's clock or an interface's if_tsoffset is damaged)")


@pytest.mark.parametrize("tsoffset,limit", [(-(2**62), TS_MIN), (2**62, TS_MAX)])
def test_a_huge_if_tsoffset_clamps_every_frame_of_its_interface_only(tmp_path, tsoffset, limit):
    path = tmp_path / "offset.pcapng"
    path.write_bytes(b"".join([pcapng_shb(), pcapng_idb(1, tsoffset=tsoffset), pcapng_idb(1)]
                              + [pcapng_epb(i % 2, 10**15 + i, PLAIN) for i in range(5)]))
    _, count, rows, _, warnings = _check(path)
    assert count == 5
    assert [r.time for r in rows[::2]] == [limit / 1e9] * 3
    assert [r.time for r in rows[1::2]] == [(10**15 + 1) * 1000 / 1e9, (10**15 + 3) * 1000 / 1e9]
    assert [(w.code, w.frame) for w in warnings] == [("timestamp-out-of-range", 1)]
    assert "3 frames, the first frame 1 (byte offset " in warnings[0].message


def test_one_connection_between_both_limits_has_the_same_duration_in_both_engines(tmp_path):
    """Found by make fuzz: frames clamped to opposite limits in one connection. With limits at
    int64's own ends their difference wrapped around in the columnar kernels (a duration of
    1 ns against the per-frame engine's -584 years); at +-2**62 it fits."""
    path = tmp_path / "both-limits.pcapng"
    path.write_bytes(b"".join([pcapng_shb(), pcapng_idb(1, tsoffset=2**62), pcapng_idb(1, tsoffset=-2**62)]
                              + [pcapng_epb(i % 2, i, PLAIN) for i in range(4)]))
    _, count, rows, conns, _ = _check(path)
    assert count == 4 and len(conns) == 1
    assert conns[0].duration == (TS_MIN - TS_MAX) / 1e9 and rows[1].rel_time == (TS_MIN - TS_MAX) / 1e9


def test_the_cli_reads_the_80_byte_file_with_one_warning_line_in_both_engines(tmp_path):
    path = the_issues_80_byte_file(tmp_path / "y2541.pcapng")
    line = (f"warning: {path}: frame 1 (byte offset 48) has a timestamp outside 1823-11-12 .. "
            "2116-02-20 (what the analyzer's nanosecond times hold), set to the nearest of those limits: "
            "times and durations involving it are wrong (the capture's clock or an interface's "
            "if_tsoffset is damaged)\n")
    for extra in ([], ["--summary"]):
        run = run_cli(str(path), *extra)
        assert (run.returncode, run.stderr) == (0, line), extra
        assert "1 frames" in run.stdout or "1 frame" in run.stdout


# -- item 8: trailing block length differs from the leading one ---------------------------------

def mismatched(path: Path, order: str = "<", which: int = 1) -> Path:
    """Three EPBs; the trailing total length of EPB `which` (0-based) says 4 bytes more."""
    blocks = [pcapng_shb(order), pcapng_idb(1, order=order)]
    blocks += [bytearray(pcapng_epb(0, 1_000_000 * (i + 1), PLAIN, order=order)) for i in range(3)]
    epb = blocks[2 + which]
    struct.pack_into(order + "I", epb, len(epb) - 4, len(epb) + 4)
    path.write_bytes(b"".join(bytes(b) for b in blocks))
    return path


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("which", [0, 1, 2])
def test_a_trailing_length_mismatch_ends_the_file_there_with_a_warning(tmp_path, order, which):
    path = mismatched(tmp_path / "mismatch.pcapng", order, which)
    _, count, rows, _, warnings = _check(path)
    offset = 28 + 20 + which * (32 + len(PLAIN) + (-len(PLAIN) % 4))
    assert count == which and [r.number for r in rows] == list(range(1, which + 1))
    assert [(w.code, w.frame, w.offset) for w in warnings] == [("damaged-block", which + 1, offset)]
    length = 32 + len(PLAIN) + (-len(PLAIN) % 4)
    assert warnings[0].message == (
        f"{path}: the block at byte offset {offset} is damaged: its total length is {length} at "
        f"its start and {length + 4} at its end (tshark: total block lengths don't match); the "
        f"{which} whole frames before it were read, nothing after it")


def test_a_damaged_section_header_or_interface_block_is_caught_too(tmp_path):
    for index in (0, 1):           # the SHB, the IDB
        blocks = [bytearray(pcapng_shb()), bytearray(pcapng_idb(1)),
                  bytearray(pcapng_epb(0, 5, PLAIN))]
        struct.pack_into("<I", blocks[index], len(blocks[index]) - 4, 0)
        path = tmp_path / f"damaged{index}.pcapng"
        path.write_bytes(b"".join(bytes(b) for b in blocks))
        _, count, _, _, warnings = _check(path)
        assert count == 0 and [w.code for w in warnings] == ["damaged-block"]


def test_tshark_stops_at_the_same_block(tmp_path):
    assert shutil.which("tshark"), "tshark is the reference here: make tools-test installs it"
    path = mismatched(tmp_path / "mismatch.pcapng", "<", 1)
    run = subprocess.run(["tshark", "-r", str(path)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "don't match" in run.stderr
    assert len(run.stdout.splitlines()) == 1 == _check(path)[1]


def test_the_cli_warns_in_one_line_and_keeps_the_frames_before_it(tmp_path):
    path = mismatched(tmp_path / "mismatch.pcapng", "<", 1)
    offset = 28 + 20 + 32 + len(PLAIN) + (-len(PLAIN) % 4)
    for extra in ([], ["--summary"]):
        run = run_cli(str(path), *extra)
        assert run.returncode == 0 and run.stderr.count("\n") == 1, (extra, run.stderr)
        assert run.stderr.startswith(f"warning: {path}: the block at byte offset {offset} is damaged")
        assert "1 frames" in run.stdout or "1 frame" in run.stdout


# -- what the property-based test found besides ---------------------------------------------------

def test_a_wire_length_past_2_31_with_an_unset_ipv4_length(tmp_path):
    """IPv4 total length 0 (TSO) takes the payload length from the wire length: up to 2**32 - 1,
    more than the columns' int32 used to hold (OverflowError in fill_from_frame)."""
    frame = ethernet(0x0800, ipv4(6, tcp(V4A, V4B), total=0))
    path = tmp_path / "tso.pcap"
    path.write_bytes(pcap_bytes([(10**18, PLAIN), (10**18, frame, 2**32 - 1), (10**18, PLAIN)]))
    _, count, rows, _, _ = _check(path)
    assert count == 3 and rows[1].payload_len == 2**32 - 1 - 14 - 20 - 20


def test_ipv4_mapped_and_compatible_ipv6_addresses_are_spelled_as_tshark_does(tmp_path):
    mapped = bytes(10) + b"\xff\xff" + V4A
    compatible = bytes(12) + V4B
    frames = []
    for src, dst in ((mapped, compatible), (compatible, mapped)):
        seg = tcp(src, dst, v6=True, flags=0x02, payload=b"")
        packet = bytearray(ipv6(6, seg))
        packet[8:40] = src + dst
        frames.append((10**18, ethernet(0x86DD, bytes(packet))))
    path = tmp_path / "mapped.pcap"
    path.write_bytes(pcap_bytes(frames))
    _, count, _, conns, _ = _check(path)
    assert count == 2 and conns[0].orig_ip == "::ffff:10.0.0.1" and conns[0].resp_ip == "::192.168.7.200"


# -- item 9: --out on a capture without frames -----------------------------------------------------

@pytest.mark.parametrize("kind", ["pcap", "pcapng"])
def test_out_on_a_capture_without_frames_prints_exactly_the_wrote_line(tmp_path, kind):
    path = tmp_path / f"empty.{kind}"
    path.write_bytes(pcap_bytes([]) if kind == "pcap" else pcapng_shb() + pcapng_idb(1))
    out = tmp_path / "report"
    run = run_cli(str(path), "--out", str(out))
    names = ["analysis.json", "frames.csv", "report.txt", "report.html", "report.md"]
    assert (run.returncode, run.stderr) == (0, f"wrote {', '.join(str(out / n) for n in names)}\n")
    assert sorted(p.name for p in out.iterdir()) == sorted(names)
    assert "0 frames" in (out / "report.md").read_text()
    run = run_cli(str(path), "--summary", "--out", str(tmp_path / "summary"))
    assert (run.returncode, run.stderr) == (
        0, f"wrote {tmp_path / 'summary' / 'summary.txt'}, {tmp_path / 'summary' / 'summary.json'}, "
           f"{tmp_path / 'summary' / 'connections.csv'}\n")


def test_figures_of_an_empty_capture_draw_without_a_warning(tmp_path):
    import warnings

    from analysis import analyze
    from analysis.figures.render import figure_png, ladder, phase_timeline, report_figures

    path = tmp_path / "empty.pcap"
    path.write_bytes(pcap_bytes([]))
    result = analyze(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert report_figures(result) == []
        assert figure_png(ladder(result)).startswith(b"\x89PNG")
        assert figure_png(phase_timeline(result)).startswith(b"\x89PNG")
