"""The frames' JSON entries and CSV rows as text, made a column at a time (export.py writes them).

    for block in json_blocks(frames): ...        # json.dumps(frame_dict(f), ensure_ascii=False)
                                                 # of a chunk's frames, joined by ",\\n  "
    for block in csv_blocks(frames, CSV_COLUMNS): ...  # csv.writer's lines of csv_row(f)
    for json_block, csv_block in json_and_csv_blocks(frames, CSV_COLUMNS): ...   # both, one pass

export.frame_dict and export.csv_row say what a frame's entry and row are, one frame at a time;
making those for a quarter of a million frames (a record, a dict or list, a json.dumps or csv
call per frame) was most of a large capture's report time. Here the fields come a chunk at a
time as columns (analysis.frame_fields.field_chunks: no record made of analyze()'s frames), each
column's texts are made at once (a column of a few names or flag sets: once per distinct value),
and a row is one %-template filled from them, the chunk's constant columns folded into the
template. The texts are the encoders' own: json.dumps of a column of numbers, json's C string
quoting, the csv writer's cells. Only a chunk's texts are held at a time.
tests/analysis/test_export_rows.py holds both to frame_dict and csv_row on every capture we have.
"""
from __future__ import annotations

import csv
import io
import json
import math
import re
from json.encoder import encode_basestring    # what json.dumps(..., ensure_ascii=False) quotes with
from typing import Callable, Iterable, Iterator, NamedTuple, Sequence

from analysis.frame_fields import field_chunks
from analysis.frame_text import flags_text, info_texts
from analysis.model import ArpHeader, LabeledFrame, TcpOptions

ROWS = 4096     # frames made into text at once (a chunk's texts are held, not the capture's)


FramesHook = Callable[[int], None]     # told the number of frames of each block made


def json_blocks(frames: Iterable[LabeledFrame]) -> Iterator[str]:
    """Per chunk of frames, their frame_dict entries' JSON joined by ",\\n  " (none empty)."""
    for part in _parts(frames):
        yield _json_block(part, info_texts(part))


def csv_blocks(frames: Iterable[LabeledFrame], columns: Sequence[str]) -> Iterator[str]:
    """Per chunk of frames, their csv_row lines (columns: the CSV's, in order) with "\\n" after each."""
    for part in _parts(frames):
        yield _csv_block(part, info_texts(part), columns)


def json_and_csv_blocks(frames: Iterable[LabeledFrame], columns: Sequence[str],
                        on_frames: FramesHook | None = None) -> Iterator[tuple[str, str]]:
    """json_blocks' and csv_blocks' block of each chunk, side by side: the fields read and the
    Info texts made once for both (a report writes analysis.json and frames.csv of one capture);
    on_frames told each block's frame count (a progress bar)."""
    for part in _parts(frames, on_frames):
        info = info_texts(part)
        yield _json_block(part, info), _csv_block(part, info, columns)


def _json_block(part: dict[str, list], info: list[str]) -> str:
    return ",\n  ".join(_filled(_json_row(part, info)))


def _csv_block(part: dict[str, list], info: list[str], columns: Sequence[str]) -> str:
    cells = _csv_cells(part, info)
    row: list = []
    for name in columns:
        row += [",", cells[name]] if row else [cells[name]]
    return "\n".join(_filled(row)) + "\n"


def record_blocks(records: Sequence[NamedTuple]) -> Iterator[str]:
    """json.dumps(record._asdict(), ensure_ascii=False) of each record (Connection, Exchange:
    one type; a tuple field is an array), in blocks joined by ",\\n  " as json_blocks'."""
    for lo in range(0, len(records), ROWS):
        part = records[lo:lo + ROWS]
        yield ",\n  ".join(_filled(_object(zip(part[0]._fields, map(_json_any, zip(*part))))))


def _json_any(values: tuple) -> Raw | list[str]:
    """The JSON of each value of a record field's column, as its kinds allow."""
    kinds = set(map(type, values))
    if kinds <= {int, float, bool, type(None)}:
        return _json_scalars(list(values))
    if kinds == {str}:
        return list(map(encode_basestring, values))
    if kinds <= {str, type(None)}:
        return _json_few(list(values))
    return list(map(_dumps, values))


def _parts(frames: Iterable[LabeledFrame], on_frames: FramesHook | None = None) -> Iterator[dict[str, list]]:
    """Every field of `frames`, chunk by chunk (field_chunks), in slices of at most ROWS frames
    (on_frames told each slice's frame count when the caller asks for the next one)."""
    for part in field_chunks(frames, LabeledFrame._fields):
        count = len(part["number"])
        for lo in range(0, count, ROWS):
            yield part if count <= ROWS else {name: values[lo:lo + ROWS] for name, values in part.items()}
            if on_frames is not None:
                on_frames(min(ROWS, count - lo))


