"""The public library API: analyze(), summarize(), iter_labeled(), Analysis and its errors."""
from __future__ import annotations

import shutil

import pytest

from analysis import analyze, iter_labeled, summarize
from analysis.errors import AnalysisError, CaptureFormatError, UsageError
from analysis.model import LabeledFrame

# tshark's boolean analysis columns in the truth files, and our names for them
TRUTH_FLAGS = {
    "tcp.analysis.retransmission": "retransmission",
    "tcp.analysis.fast_retransmission": "fast-retransmission",
    "tcp.analysis.spurious_retransmission": "spurious-retransmission",
    "tcp.analysis.out_of_order": "out-of-order",
    "tcp.analysis.lost_segment": "lost-segment",
    "tcp.analysis.duplicate_ack": "duplicate-ack",
    "tcp.analysis.ack_lost_segment": "ack-lost-segment",
    "tcp.analysis.keep_alive": "keep-alive",
    "tcp.analysis.window_update": "window-update",
    "tcp.analysis.reused_ports": "reused-ports",
}


def test_frames_streams_and_analysis_flags_match_tshark(conformance_name, conformance_dir,
                                                        conformance_truth):
    result = analyze(conformance_dir / "pcaps" / conformance_name)
    truth = conformance_truth(conformance_name)
    assert result.frame_count == truth.capinfos.packets == len(result.frames)
    for frame, row in zip(result.frames, truth.packets):
        where = f"{conformance_name} frame {frame.number}"
        assert frame.number == row["frame.number"]
        assert round(frame.time * 1e6) == round(row["ts_ns"] / 1e3), where
        assert frame.len == row["frame.len"], where
        if frame.conn is not None:
            expected = {name for field, name in TRUTH_FLAGS.items() if row[field]}
            assert set(frame.analysis) & set(TRUTH_FLAGS.values()) == expected, where
            assert frame.seq_raw == row["tcp.seq_raw"], where


def test_to_dataframe_is_one_row_per_frame(conformance_dir):
    result = analyze(conformance_dir / "pcaps" / "zeek_http_get.pcap")
    frame = result.to_dataframe()
    assert len(frame) == 14
    assert list(frame.columns) == [*LabeledFrame._fields, "flags", "info"]
    assert frame.loc[1, "label"] == "syn" and frame.loc[1, "flags"] == "SYN"
    assert frame.loc[1, "tcp_flags"] == 0x002 and frame.loc[1, "info"] == result.frames[0].info
    assert frame["phase"].value_counts()["data"] == 8


def test_phase_and_connection_views(conformance_dir):
    result = analyze(conformance_dir / "pcaps" / "zeek_ftp_ipv4.pcap")
    assert len(result.connections) == 5
    assert all(f.phase == "teardown" for f in result.phase("teardown"))
    assert {f.conn for f in result.frames_of(2)} == {2}
    with pytest.raises(UsageError, match="unknown phase 'talking'"):
        result.phase("talking")
    with pytest.raises(UsageError, match="no connection 99"):
        result.frames_of(99)


def test_summarize_and_iter_labeled_keep_no_frames_but_agree(conformance_dir):
    path = conformance_dir / "pcaps" / "zeek_ftp_ipv4.pcap"
    full = analyze(path)
    summary = summarize(path)
    assert summary.frames == [] and summary.frame_count == full.frame_count
    assert summary.connections == full.connections
    assert summary.exchanges == full.exchanges
    finished = []
    streamed = list(iter_labeled(path, on_finish=finished.append))
    assert streamed == full.frames
    assert finished[0].connections == full.connections


def test_a_file_cut_mid_record_keeps_every_whole_frame_and_warns(conformance_dir, tmp_path):
    source = conformance_dir / "pcaps" / "zeek_http_get.pcap"
    data = source.read_bytes()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(data[:-10])             # inside the last record (a 66-byte ACK)
    result = analyze(cut)
    assert result.frame_count == 13
    assert len(result.warnings) == 1
    warning = result.warnings[0]
    assert warning.code == "truncated-file"
    assert str(cut) in warning.message and str(warning.offset) in warning.message
    assert "\n" not in warning.message


@pytest.mark.parametrize("content, match", [
    (b"", "empty"),
    (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 3, "not a"),
])
def test_bad_files_raise_one_line_errors_naming_the_file(tmp_path, content, match):
    path = tmp_path / "bad.pcap"
    path.write_bytes(content)
    with pytest.raises(CaptureFormatError) as caught:
        analyze(path)
    message = str(caught.value)
    assert str(path) in message and match in message.lower() and "\n" not in message


def test_unknown_link_type_names_the_file_and_frame(conformance_dir, tmp_path):
    data = bytearray((conformance_dir / "pcaps" / "zeek_http_get.pcap").read_bytes())
    data[20:24] = (147).to_bytes(4, "little")    # LINKTYPE_USER0: nobody knows its framing
    path = tmp_path / "user0.pcap"
    path.write_bytes(bytes(data))
    with pytest.raises(AnalysisError) as caught:
        analyze(path)
    message = str(caught.value)
    assert str(path) in message and "147" in message and "frame 1" in message


def test_a_copy_analyses_the_same_whatever_its_name(conformance_dir, tmp_path):
    # Formats are detected by content: a pcapng named .pcap and a pcap named .txt both work.
    ng = tmp_path / "really-pcapng.pcap"
    shutil.copy(conformance_dir / "pcaps" / "zeek_pcapng_multi_interface.pcapng", ng)
    txt = tmp_path / "capture.txt"
    shutil.copy(conformance_dir / "pcaps" / "zeek_http_get.pcap", txt)
    assert analyze(ng).frame_count == 6
    assert analyze(txt).frame_count == 14
