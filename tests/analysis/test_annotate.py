"""--annotate: the capture as pcapng with our comments, every original byte and timestamp kept.

Checked two ways: our reader on input and output (each record's time in ns, lengths, link type,
interface, bytes; each interface's link type, snaplen, resolution, offset), and tshark
(frame.time_epoch, lengths, the frame's MD5, and the comments it shows)."""
from __future__ import annotations

import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

import analysis.report.annotate as annotate_module
from analysis import analyze, i18n
from analysis.errors import AnalysisError
from analysis.read.reader import CaptureReader
from analysis.report.annotate import annotate, frame_comment
from tests.analysis.support.conformance import (CONFORMANCE_DIR, REPO_ROOT, SHIPPED_CAPTURES,
                                               conformance_names)
from tests.analysis.support.english import english_left, untranslated_items
from tests.analysis.support.pcapfiles import (pcap_bytes, pcapng_block, pcapng_epb, pcapng_idb,
                                              pcapng_option, pcapng_shb)

TSHARK = shutil.which("tshark")
needs_tshark = pytest.mark.skipif(TSHARK is None, reason="tshark is not installed")
LAB = sorted(p.name for p in SHIPPED_CAPTURES.glob("*.pcap"))
TSHARK_FIELDS = ("frame.number", "frame.time_epoch", "frame.len", "frame.cap_len",
                 "frame.interface_id", "frame.md5_hash")


def _records(path: Path) -> tuple[list[tuple], list[tuple]]:
    reader = CaptureReader(path)
    records = [(r.number, r.ts_ns, r.caplen, r.wirelen, r.linktype, r.interface, bytes(r.data))
               for r in reader.records()]
    return records, [tuple(i) for i in reader.interfaces]