class Raw(NamedTuple):
    """A column _filled writes with a %-code of its own from the values themselves (no text made
    per value first): "%d" for ints, "%r" for floats (repr: json's and the csv writer's text)."""

    code: str
    values: list


def _filled(row: Sequence) -> Iterator[str]:
    """Each line of a row given as text (str) and columns (lists of texts, one per frame, or Raw
    values): one %-template filled per frame, a constant column's text written into the template
    (the first column is never folded: it keeps the frame count)."""
    template, columns = [], []
    for item in row:
        if isinstance(item, str):
            template.append(item.replace("%", "%%"))
            continue
        code, values = item if isinstance(item, Raw) else ("%s", item)
        # equal texts or ints are the same text; equal floats need not be (0.0 and -0.0)
        if columns and code != "%r" and _constant(values):
            template.append((code % (values[0],)).replace("%", "%%"))
        else:
            template.append(code)
            columns.append(values)
    return map("".join(template).__mod__, zip(*columns))


def _constant(values: list) -> bool:
    return values[0] == values[-1] and values.count(values[0]) == len(values)


def _numbers(values: list, finite: bool) -> Raw | None:
    """The column as Raw values if it is all ints ("%d") or all floats ("%r"; finite: none may
    be nan or inf, which json writes as NaN, Infinity), else None."""
    kinds = set(map(type, values))
    if kinds == {int}:
        return Raw("%d", values)
    if kinds == {float} and (not finite or math.isfinite(sum(values))):   # nan, inf carry into the sum
        return Raw("%r", values)
    return None


# -- JSON ------------------------------------------------------------------------------------

def _json_row(part: dict[str, list], info: list[str]) -> tuple:
    """frame_dict's entry of the part's frames, as text and columns for _filled."""
    few, scalars = _json_few, _json_scalars
    options = part["tcp_options"]
    mss, wscale, sack_permitted, sack_blocks, ts_val, ts_ecr = _columns(options, len(TcpOptions._fields))
    option_fields = _object((("mss", scalars(mss)), ("wscale", scalars(wscale)),
                             ("sack_permitted", few(sack_permitted)), ("sack_blocks", few(sack_blocks)),
                             ("ts_val", scalars(ts_val)), ("ts_ecr", scalars(ts_ecr))))
    if None in options:     # frames without a TCP header: their options are null
        option_fields = [text if opts is not None else "null"
                         for text, opts in zip(_filled(option_fields), options)]
    return _object((
        ("number", scalars(part["number"])), ("time", scalars(part["time"])),
        ("rel_time", scalars(part["rel_time"])), ("src", few(part["src"])), ("dst", few(part["dst"])),
        ("sport", scalars(part["sport"])), ("dport", scalars(part["dport"])),
        ("proto", few(part["proto"])), ("tcp_flags", few(part["tcp_flags"])),
        ("flags", _texts(part["tcp_flags"], lambda bits: _dumps(flags_text(bits)))),
        ("len", scalars(part["len"])), ("payload_len", scalars(part["payload_len"])),
        ("phase", few(part["phase"])), ("label", few(part["label"])),
        ("direction", few(part["direction"])), ("analysis", few(part["analysis"])),
        ("conn", scalars(part["conn"])), ("seq", scalars(part["seq"])), ("ack", scalars(part["ack"])),
        ("seq_raw", scalars(part["seq_raw"])), ("ack_raw", scalars(part["ack_raw"])),
        ("window", scalars(part["window"])), ("info", list(map(encode_basestring, info))),
        ("truncated", few(part["truncated"])), ("malformed", few(part["malformed"], _asdict)),
        ("arp", few(part["arp"], _asdict)), ("tcp_options", option_fields),
        ("icmp_type", few(part["icmp_type"])), ("ip_proto", few(part["ip_proto"]))))


def _object(members: Iterable[tuple[str, list | tuple]]) -> tuple:
    """A JSON object's text as json.dumps writes it ({"key": value, ...}) around the values'
    columns (a tuple value: an object of its own, written in place)."""
    row: list = []
    for key, value in members:
        row.append(("{" if not row else ", ") + encode_basestring(key) + ": ")
        row += value if type(value) is tuple else [value]     # (a Raw column is a tuple too)
    return tuple(row) + ("}",)


