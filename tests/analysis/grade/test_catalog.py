"""The feedback's languages: a real gettext catalog, complete, compiled, and faithful to its fields."""
from __future__ import annotations

import gettext
import string
from pathlib import Path

from babel.messages.pofile import read_po

from analysis.grade.checks import CHECKS, Reason
from analysis.grade.feedback import LOCALE_DIR, render, translator

from tests.analysis.grade.support.catalog import messages

PO = LOCALE_DIR / "id" / "LC_MESSAGES" / "reqresp.po"
MO = PO.with_suffix(".mo")


def _catalog():
    with open(PO, "rb") as handle:
        return read_po(handle, locale="id")


def _fields(text: str) -> list[tuple[str, str | None, str | None]]:
    return sorted((f, spec, conv) for _, f, spec, conv in string.Formatter().parse(text)
                  if f is not None)


def test_every_message_of_the_code_is_translated_and_none_is_stale() -> None:
    code = messages()
    catalog = {m.id: m.string for m in _catalog() if m.id}
    assert sorted(set(code) - set(catalog)) == [], "add these to reqresp.po"
    assert sorted(set(catalog) - set(code)) == [], "no longer in the code: remove from reqresp.po"
    assert all(catalog.values()), "every message has a translation"


def test_translations_keep_every_field() -> None:
    for message in _catalog():
        if message.id:
            assert _fields(message.string) == _fields(message.id), message.id


def test_the_compiled_catalog_is_the_po() -> None:
    assert MO.exists(), "run make locale"
    compiled = gettext.GNUTranslations(open(MO, "rb"))
    for message in _catalog():
        if message.id:
            assert compiled.gettext(message.id) == message.string, (
                f"{MO} is older than {PO}: run make locale")


def test_indonesian_keeps_the_courses_terms() -> None:
    _ = translator("id")
    assert _("TCP three-way handshake") == "TCP three-way handshake"
    assert _("Echo request/response exchanges") == "Pertukaran request/response echo"
    assert _("The client sends the first FIN").startswith("Client ")
    reason = Reason("the capture could not be read: {error}", {"error": "x.pcap: empty"})
    assert render("not graded: {reason}", {"reason": reason}, _) == (
        "tidak dinilai: capture tidak dapat dibaca: x.pcap: empty")
    assert render("{count} retransmissions (allowed: {allowed})",
                  {"count": 2, "allowed": ["no limit"]}, _) == "2 retransmisi (batas: tanpa batas)"


def test_english_is_the_source() -> None:
    _ = translator("en")
    assert all(_(check.title) == check.title for check in CHECKS.values())
