"""No module reads data back out of the texts a frame is shown as (issue 13, item 2).

LabeledFrame carries the headers as fields - `tcp_flags` (the bits), `arp` (ArpHeader),
`tcp_options`, `malformed` (Malformed: a vocabulary.MALFORMED code and a message) - and its texts
(`flags` "SYN,ACK", `info`, the malformed message) are views for people (analysis/frame_text.py).
A module that splits the flag text, tests a flag name against it, matches or slices the Info
text, branches on a malformed message, or calls the helpers that did so (removed) reads a view
as data: the check below finds each of these in the AST of every module of the analyzer and the
benchmark.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# the helpers that read texts back (session/arp.py's regexes over Info, api.frame_info's place
# in the record, the malformed-message prefix checks): gone, and they stay gone
REMOVED = {"arp_fields", "ArpFields", "frame_info", "CUT_MARK", "_OPTIONS_CUT", "_WHO_HAS", "_IS_AT",
           "_ANNOUNCE", "_malformed_code"}
TEXT_VIEWS = {"flags", "info", "malformed", "message"}   # attributes holding a text view
STRING_READS = {"split", "rsplit", "partition", "rpartition", "startswith", "endswith", "find",
                "rfind", "index", "rindex", "count", "removeprefix", "removesuffix"}
REGEX_CALLS = {"match", "search", "fullmatch", "findall", "finditer", "sub", "subn", "split"}


def _view(node: ast.AST) -> str | None:
    """The view's name when `node` is `<something>.flags` / `.info` / ..., or a variable of that
    name (a helper handed the text: `def _has(flags, name): return name in flags.split(",")`)."""
    if isinstance(node, ast.Attribute) and node.attr in TEXT_VIEWS:
        return node.attr
    return node.id if isinstance(node, ast.Name) and node.id in TEXT_VIEWS else None


def _is_str(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def text_reads(source: str) -> list[tuple[int, str]]:
    """(line, what) for every place `source` reads data back out of a text view."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name) and node.id in REMOVED:
            found.append((node.lineno, f"uses {node.id}"))
        elif isinstance(node, ast.alias) and node.name.split(".")[-1] in REMOVED:
            found.append((getattr(node, "lineno", 0), f"imports {node.name}"))
        elif isinstance(node, ast.Attribute) and node.attr in REMOVED:
            found.append((node.lineno, f"uses .{node.attr}"))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            func = node.func
            view = _view(func.value)
            if view and func.attr in STRING_READS:
                found.append((node.lineno, f".{view}.{func.attr}()"))
            # re.match(pattern, x.info), PATTERN.search(x.info), ...
            if func.attr in REGEX_CALLS and any(_view(arg) for arg in node.args):
                found.append((node.lineno, f"regex {func.attr}() over .{_view(next(a for a in node.args if _view(a)))}"))
        elif isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            for op, right in zip(node.ops, node.comparators):
                # "ACK" in f.flags, "length" in frame.malformed: a word looked up in a text
                if isinstance(op, (ast.In, ast.NotIn)) and _view(right):
                    found.append((node.lineno, f"'in' over .{_view(right)}"))
            # f.flags == "SYN,ACK", f.info == "...": a text compared with a spelled value
            if any(_view(s) for s in sides) and any(_is_str(s) and s.value for s in sides) and \
                    all(isinstance(op, (ast.Eq, ast.NotEq)) for op in node.ops):
                view = next(_view(s) for s in sides if _view(s))
                found.append((node.lineno, f".{view} compared with a spelled text"))
        elif isinstance(node, ast.Subscript) and _view(node.value) and isinstance(node.slice, ast.Slice):
            # a slice of a text (an index is the columnar engine's arrays: cols.malformed[i])
            found.append((node.lineno, f".{_view(node.value)}[...] sliced"))
    return found


def test_no_module_reads_a_text_view_back() -> None:
    bad = []
    for path in sorted([*(ROOT / "analysis").rglob("*.py"), *(ROOT / "bench").rglob("*.py")]):
        bad += [f"{path.relative_to(ROOT)}:{line}: {what}" for line, what in text_reads(path.read_text())]
    assert not bad, "; ".join(bad)


def test_the_check_sees_each_way_of_reading_a_text_back() -> None:
    cases = {
        '"ACK" in f.flags.split(",")\n': ".flags.split()",
        'if "SYN" not in frame.flags: pass\n': "'in' over .flags",
        "x = f.flags == 'SYN,ACK'\n": ".flags compared with a spelled text",
        "import re\nre.match(r'^Who has', frame.info)\n": "regex match() over .info",
        "_IP = re.compile('x')\nm = _IP.search(f.info)\n": "regex search() over .info",
        "frame.info.startswith('ARP')\n": ".info.startswith()",
        "frame.malformed.startswith('tcp')\n": ".malformed.startswith()",
        "'length' in frame.malformed.message\n": "'in' over .message",
        "from analysis.session.arp import arp_fields\n": "imports arp_fields",
        "f.info[:9]\n": ".info[...] sliced",
        'def _has(flags, flag):\n    return flag in flags.split(",")\n': ".flags.split()",
    }
    for source, what in cases.items():
        assert what in [w for _line, w in text_reads(source)], source


def test_the_check_lets_the_fields_and_the_views_for_people_be() -> None:
    fine = ("ok = f.tcp_flags & ACK and frame.tcp.flags & SYN\n"
            "text = f'{frame.flags} {frame.info}'\n"
            "same = prev.flags != f.flags\n"
            "code = frame.malformed.code in CUT_CODES\n"
            "spa = frame.arp.spa\n"
            "cols.malformed[i] = code\n")
    assert text_reads(fine) == []
