"""analysis.json and frames.csv, made a column at a time (analysis/report/export_rows.py), are
the bytes of their per-frame definitions - json.dumps(frame_dict(f)) a line, csv.writer over
csv_row(f) - on every corpus capture, for both engines, in whole and in tiny chunks, for chosen
frames, and on frames with the values that are hard to write (quotes, commas, line breaks, nan).
info_texts (frame_text.py) is held to info_text on every frame of them."""
from __future__ import annotations

import csv
import io
import json
import sys

import pytest

from analysis import analyze
from analysis.api import _analyze_columnar
from analysis.frame_fields import field_chunks
from analysis.frame_text import INFO_FIELDS, info_text, info_texts
from analysis.model import ArpHeader, Malformed, TcpOptions
from analysis.reference import analyze_reference
from analysis.report import export_rows
from analysis.report.export import (CSV_COLUMNS, csv_row, csv_text, to_document, write_json,
                                    write_json_and_csv)
from tests.analysis.columnar.support.corpus import corpus_paths


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return corpus_paths(tmp_path_factory.mktemp("export_corpus"))


def _expected_json(analysis, frames=None, lang="en") -> str:
    """The document as write_json wrote it a frame at a time: to_document's, indent=1, with one
    json.dumps(entry) a line in the frames, connections and exchanges arrays."""
    document = to_document(analysis, frames, lang)
    arrays = ("frames", "connections", "exchanges")
    text = json.dumps({**document, **{key: f"\x00{key}\x00" for key in arrays}}, indent=1,
                      ensure_ascii=False)
    for key in arrays:
        entries = [json.dumps(entry, ensure_ascii=False) for entry in document[key]]
        text = text.replace(json.dumps(f"\x00{key}\x00"),
                            "[\n  " + ",\n  ".join(entries) + "\n ]" if entries else "[]")
    return text + "\n"


def _expected_csv(frames) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(map(csv_row, frames))
    return buffer.getvalue()


def _json(analysis, frames=None, lang="en") -> str:
    buffer = io.StringIO()
    write_json(analysis, buffer, frames, lang)
    return buffer.getvalue()


def _differences(analysis, where: str, frames=None) -> list[str]:
    chosen = list(analysis.frames if frames is None else frames)
    bad = []
    if _json(analysis, frames) != _expected_json(analysis, chosen):
        bad.append(f"{where}: analysis.json")
    if csv_text(analysis.frames if frames is None else frames) != _expected_csv(chosen):
        bad.append(f"{where}: frames.csv")
    if frames is None:      # the one pass make analyze writes both with
        json_out, csv_out = io.StringIO(), io.StringIO()
        write_json_and_csv(analysis, json_out, csv_out)
        if json_out.getvalue() != _expected_json(analysis, chosen):
            bad.append(f"{where}: analysis.json (one pass with frames.csv)")
        if csv_out.getvalue() != _expected_csv(chosen):
            bad.append(f"{where}: frames.csv (one pass with analysis.json)")
    made = [text for part in field_chunks(chosen, INFO_FIELDS) for text in info_texts(part)]
    if made != [info_text(frame) for frame in chosen]:
        bad.append(f"{where}: info_texts")
    return bad


def test_both_writers_are_their_definitions_on_every_capture(corpus):
    bad = []
    for path in corpus:
        for engine, analysis in (("analyze", analyze(path)), ("reference", analyze_reference(path)),
                                 ("chunks of 7", _analyze_columnar(path, chunk_frames=7))):
            bad += _differences(analysis, f"{path.name} ({engine})")
    assert bad == [], "\n".join(bad[:20])


def test_chosen_frames_and_single_frame_chunks(corpus):
    bad = []
    for path in corpus[:12]:
        analysis = analyze(path)
        frames = list(analysis.frames)
        for name, chosen in (("every other", frames[::2]), ("none", []),
                             ("data", [f for f in frames if f.phase == "data"]),
                             ("one", frames[-1:])):
            bad += _differences(analysis, f"{path.name} ({name})", chosen)
        bad += _differences(_analyze_columnar(path, chunk_frames=1), f"{path.name} (chunks of 1)")
    assert bad == [], "\n".join(bad[:20])


def test_a_generator_and_the_indonesian_document(corpus):
    analysis = analyze(corpus[0])
    assert _json(analysis, (f for f in analysis.frames)) == _expected_json(analysis)
    assert _json(analysis, lang="id") == _expected_json(analysis, lang="id")
    assert csv_text(f for f in analysis.frames) == _expected_csv(analysis.frames)


def test_values_that_are_hard_to_write(corpus):
    analysis = analyze_reference(next(p for p in corpus if p.name == "reqresp.pcap"))
    frames = list(analysis.frames)
    syn = next(f for f in frames if f.tcp_options is not None and f.tcp_options.mss is not None)
    odd = [
        frames[0]._replace(malformed=Malformed("length", 'a "quoted", message\nof two lines %s %%')),
        frames[1]._replace(src='10.0.0.1,"x"', dst="a\rb", proto="tcp\tx", label="100%"),
        frames[2]._replace(time=float("nan"), rel_time=float("inf")),
        frames[3]._replace(time=1.0e22, rel_time=-0.0, window=None, sport=None),
        frames[4]._replace(arp=ArpHeader(1, "02:00:00:00:00:01", "10.0.0.1", "", "10.0.0.2")),
        syn._replace(tcp_options=TcpOptions(1460, None, False, ((1, 2), (3, 4)), None, 7)),
        frames[5]._replace(tcp_options=None, direction=None, analysis=("retransmission",)),
        frames[6]._replace(truncated=True, icmp_type=8, ip_proto=1),
    ]
    many = frames * (export_rows.ROWS // len(frames) + 2)     # more than a slice of ROWS
    zeros = [f._replace(rel_time=0.0, sport=7) for f in frames[:5]] + [frames[5]._replace(rel_time=-0.0)]
    for chosen in (odd, odd[:1], odd + frames, many, zeros):
        assert _json(analysis, chosen) == _expected_json(analysis, chosen)
        assert csv_text(chosen) == _expected_csv(chosen)


def test_the_csv_quoting_is_the_writers_for_every_character():
    # export_rows quotes a cell for the characters the csv writer was seen to quote it for; here
    # every other character is written as it is, and a quote is doubled
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    texts = [f"a{chr(c)}b" for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF]
    texts += ['"', '""', ' x ', "", "a,b\nc\"d\re"]
    writer.writerows((text, "") for text in texts)
    assert buffer.getvalue() == "".join(f"{export_rows._csv_cell(text)},\n" for text in texts)