def _tshark(path: Path, *args: str) -> list[list[str]]:
    fields = [a for f in TSHARK_FIELDS for a in ("-e", f)]
    out = subprocess.run([TSHARK, "-n", "-r", str(path), "-o", "frame.generate_md5_hash:TRUE",
                          "-T", "fields", *fields, *args], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    rows = [line.split("\t") for line in out.splitlines()]
    for row in rows:               # a pcap has no interfaces: tshark shows no id; ours is 0
        row[4] = row[4] or "0"
    return rows


def _selected(path: Path, display_filter: str) -> list[int]:
    out = subprocess.run([TSHARK, "-n", "-r", str(path), "-Y", display_filter, "-T", "fields",
                          "-e", "frame.number"], capture_output=True, text=True, check=True,
                         timeout=60).stdout
    return [int(n) for n in out.split()]


def _check_same_frames(source: Path, out: Path) -> None:
    result = analyze(source)
    written = annotate(result, out)
    assert written.frames == len(result.frames)
    before, before_ifaces = _records(source)
    after, after_ifaces = _records(out)
    assert after == before
    assert after_ifaces == before_ifaces
    assert CaptureReader(out).format == "pcapng"


def _capture(name: str) -> Path:
    return CONFORMANCE_DIR / "pcaps" / name


@pytest.mark.parametrize("name", conformance_names)
def test_conformance_frames_kept(name, conformance_dir, tmp_path):
    _check_same_frames(_capture(name), tmp_path / "out.pcapng")


@pytest.mark.parametrize("name", LAB)
def test_lab_frames_kept(name, tmp_path):
    _check_same_frames(SHIPPED_CAPTURES / name, tmp_path / "out.pcapng")


@needs_tshark
@pytest.mark.parametrize("source", [*(SHIPPED_CAPTURES / n for n in LAB),
                                    *(CONFORMANCE_DIR / "pcaps" / n for n in conformance_names)],
                         ids=lambda p: p.name)
def test_tshark_sees_the_same_frames_and_our_comments(source, tmp_path):
    out = tmp_path / "out.pcapng"
    result = analyze(source)
    annotate(result, out)
    before = _tshark(source)
    after = _tshark(out, "-e", "frame.comment")
    assert [row[:-1] for row in after] == before          # times, lengths, interface, MD5
    assert [row[-1] for row in after] == [frame_comment(f) for f in result.frames]
    handshake = [f.number for f in result.frames if f.phase == "handshake"]
    assert _selected(out, 'frame.comment contains "handshake"') == handshake
    assert _selected(out, 'frame.comment contains "phase=data"') == \
        [f.number for f in result.frames if f.phase == "data"]


@needs_tshark
def test_default_capture_selection_and_summary(default, tmp_path):
    out = tmp_path / "out.pcapng"
    annotate(default, out)
    assert _selected(out, 'frame.comment contains "handshake"') == [3, 4, 5]
    info = subprocess.run(["capinfos", str(out)], capture_output=True, text=True,
                          timeout=60).stdout if shutil.which("capinfos") else ""
    conn = default.connections[0]
    summary = annotate_module.section_comment(default)
    assert f"conn_state {conn.conn_state}" in summary and "closed first" in summary
    assert f"{len(default.exchanges)} request/response exchanges" in summary
    assert f"{len(default.exchanges)} exchanges, {conn.orig_pkts + conn.resp_pkts} frames" in summary
    if info:
        assert "Capture comment:" in info and "conn_state SF" in info


@needs_tshark
@pytest.mark.parametrize("name", ["reqresp.pcap", "lossy.pcap", "refused.pcap"])
def test_comments_in_indonesian_select_the_same_frames(name, tmp_path):
    """--annotate in Indonesian: the explanations and the summary translated, no English sentence
    left; the head (phase=, label=) and the vocabulary's names as in English, so the same
    frame.comment filters select the same frames in both languages."""
    result = analyze(SHIPPED_CAPTURES / name)
    out = {lang: tmp_path / f"{lang}.pcapng" for lang in ("en", "id")}
    written = {lang: annotate(result, out[lang], lang=lang) for lang in out}
    t = i18n.translation("id")
    comments = [row[-1] for row in _tshark(out["id"], "-e", "frame.comment")]
    assert comments == [frame_comment(f, t) for f in result.frames]
    assert comments != [frame_comment(f) for f in result.frames]
    assert [c.split(" | ")[0] for c in comments] == [frame_comment(f).split(" | ")[0] for f in result.frames]
    keep = untranslated_items(result)
    assert english_left("\n".join(comments), keep) == []
    assert english_left(written["id"].section_comment, keep) == []
    assert {"the", "of"} & set(english_left("\n".join(frame_comment(f) for f in result.frames), keep))
    assert written["id"].section_comment.startswith(f"analisis reqresp-lab atas {name}: ")
    for text in ('frame.comment contains "handshake"', 'frame.comment contains "phase=data"',
                 'frame.comment contains "label=syn-ack"', 'frame.comment contains "teardown"'):
        selected = {lang: _selected(path, text) for lang, path in out.items()}
        assert selected["id"] == selected["en"], text
    assert _selected(out["id"], 'frame.comment contains "handshake"') == [
        f.number for f in result.frames if f.phase == "handshake"]


def test_cli_annotate_in_indonesian(tmp_path):
    out = tmp_path / "a.pcapng"
    run = _cli(str(SHIPPED_CAPTURES / "reqresp.pcap"), "--annotate", str(out), "--csv", "--lang", "id")
    assert run.returncode == 0, run.stderr
    assert CaptureReader(out).format == "pcapng"
    if TSHARK:
        comments = [row[-1] for row in _tshark(out, "-e", "frame.comment")]
        assert comments[2].startswith("reqresp: phase=handshake label=syn conn=0 | TCP three-way "
                                      "handshake: SYN dari client")
    bad = _cli(str(SHIPPED_CAPTURES / "reqresp.pcap"), "--annotate", str(tmp_path / "missing/a.pcapng"),
               "--csv", "--lang", "id")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
    assert "tidak bisa ditulis: folder-nya tidak ada (buat folder-nya dulu" in bad.stderr


def _default_records() -> list[tuple[int, bytes]]:
    return [(r.ts_ns, bytes(r.data)) for r in CaptureReader(SHIPPED_CAPTURES / "reqresp.pcap").records()]


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("variant", ["micro", "nano", "modified"])
def test_pcap_variants(order, variant, tmp_path):
    frames = [(ts + 123, data) if variant == "nano" else (ts, data) for ts, data in _default_records()]
    source = tmp_path / "in.pcap"
    source.write_bytes(pcap_bytes(frames, order=order, nano=variant == "nano",
                                  modified=variant == "modified", snaplen=1600))
    _check_same_frames(source, tmp_path / "out.pcapng")
    assert _records(tmp_path / "out.pcapng")[1][0][1] == 1600        # the snaplen
    if TSHARK:
        assert _tshark(tmp_path / "out.pcapng") == _tshark(source)


def test_pcap_fcs_bits_become_if_fcslen(tmp_path):
    data = _default_records()[0][1] + b"\x11\x22\x33\x44"
    raw = bytearray(pcap_bytes([(10**9, data)]))
    raw[20:24] = struct.pack("<I", 1 | 0x04000000 | (2 << 28))   # Ethernet, FCS of 2 16-bit words
    source = tmp_path / "fcs.pcap"
    source.write_bytes(bytes(raw))
    out = tmp_path / "out.pcapng"
    annotate(analyze(source), out)
    body = out.read_bytes()
    assert struct.pack("<HHB", 13, 1, 4) in body                  # if_fcslen = 4 bytes
    assert _records(out)[0] == _records(source)[0]


def _crafted_pcapng(order: str) -> bytes:
    """Two sections: the first with an existing section comment, two interfaces (ns and 2**-20
    resolution, an offset), a name resolution block, a commented EPB, an obsolete PB, an SPB;
    the second big or little endian as `order` says."""
    records = _default_records()
    shb = pcapng_block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)
                       + pcapng_option(1, b"taken by hand") + pcapng_option(0, b""))
    nrb = pcapng_block(4, struct.pack("<HH", 1, 8) + bytes([172, 28, 0, 2]) + b"srv\0"
                       + struct.pack("<HH", 0, 0))
    epb_commented = pcapng_block(6, struct.pack("<IIIII", 1, 0, 5 << 20, len(records[2][1]),
                                                len(records[2][1])) + records[2][1]
                                 + b"\0" * (-len(records[2][1]) % 4)
                                 + pcapng_option(1, b"an earlier note") + pcapng_option(0, b""))
    pb = pcapng_block(2, struct.pack("<HHIIII", 0, 7, 0, 1_700_000_000, len(records[3][1]),
                                     len(records[3][1])) + records[3][1])
    spb = pcapng_block(3, struct.pack("<I", len(records[4][1])) + records[4][1])
    first = (shb + pcapng_idb(1, tsresol=9) + pcapng_idb(1, snaplen=96, tsresol=0x94, tsoffset=3)
             + nrb + pcapng_epb(0, records[0][0], records[0][1]) + epb_commented + pb + spb)
    second = pcapng_shb(order) + pcapng_idb(1, tsresol=6, order=order) + b"".join(
        pcapng_epb(0, ts // 1000, data, order=order) for ts, data in records[5:])
    return first + second


@pytest.mark.parametrize("order", ["<", ">"])
def test_pcapng_blocks_options_and_comments_kept(order, tmp_path):
    source = tmp_path / "in.pcapng"
    source.write_bytes(_crafted_pcapng(order))
    out = tmp_path / "out.pcapng"
    _check_same_frames(source, out)
    body = out.read_bytes()
    assert b"srv\0" in body                                    # the NRB, copied
    assert body.count(b"\x0a\x0d\x0d\x0a") == 2                # both sections
    if TSHARK:
        comments = subprocess.run([TSHARK, "-r", str(out), "-T", "fields", "-E", "occurrence=a",
                                   "-E", "aggregator=|", "-e", "frame.comment"],
                                  capture_output=True, text=True, check=True).stdout.splitlines()
        assert comments[1].startswith("an earlier note|reqresp: phase=")
        assert all("reqresp: phase=" in c for c in comments)
        # Deliberate difference: a simple packet block (frame 4) has no timestamp, which tshark
        # shows as none; the enhanced packet block it becomes must have one, and has 0.
        before = _tshark(source)
        assert before[3][1] == ""
        before[3][1] = "0.000000000"
        assert _tshark(out) == before
        info = subprocess.run(["capinfos", str(out)], capture_output=True, text=True).stdout
        assert "taken by hand" in info and "reqresp-lab analysis of in.pcapng" in info


def test_truncated_pcap_writes_the_whole_frames(tmp_path):
    raw = (SHIPPED_CAPTURES / "reqresp.pcap").read_bytes()
    source = tmp_path / "cut.pcap"
    source.write_bytes(raw[:-30])
    out = tmp_path / "out.pcapng"
    result = analyze(source)
    assert result.warnings
    assert annotate(result, out).frames == 23
    assert _records(out)[0] == _records(source)[0]


def test_failure_leaves_no_half_file_and_keeps_the_earlier_one(tmp_path, monkeypatch, default):
    out = tmp_path / "out.pcapng"
    out.write_bytes(b"earlier")

    def fail_half_way(source, handle, comment, summary):
        handle.write(b"\x0a\x0d\x0d\x0a" + b"\0" * 100)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(annotate_module, "rewrite", fail_half_way)
    with pytest.raises(AnalysisError, match="No space left on device"):
        annotate(default, out)
    assert out.read_bytes() == b"earlier"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.pcapng"]


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analysis", *args], capture_output=True, text=True,
                          cwd=REPO_ROOT, timeout=120)


def test_cli_annotate(tmp_path):
    out = tmp_path / "a.pcapng"
    run = _cli(str(SHIPPED_CAPTURES / "reqresp.pcap"), "--annotate", str(out), "--csv")
    assert run.returncode == 0, run.stderr
    assert f"wrote {out} (24 frames" in run.stderr
    assert _records(out)[0] == _records(SHIPPED_CAPTURES / "reqresp.pcap")[0]


@pytest.mark.parametrize("where, message", [
    ("missing/a.pcapng", "its folder does not exist"),
    (".", "is a folder, not a file name"),
])
def test_cli_bad_output_path_is_one_line(where, message, tmp_path):
    run = _cli(str(SHIPPED_CAPTURES / "reqresp.pcap"), "--annotate", str(tmp_path / where), "--csv")
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1 and message in run.stderr and "Traceback" not in run.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_cli_annotate_needs_one_capture_and_no_summary(tmp_path):
    run = _cli(str(SHIPPED_CAPTURES / "reqresp.pcap"), "--summary", "--annotate", str(tmp_path / "a"))
    assert run.returncode == 2 and "--annotate" in run.stderr and run.stderr.count("\n") == 1
