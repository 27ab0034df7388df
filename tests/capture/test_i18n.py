"""The capture tool in English and Indonesian: its catalog (capture/locale, domain
reqresp-capture) is complete for every message capture/ marks (read from the code, not a
hand-kept list) and for argparse's own texts; placeholders survive translation; the language
comes from --lang or the locale as gettext reads it; Text renders nested parts and plurals."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from capture import i18n
from capture.errors import UsageError
from capture.text import N_, NP_, Text, plural
from tests.support.locale_cases import LOCALE_CASES
from tests.support.messages import argparse_messages, code_messages, placeholders, read_catalog, translations

ROOT = Path(__file__).resolve().parents[2]
CAPTURE = ROOT / "capture"
PO = i18n.LOCALE_DIR / "id" / "LC_MESSAGES" / f"{i18n.DOMAIN}.po"


def _wanted() -> dict:  # type: ignore[type-arg]
    return {**argparse_messages(), **code_messages(CAPTURE)}


def test_every_marked_message_has_its_indonesian_and_none_is_stale() -> None:
    code, catalog = _wanted(), read_catalog(PO, "id")
    missing = {m: code[m] for m in set(code) - set(catalog)}
    assert missing == {}, f"add these to {PO.name} (message: where it is used)"
    assert sorted(map(str, set(catalog) - set(code))) == [], f"no longer in the code: remove from {PO.name}"
    untranslated = [m for m, entry in catalog.items() if not all(translations(entry)) or entry.fuzzy]
    assert untranslated == []


def test_translations_keep_every_placeholder() -> None:
    for msgid, entry in read_catalog(PO, "id").items():
        source = msgid[0] if isinstance(msgid, tuple) else msgid
        for translated in translations(entry):
            assert placeholders(translated) == placeholders(source), msgid


def test_the_extraction_sees_the_capture_messages_of_every_kind() -> None:
    found = code_messages(CAPTURE)
    assert "interrupted by {signal}; the lab network was removed" in found          # an error template
    assert ("{count} packet captured", "{count} packets captured") in found          # NP_ in the summary
    assert "next: make analyze {path}" in found                                      # t.gettext in the CLI
    assert "Run the request-response lab on a virtual network and capture it with tcpdump." in found  # _()
    assert "the echo half: Hello Server, Apa kabar?, bye" in found                   # a scenario's N_


def test_the_completeness_check_fails_on_a_message_missing_from_the_catalog(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text('raise X(Text(N_("a message nobody translated {x}"), x=1))\n')
    assert set(code_messages(tmp_path)) - set(read_catalog(PO, "id")) == {"a message nobody translated {x}"}
    assert placeholders("{a} of {b}") != placeholders("{a} dari {c}")


@pytest.mark.parametrize("env, lang", LOCALE_CASES)
def test_the_locale_decides_as_gettext_reads_it(env: dict[str, str], lang: str) -> None:
    assert i18n.resolve_lang(None, env) == lang


def test_lang_overrides_the_locale_and_an_unknown_one_is_one_clear_error() -> None:
    assert i18n.resolve_lang("en", {"LANG": "id_ID.UTF-8"}) == "en"
    with pytest.raises(UsageError, match=r"unknown language 'fr': choose one of en, id \(--lang en or --lang id\)"):
        i18n.resolve_lang("fr")
    assert i18n.lang_from_argv(["lab", "--lang=id"], {}) == "id"
    assert i18n.lang_from_argv(["--lang", "fr"], {"LANG": "id_ID.UTF-8"}) == "id"  # argparse rejects fr


def test_plural_forms_and_nested_parts() -> None:
    en, id_ = i18n.translation("en"), i18n.translation("id")
    packets = [plural(*NP_("{count} packet captured", "{count} packets captured"), count=n) for n in (1, 24)]
    assert [p.render(en) for p in packets] == ["1 packet captured", "24 packets captured"]
    assert [p.render() for p in packets] == ["1 packet captured", "24 packets captured"]
    assert [p.render(id_) for p in packets] == ["1 paket ter-capture", "24 paket ter-capture"]  # no plural suffix
    why = Text(N_("{role} in {where}: {why}"), role="server", where=Text(N_("root namespace")),
               why=Text(N_("exited with status {code}"), code=3))
    assert str(why) == "server in root namespace: exited with status 3"
    assert why.render(id_) == "server di namespace root: keluar dengan status 3"
    several = Text(N_("{object} in {namespace}"), object=["lab-a", Text(N_("root namespace"))], namespace="x")
    assert several.render(id_) == "lab-a, namespace root di x"


def test_argparse_speaks_indonesian_inside_the_block_and_english_after() -> None:
    from capture.cli import build_parser

    before = os.environ.get("LANGUAGE")
    with i18n.argparse_language("id"):
        text = build_parser().format_help()
    assert text.startswith("penggunaan: python -m capture") and "tampilkan pesan bantuan ini lalu keluar" in text
    assert build_parser().format_usage().startswith("usage: python -m capture")
    assert os.environ.get("LANGUAGE") == before


def _capture_cli(*args: str, **env: str) -> subprocess.CompletedProcess:  # type: ignore[type-arg]
    clean = {k: v for k, v in os.environ.items() if k not in i18n.LOCALE_VARIABLES}
    return subprocess.run([sys.executable, "-m", "capture", *args], cwd=ROOT, env={**clean, **env},
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("args, env, expected", [
    (("--backend", "x"), {}, "error: argument --backend: invalid choice: 'x'"),
    (("--backend", "x", "--lang", "id"), {"LANG": "C"}, "kesalahan: argumen --backend: pilihan tidak sah: 'x'"),
    (("--backend", "x"), {"LANG": "id_ID.UTF-8"}, "kesalahan: argumen --backend: pilihan tidak sah: 'x'"),
    (("--backend", "x", "--lang", "en"), {"LANG": "id_ID.UTF-8"}, "error: argument --backend: invalid choice"),
    (("--lang", "fr"), {"LANG": "id_ID.UTF-8"}, "kesalahan: argumen --lang: pilihan tidak sah: 'fr'"),
])
def test_the_capture_cli_usage_errors_in_the_chosen_language(args, env, expected) -> None:  # type: ignore
    run = _capture_cli(*args, **env)
    assert run.returncode == 2
    assert expected in run.stderr.splitlines()[-1]
    assert ("penggunaan:" in run.stderr) == ("kesalahan" in expected)


def test_an_unknown_scenario_is_one_line_in_the_locale_language() -> None:
    """Checked before root or the network: any user sees it."""
    known = "default, echo, vote, multi, legacy, refused, reset, lossy"
    run = _capture_cli("--scenario", "nope", LANG="id_ID.UTF-8")
    assert run.returncode == 1
    assert run.stderr.splitlines() == [f"kesalahan: skenario 'nope' tidak dikenal: pilih salah satu dari {known}"]
    english = _capture_cli("--scenario", "nope", "--lang", "en", LANG="id_ID.UTF-8")
    assert english.stderr.splitlines() == [f"error: unknown scenario 'nope': choose one of {known}"]
