"""English and Indonesian: the catalog is complete for every message the code marks (read from
the code, not a hand-kept list) and for argparse's own texts; placeholders survive translation;
the language comes from --lang or the locale as gettext reads it."""
from __future__ import annotations

import gettext
import os
import re
import string
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from analysis import i18n
from analysis.errors import UsageError

from tests.analysis.grade.support.catalog import argparse_messages, code_messages, messages
from tests.support.locale_cases import LOCALE_CASES

ROOT = Path(__file__).resolve().parents[2]
PO = i18n.LOCALE_DIR / "id" / "LC_MESSAGES" / "reqresp.po"
_PERCENT = re.compile(r"%(?:\((\w+)\))?[-#0 +]*\d*(?:\.\d+)?[srdifgxXc%]")


def _catalog():
    with open(PO, "rb") as handle:
        return {m.id: m for m in read_po(handle, locale="id") if m.id}


def _placeholders(text: str) -> list[str]:
    braces = sorted(f"{{{f}}}" for _, f, _, _ in string.Formatter().parse(text) if f is not None)
    return braces + sorted(m.group(0) for m in _PERCENT.finditer(text) if m.group(0) != "%%")


def _strings(message) -> list[str]:
    return list(message.string) if isinstance(message.string, (tuple, list)) else [message.string]


def test_every_marked_message_has_its_indonesian_and_none_is_stale() -> None:
    code, catalog = messages(), _catalog()
    missing = {m: code[m] for m in set(code) - set(catalog)}
    assert missing == {}, "add these to reqresp.po (message: where it is used)"
    assert sorted(map(str, set(catalog) - set(code))) == [], "no longer in the code: remove from reqresp.po"
    untranslated = [m for m, entry in catalog.items() if not all(_strings(entry)) or entry.fuzzy]
    assert untranslated == []


def test_translations_keep_every_placeholder() -> None:
    for msgid, entry in _catalog().items():
        source = msgid[0] if isinstance(msgid, tuple) else msgid
        for translated in _strings(entry):
            assert _placeholders(translated) == _placeholders(source), msgid


