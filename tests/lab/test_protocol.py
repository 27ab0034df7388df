"""Units of the wire protocol: what each message means and how replies are spelled."""
from __future__ import annotations

import pytest

from lab import protocol
from lab.protocol import Echo, Invalid, Results, Vote, parse

OPTS = ("A", "B", "C")


@pytest.mark.parametrize("text", ["Hello Server", "Apa kabar?", "", "   ", "bye", "VOTER A", "results please"])
def test_anything_else_is_echoed(text):
    assert parse(text, OPTS) == Echo(text)


@pytest.mark.parametrize("text,option", [("VOTE A", "A"), ("vote b", "B"), ("Vote   c ", "C"), ("VOTE a", "A")])
def test_votes_are_case_insensitive_and_use_the_configured_spelling(text, option):
    assert parse(text, OPTS) == Vote(option, None)


def test_vote_with_id():
    assert parse("VOTE A id=tok-1", OPTS) == Vote("A", "tok-1")
    assert parse("vote c ID=x", OPTS) == Vote("C", "x")


def test_results():
    assert parse("RESULTS", OPTS) == Results()
    assert parse("results", OPTS) == Results()


def test_unknown_option_names_it_and_lists_the_options():
    assert parse("VOTE D", OPTS) == Invalid("ERROR unknown option 'D' (options: A, B, C)")
    assert parse("vote d", OPTS) == Invalid("ERROR unknown option 'd' (options: A, B, C)")


@pytest.mark.parametrize("text", ["VOTE", "VOTE A B C", "VOTE A token=1", "VOTE A id"])
def test_malformed_votes_get_usage(text):
    request = parse(text, OPTS)
    assert isinstance(request, Invalid)
    assert request.reply.startswith("ERROR usage: VOTE <option> [id=<token>]")


@pytest.mark.parametrize("token", ["", "x" * (protocol.MAX_VOTE_ID + 1), "caf\u00e9"])
def test_bad_vote_ids_are_refused(token):
    request = parse(f"VOTE A id={token}", OPTS)
    assert isinstance(request, Invalid) and request.reply.startswith("ERROR invalid vote id")


def test_replies():
    tally = protocol.format_tally(OPTS, (3, 1, 0))
    assert tally == "A=3 B=1 C=0"
    assert protocol.voted_reply("A", tally) == "VOTED A A=3 B=1 C=0"
    assert protocol.results_reply(tally) == "RESULTS A=3 B=1 C=0"
    assert protocol.echo_reply("Hello Server") == "Echo: Hello Server"


def test_parse_options():
    assert protocol.parse_options("A,B,C") == ("A", "B", "C")
    assert protocol.parse_options("yes, no") == ("yes", "no")
    for bad in ["", "A,,B", "A,a", "A B", "x=1"]:
        with pytest.raises(ValueError):
            protocol.parse_options(bad)


def test_custom_options_in_errors():
    assert parse("VOTE maybe", ("yes", "no")) == Invalid("ERROR unknown option 'maybe' (options: yes, no)")
    assert parse("vote YES", ("yes", "no")) == Vote("yes", None)


@pytest.mark.parametrize("text,request_", [("  vote a", Vote("A", None)), ("\tRESULTS", Results()),
                                           ("\u3000VOTE b id=t", Vote("B", "t")), (" results ", Results())])
def test_commands_after_leading_whitespace(text, request_):
    assert parse(text, OPTS) == request_


def test_no_character_outside_the_shortcut_upper_cases_to_a_command_initial():
    # parse() calls a message an echo when its first character is not v/V/r/R, without splitting
    # it into words; that is only right if no other character upper-cases to V or R.
    initials = {"V", "R"}
    for code in range(0x110000):
        c = chr(code)
        if c.upper()[:1] in initials:
            assert c in protocol._COMMAND_INITIALS, f"U+{code:04X} upper-cases to {c.upper()!r}"
