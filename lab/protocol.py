"""The lab's wire protocol: what a message means and how each reply is spelled.

A message is one line of UTF-8 text ending in ``\\n`` (``\\r\\n`` accepted). Bytes without a newline
that then sit idle for IDLE_GAP seconds also make one message (the course's original clients send
``msg.encode()`` with no newline and block in ``recv``). Every message gets exactly one reply line.
Framing lives in the server; this module is pure and has no I/O.
"""
from __future__ import annotations

import re
from typing import NamedTuple, Sequence

DEFAULT_OPTIONS: tuple[str, ...] = ("A", "B", "C")
MAX_LINE = 64 * 1024          # bytes in one message, without its line ending
IDLE_GAP = 0.05               # seconds: a partial line idle this long is a message
MAX_VOTE_ID = 128             # characters in a vote id

_OPTION_RE = re.compile(r"^[^\s=,]{1,32}$")
_VOTE_ID_RE = re.compile(r"^[\x21-\x7e]{1,%d}$" % MAX_VOTE_ID)  # printable ASCII, no spaces

# Every command word starts with one of these; no non-ASCII character upper-cases to V or R, so a
# message starting with anything else is an echo without being split into words (the hot path).
_COMMAND_INITIALS = frozenset("vVrR")

BUSY = b"ERROR server busy\n"
INVALID_UTF8 = b"ERROR invalid UTF-8\n"
LINE_TOO_LONG = b"ERROR line too long\n"


class Echo(NamedTuple):
    text: str


class Vote(NamedTuple):
    option: str               # the configured spelling, e.g. "A" for "vote a"
    token: str | None         # idempotency token from "id=<token>", if any


class Results(NamedTuple):
    pass


class Invalid(NamedTuple):
    reply: str                # the ERROR line to send back


Request = Echo | Vote | Results | Invalid


def parse_options(spec: str) -> tuple[str, ...]:
    """Turn "A,B,C" into ("A", "B", "C"); raises ValueError with a one-line reason."""
    options = tuple(part.strip() for part in spec.split(","))
    if not options or any(not o for o in options):
        raise ValueError("expected comma-separated option names such as A,B,C")
    for o in options:
        if not _OPTION_RE.match(o):
            raise ValueError(f"option {o!r} must be 1-32 characters without spaces, '=' or ','")
    folded = [o.casefold() for o in options]
    if len(set(folded)) != len(folded):
        raise ValueError("options must differ (they are matched case-insensitively)")
    return options


def parse(text: str, options: Sequence[str]) -> Request:
    """What a decoded message (without its line ending) asks for."""
    if text.lstrip()[:1] not in _COMMAND_INITIALS:
        return Echo(text)
    words = text.split()
    if not words:
        return Echo(text)
    command = words[0].upper()
    if command == "RESULTS" and len(words) == 1:
        return Results()
    if command != "VOTE":
        return Echo(text)
    names = ", ".join(options)
    if len(words) == 1 or len(words) > 3:
        return Invalid(f"ERROR usage: VOTE <option> [id=<token>] (options: {names})")
    wanted = words[1]
    option = _match_option(wanted, options)
    if option is None:
        return Invalid(f"ERROR unknown option '{wanted}' (options: {names})")
    token = None
    if len(words) == 3:
        key, sep, token = words[2].partition("=")
        if key.lower() != "id" or not sep:
            return Invalid(f"ERROR usage: VOTE <option> [id=<token>] (options: {names})")
        if not _VOTE_ID_RE.match(token):
            return Invalid(f"ERROR invalid vote id (1-{MAX_VOTE_ID} printable ASCII characters)")
    return Vote(option, token)


def _match_option(wanted: str, options: Sequence[str]) -> str | None:
    folded = wanted.casefold()
    for option in options:
        if option.casefold() == folded:
            return option
    return None


def format_tally(options: Sequence[str], counts: Sequence[int]) -> str:
    """"A=3 B=1 C=0": every option, in the configured order."""
    return " ".join(f"{o}={n}" for o, n in zip(options, counts))


def voted_reply(option: str, tally: str) -> str:
    return f"VOTED {option} {tally}"


def results_reply(tally: str) -> str:
    return f"RESULTS {tally}"


def echo_reply(text: str) -> str:
    return f"Echo: {text}"


def error_reply(why: str) -> str:
    return f"ERROR {why}"