def _json_scalars(values: list) -> Raw | list[str]:
    """The JSON of each number, bool or None: the values themselves if they are all ints or all
    finite floats, else json's C encoder writes the column as a list (whose items' texts hold
    none of the ", " between them)."""
    return _numbers(values, finite=True) or json.dumps(values)[1:-1].split(", ")


def _json_few(values: list, view: Callable | None = None) -> list[str]:
    """The JSON of each value (of view(value); None stays null), made once per distinct value: a
    column of a few names, addresses, numbers or flag sets (a tuple is an array, as a list)."""
    return _texts(values, lambda value: "null" if value is None else _dumps(
        value if view is None else view(value)))


_dumps = json.JSONEncoder(ensure_ascii=False).encode   # json.dumps(value, ensure_ascii=False)


def _asdict(record) -> dict:
    return record._asdict()


# -- CSV -------------------------------------------------------------------------------------

def _csv_cells(part: dict[str, list], info: list[str]) -> dict[str, list[str]]:
    """Each CSV column's cells (csv_row's values as the csv writer writes them) of the part."""
    malformed, numbers = part["malformed"], _csv_numbers
    few = lambda values, view=None: _texts(values, _csv_cell if view is None  # noqa: E731
                                          else lambda value: _csv_cell(view(value)))
    mss, wscale, sack_permitted, sack_blocks, ts_val, ts_ecr = _columns(
        part["tcp_options"], len(TcpOptions._fields))
    arp = dict(zip(ArpHeader._fields, _columns(part["arp"], len(ArpHeader._fields))))
    cells = {name: numbers(part[name]) for name in (
        "number", "time", "rel_time", "sport", "dport", "len", "payload_len", "conn", "seq", "ack",
        "seq_raw", "ack_raw", "window", "tcp_flags")}
    cells.update({name: few(part[name]) for name in (
        "src", "dst", "proto", "phase", "label", "direction", "truncated", "icmp_type", "ip_proto")})
    cells.update({f"arp_{name}": few(arp[name]) for name in ("sha", "spa", "tha", "tpa")})
    cells.update(
        flags=few(part["tcp_flags"], flags_text), analysis=few(part["analysis"], ";".join),
        info=_csv_free(info),
        malformed=few(malformed, lambda m: None if m is None else m.message),
        malformed_code=few(malformed, lambda m: None if m is None else m.code),
        arp_opcode=numbers(arp["opcode"]), mss=numbers(mss), wscale=numbers(wscale),
        sack_permitted=few(sack_permitted), ts_val=numbers(ts_val), ts_ecr=numbers(ts_ecr),
        sack_blocks=few(sack_blocks, lambda blocks: None if blocks is None else ";".join(
            f"{left}-{right}" for left, right in blocks)))
    return cells


def _csv_numbers(values: list) -> Raw | list[str]:
    """Cells of ints and floats (None: ""), never quoted: the csv writer writes str() of an int,
    repr() of a float."""
    return _numbers(values, finite=False) or [
        "" if value is None else repr(value) if type(value) is float else str(value) for value in values]


def _csv_cell(value) -> str:
    """The csv writer's text of one cell of a row of several (None: ""; quoted where it must be)."""
    if value is None:
        return ""
    text = value if type(value) is str else repr(value) if type(value) is float else str(value)
    return text if _QUOTED.search(text) is None else _quoted(text)


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _writer_cell(value) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow((value, ""))   # a lone empty cell is quoted
    return buffer.getvalue()[:-2]


# what the csv writer quotes a cell for, asked of it (the delimiter, the quote char, the line
# terminator's characters; Python 3.12 quotes "\r" too): test_export_rows.py checks every other
# character is written as it is
_QUOTED = re.compile("[" + re.escape("".join(
    c for c in ',"\r\n\t ' if _writer_cell(f"a{c}b") != f"a{c}b")) + "]")


def _csv_free(values: list[str]) -> list[str]:
    """The cells of a column of free texts (Info)."""
    search = _QUOTED.search
    return [text if search(text) is None else _quoted(text) for text in values]


# -- both ------------------------------------------------------------------------------------

def _texts(values: list, text: Callable) -> list:
    """text(value) of each value, made once per distinct value. The columns are of one type
    each (and None), never floats: no two values of a column with different texts are equal,
    as 1 and True or 0.0 and -0.0 would be."""
    made = {value: text(value) for value in set(values)}
    return list(map(made.__getitem__, values))


def _columns(records: list, width: int) -> list[list]:
    """A column of records (NamedTuples of `width` fields, or None) as one column per field
    (None in each where the record is)."""
    absent = (None,) * width
    return [list(column) for column in zip(*(absent if record is None else record
                                             for record in records))] or [[] for _ in range(width)]