def test_the_extractor_finds_messages_in_fstrings_plurals_and_methods(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(
        'x = f"{N_(\'one\')}"\nt.ngettext("{n} frame", "{n} frames", 2)\nt.gettext("two")\n_(name)\n')
    assert set(code_messages(tmp_path)) == {"one", ("{n} frame", "{n} frames"), "two"}


def test_argparse_texts_are_extracted_from_argparse_itself() -> None:
    found = argparse_messages()
    assert {"usage: ", "positional arguments", "%(prog)s: error: %(message)s\n"} <= set(found)
    assert ("expected %s argument", "expected %s arguments") in found


@pytest.mark.parametrize("env, lang", LOCALE_CASES)
def test_the_locale_decides_as_gettext_reads_it(env: dict[str, str], lang: str) -> None:
    assert i18n.resolve_lang(None, env) == lang


def test_lang_overrides_the_locale_and_an_unknown_one_is_one_clear_error() -> None:
    assert i18n.resolve_lang("en", {"LANG": "id_ID.UTF-8"}) == "en"
    with pytest.raises(UsageError, match=r"unknown language 'fr' \(languages: en, id\)"):
        i18n.resolve_lang("fr")


def test_plural_forms() -> None:
    en, id_ = i18n.translation("en"), i18n.translation("id")
    assert en.ngettext("expected %s argument", "expected %s arguments", 1) == "expected %s argument"
    assert en.ngettext("expected %s argument", "expected %s arguments", 2) == "expected %s arguments"
    # Indonesian has one form: no plural suffix
    assert {id_.ngettext("expected %s argument", "expected %s arguments", n) for n in (1, 2)} == {
        "diharapkan %s argumen"}


def test_argparse_speaks_indonesian_inside_the_block_and_english_after() -> None:
    import argparse

    def parser() -> argparse.ArgumentParser:   # group titles and -h's help are set when built
        built = argparse.ArgumentParser(prog="x")
        built.add_argument("file")
        return built

    before = os.environ.get("LANGUAGE")
    with i18n.argparse_language("id"):
        assert parser().format_usage().startswith("penggunaan: x")
        text = parser().format_help()
        assert "argumen posisi:" in text and "tampilkan pesan bantuan ini lalu keluar" in text
    assert parser().format_usage().startswith("usage: x")
    assert os.environ.get("LANGUAGE") == before


def _grade_cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in i18n.LOCALE_VARIABLES}
    return subprocess.run([sys.executable, "-m", "analysis", "grade", *args], cwd=ROOT,
                          env={**clean, **env}, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("args, env, expected", [
    ((), {}, "error: the following arguments are required: SUBMISSION"),
    (("--lang", "id"), {"LANG": "C"}, "kesalahan: argumen berikut wajib diisi: SUBMISSION"),
    ((), {"LANG": "id_ID.UTF-8"}, "kesalahan: argumen berikut wajib diisi: SUBMISSION"),
    (("--lang", "en"), {"LANG": "id_ID.UTF-8"}, "error: the following arguments are required"),
])
def test_the_grader_cli_errors_in_the_chosen_language(args, env, expected) -> None:
    run = _grade_cli(*args, **env)
    assert run.returncode == 2
    assert expected in run.stderr.splitlines()[-1]
    assert ("penggunaan:" in run.stderr) == ("kesalahan" in expected)


# --- the explorer's script: its msgids are declared in Python, translated when the page is rendered

EXPLORER_JS = ROOT / "analysis" / "report" / "explorer" / "explorer.js"
_JS_STRING = r'"(?:[^"\\]|\\.)*"'
_JS_CALL = re.compile(rf'\b(n?gettext)\(\s*({_JS_STRING})(?:\s*,\s*({_JS_STRING}))?')
_JS_ANY_CALL = re.compile(r'(function\s+)?\bn?gettext\((\))?')


def _script_messages(source: str) -> tuple[set, int]:
    """The msgids of the script's gettext("...")/ngettext("...", "...") calls, and how many calls
    name no literal msgid (a computed one would escape the catalog's check)."""
    import json

    found = set()
    for call in _JS_CALL.finditer(source):
        one = json.loads(call.group(2))
        found.add((one, json.loads(call.group(3))) if call.group(1) == "ngettext" else one)
    calls = sum(1 for m in _JS_ANY_CALL.finditer(source) if not m.group(1) and not m.group(2))
    return found, calls - len(list(_JS_CALL.finditer(source)))


def test_the_explorer_script_shows_only_declared_messages() -> None:
    from analysis.report.explorer_words import SCRIPT_MESSAGES

    used, computed = _script_messages(EXPLORER_JS.read_text(encoding="utf-8"))
    assert computed == 0, "every gettext()/ngettext() call of explorer.js names its msgid as a literal"
    assert sorted(map(str, used - set(SCRIPT_MESSAGES))) == [], "declare these in explorer_words.SCRIPT_MESSAGES"
    assert sorted(map(str, set(SCRIPT_MESSAGES) - used)) == [], "no longer in explorer.js: remove them"


def test_the_script_check_sees_what_it_looks_for() -> None:
    sample = ('x = gettext("Apply"); y = ngettext("{n} byte", "{n} bytes", n, {n});\n'
              'function gettext(msgid) {}  // gettext() in a comment\nz = gettext(name);')
    assert _script_messages(sample) == ({"Apply", ("{n} byte", "{n} bytes")}, 1)


def test_the_explorer_catalog_and_its_plural_rule() -> None:
    from analysis.report.explorer_words import PAGE_TEXTS, plural_rule, script_catalog

    en, id_ = script_catalog(i18n.translation("en")), script_catalog(i18n.translation("id"))
    assert en["messages"]["Packets"] == "Packets" and id_["messages"]["Packets"] == "Paket"
    assert id_["plural"] == "0" and en["plural"] == "(n != 1)"
    assert id_["bool"] == ["Tidak diset", "Diset"]
    # every slot of explorer.html is a declared text, and every declared text has its slot
    slots = set(re.findall(r"\$(\w+)", (EXPLORER_JS.parent / "explorer.html").read_text(encoding="utf-8")))
    assert slots == set(PAGE_TEXTS)

    class Hostile(gettext.NullTranslations):     # the page evaluates the rule: only C's syntax passes
        def info(self):
            return {"plural-forms": "nplurals=2; plural=alert(document.cookie);"}

    with pytest.raises(ValueError):
        plural_rule(Hostile())


@pytest.mark.parametrize("po", ["analysis/locale/id/LC_MESSAGES/reqresp.po",
                                "capture/locale/id/LC_MESSAGES/reqresp-capture.po"])
def test_each_catalog_translates_a_message_once(po: str) -> None:
    """Branches add their messages at the end and the .po merges as a union (.gitattributes): a
    message two of them added would be two entries, of which Babel silently keeps one."""
    root = Path(__file__).resolve().parents[2]
    text = (root / po).read_text(encoding="utf-8")
    entries = re.findall(r'^msgid ((?:".*"\n)+)(?:msgid_plural|msgstr)', text, flags=re.M)
    ids = ["".join(re.findall(r'"(.*)"', entry)) for entry in entries]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    assert len(ids) > 100 and repeated == [], repeated
