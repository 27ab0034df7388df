"""Is any English sentence left in a text meant to be Indonesian? The English function words it
still holds once what stays untranslated on purpose is removed (Wireshark's Info column, the lab's
own request/response lines, filters, field names, codes, file paths). Used by the i18n tests of
every output: the reports, the CLI's messages, the live narration, the annotated comments, the
Indonesian notebook (tests/test_notebook.py)."""
from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from analysis import vocabulary
from tests.support.english import FUNCTION_WORDS, english_words

# field names, filters and codes: tcp.analysis.retransmission, frame.number, Seq=1, conn_state
_FRAME_SET = re.compile(r"frame\.number in \{[^}]*\}")   # first: a filter's set, wherever it stands
_CODE = re.compile(r"`[^`]*`|\S*[._=]\S*|\{[^}]*\}|<[^>]*>")


def untranslated_items(analysis) -> list[str]:
    """What stays as it is in every language, longest first (removed before the check)."""
    items = {str(analysis.path), Path(analysis.path).name}
    items |= {f.info for f in analysis.frames}                     # Wireshark's Info column
    for e in analysis.exchanges:                                   # the lab's verbatim lines
        for text in (e.request, e.response):
            if text:
                items |= {text, repr(text)}
    items |= set(vocabulary.PHASE_FILTERS.values())
    items.add("(tshark: total block lengths don't match)")         # tshark's own words, quoted
    items |= {"'who has <IP>? tell <IP>'", "'<IP> is at <MAC>'"}      # Wireshark's ARP Info, quoted
    return sorted((i for i in items if i), key=len, reverse=True)


def english_left(text: str, keep: list[str]) -> list[str]:
    """The English function words left in `text` once the untranslated items are removed."""
    for item in keep:
        text = text.replace(item, " ")
    # the catalog keeps client, server, request, response, handshake, frame, data, host, port in
    # English: none is a function word
    return english_words(_CODE.sub(" ", _FRAME_SET.sub(" ", text)), FUNCTION_WORDS)


class _Visible(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("style", "script")

    def handle_endtag(self, tag):
        self._skip -= tag in ("style", "script")

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def visible_text(page: str) -> str:
    parser = _Visible()
    parser.feed(page)
    return "\n".join(parser.parts)
