"""The feedback's languages: the grader's texts through the catalog (its completeness, for every
message of analysis/, is tests/analysis/test_i18n.py)."""
from __future__ import annotations

import gettext
from pathlib import Path

from babel.messages.pofile import read_po

from analysis.grade.checks import CHECKS, Reason
from analysis.grade.feedback import LOCALE_DIR, render, translator


PO = LOCALE_DIR / "id" / "LC_MESSAGES" / "reqresp.po"
MO = PO.with_suffix(".mo")


def _catalog():
    with open(PO, "rb") as handle:
        return read_po(handle, locale="id")


def test_the_compiled_catalog_is_the_po() -> None:
    assert MO.exists(), "run make locale"
    compiled = gettext.GNUTranslations(open(MO, "rb"))
    for message in _catalog():
        if message.id and isinstance(message.id, str):
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
