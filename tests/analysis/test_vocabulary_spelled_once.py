"""Every closed vocabulary is spelled once, in analysis/vocabulary.py: no module of the analyzer
or the benchmark writes one of its tuples again (a copy drifts; derive it: tuple(vocabulary.X))."""
from __future__ import annotations

import ast
from pathlib import Path

from analysis import vocabulary

ROOT = Path(__file__).resolve().parents[2]
# name -> the set of its words, for every closed vocabulary (a dict's keys or a tuple of names)
VOCABULARIES = {name: frozenset(value) for name, value in vars(vocabulary).items()
                if name.isupper() and isinstance(value, (dict, tuple)) and len(value) >= 2
                and all(isinstance(word, str) for word in value)}


def respellings(source: str) -> list[tuple[int, str]]:
    """(line, vocabulary) of every tuple, list or set literal of strings holding exactly one
    vocabulary's words."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)) and len(node.elts) >= 2 and all(
                isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts):
            words = frozenset(e.value for e in node.elts)
            found += [(node.lineno, name) for name, vocab in VOCABULARIES.items() if words == vocab]
    return found


def test_no_module_spells_a_vocabulary_again() -> None:
    bad = []
    for path in sorted([*(ROOT / "analysis").rglob("*.py"), *(ROOT / "bench").rglob("*.py")]):
        if path == ROOT / "analysis" / "vocabulary.py":
            continue
        bad += [f"{path.relative_to(ROOT)}:{line} spells vocabulary.{name}"
                for line, name in respellings(path.read_text())]
    assert not bad, "; ".join(bad)


def test_the_check_sees_a_copy_in_any_order() -> None:
    assert respellings('SIDES = ("resp", "orig")\n') == [(1, "CLOSERS")]
    assert respellings('x = ["request", "response"]\n') == [(1, "DIRECTIONS")]
    assert respellings('SIDES = tuple(vocabulary.CLOSERS)\nx = ("request",)\n') == []


def test_the_engines_columns_derive_from_the_vocabulary() -> None:
    from analysis.columnar import columns

    for name, source in [("DIRECTIONS", "DIRECTIONS"), ("SIDES", "CLOSERS"), ("EXCHANGE_KINDS", "EXCHANGE_KINDS"),
                         ("PHASES", "PHASES"), ("LABELS", "LABELS"), ("CONN_STATES", "CONN_STATES"),
                         ("CONN_ENDS", "CONN_ENDS"), ("ANALYSIS_FLAGS", "ANALYSIS_FLAGS"),
                         ("NETS", "NETS"), ("PROTOS", "PROTOS"), ("MALFORMED", "MALFORMED")]:
        assert getattr(columns, name) == tuple(getattr(vocabulary, source)), name
