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

# How each reply begins. The analyzer recognises the lab's protocol in a capture by these
# (analysis/session/exchanges.py, LAB_REPLY_PREFIXES; tests/test_reply_contract.py ties the two).
ECHO_PREFIX = "Echo: "
VOTED_PREFIX = "VOTED "
RESULTS_PREFIX = "RESULTS "
ERROR_PREFIX = "ERROR "
REPLY_PREFIXES = (ECHO_PREFIX, VOTED_PREFIX, RESULTS_PREFIX, ERROR_PREFIX)
_ECHO_PREFIX_BYTES = ECHO_PREFIX.encode()


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
        return Invalid(error_reply(f"usage: VOTE <option> [id=<token>] (options: {names})"))
    wanted = words[1]
    option = _match_option(wanted, options)
    if option is None:
        return Invalid(error_reply(f"unknown option '{wanted}' (options: {names})"))
    token = None
    if len(words) == 3:
        key, sep, token = words[2].partition("=")
        if key.lower() != "id" or not sep:
            return Invalid(error_reply(f"usage: VOTE <option> [id=<token>] (options: {names})"))
        if not _VOTE_ID_RE.match(token):
            return Invalid(error_reply(f"invalid vote id (1-{MAX_VOTE_ID} printable ASCII characters)"))
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
    return VOTED_PREFIX + option + " " + tally


def results_reply(tally: str) -> str:
    return RESULTS_PREFIX + tally


def echo_reply(text: str) -> str:
    return ECHO_PREFIX + text


def error_reply(why: str) -> str:
    return ERROR_PREFIX + why


# --- the reply lines as the server writes them (bytes, with the newline) ----------------------------

def line(reply: str) -> bytes:
    """A reply as one line on the wire."""
    return (reply + "\n").encode()


def echo_line(message: bytes) -> bytes:
    """The echo reply to a message's own bytes (valid UTF-8, without its line ending): the bytes
    are reused as they came, with no decode and encode on the server's hot path; the same line as
    line(echo_reply(message.decode()))."""
    return _ECHO_PREFIX_BYTES + message + b"\n"


def voted_line(option: str, tally: str) -> bytes:
    return line(voted_reply(option, tally))


def results_line(tally: str) -> bytes:
    return line(results_reply(tally))


def error_line(why: str) -> bytes:
    return line(error_reply(why))


BUSY = error_line("server busy")
INVALID_UTF8 = error_line("invalid UTF-8")
LINE_TOO_LONG = error_line("line too long")
