"""Is any English sentence left in a text that should be Indonesian? A check for English function
words (and a few words every English message of ours uses) on the text, after removing what stays
as it is on purpose: the items the caller names, code in backticks or single quotes (commands such
as 'sudo apt-get install tcpdump'), field names and filters (anything with `.`, `_` or `=`),
braces and angle brackets. Indonesian never uses these words; the catalog keeps client, server,
request, response, handshake, frame, capture, namespace, bridge, interface in English: none is here."""
from __future__ import annotations

import re

# Words of English sentences that Indonesian never uses (shared by every package's i18n checks)
FUNCTION_WORDS = frozenset("""the and of is are was were to with from this that these those no not
    for by it its in on at an or has have had be been which what who when how there than then
    each every after before into does did only also""".split())
# ... and the words every English message of the capture tool uses
ENGLISH = FUNCTION_WORDS | frozenset("""exit failed wrote next dropped captured packet packets error warning usage session
    unknown choose remove removed stopped create configure attach within seconds cannot could
    while loses sends knocks answered aborts waits""".split())
# a quote that opens after a space or bracket and closes before one ("the server's" is no quote)
_QUOTED = re.compile(r"`[^`]*`|(?<![A-Za-z])'[^']*'(?![A-Za-z])")
_CODE = re.compile(r"\S*[._=]\S*|\{[^}]*\}|<[^>]*>")
_WORD = re.compile(r"[A-Za-z']+")


def english_words(text: str, words: frozenset[str]) -> list[str]:
    """The words of `words` that `text` holds (any case), once."""
    return sorted({w for w in _WORD.findall(text) if w.lower() in words})


def english_left(text: str, keep: list[str] | tuple[str, ...] = ()) -> list[str]:
    """The English words left in `text` once the untranslated items are removed (longest first)."""
    for item in sorted(keep, key=len, reverse=True):
        text = text.replace(item, " ")
    return english_words(_CODE.sub(" ", _QUOTED.sub(" ", text)), ENGLISH)
