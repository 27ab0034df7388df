"""Wireshark display-filter syntax (the part for the fields we dissect), parsed with lark into a
small tree of NamedTuples:

    Or(items) | And(items) | Not(item) | Present(field) | Compare(field, op, value)
    | Contains(field, value) | In(field, members)      members: Literal or Range(low, high)

Comparisons ==, !=, >, <, >=, <= and eq, ne, gt, lt, ge, le; &&/and, ||/or, !/not, parentheses;
`in {80, 443, 8000..8080}` (commas, as Wireshark 4.0 wants them; spaces, as earlier versions
took, too); `contains`; bare field and protocol names.  Values stay text here (Literal: the
text and whether it was a quoted string): what they mean depends on the field (fields.py).
"""
from __future__ import annotations

from typing import NamedTuple

from lark import Lark, Token, Transformer, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput
from lark.exceptions import UnexpectedToken

from analysis.errors import FilterError, Words
from analysis.i18n import N_

_GRAMMAR = r"""
?start: or_
?or_: and_ (OR and_)*
?and_: not_ (AND not_)*
?not_: NOT not_ -> neg
     | atom
?atom: "(" or_ ")"
     | FIELD CMP value     -> compare
     | FIELD CONTAINS value -> contains
     | FIELD IN "{" member ((",")? member)* "}" -> within
     | FIELD               -> present
?member: value ".." value  -> span
       | value
value: STRING | LITERAL
OR.2: "||" | /or\b/
AND.2: "&&" | /and\b/
NOT.2: "!" | /not\b/
CMP.2: "==" | "!=" | ">=" | "<=" | ">" | "<" | /(eq|ne|gt|lt|ge|le)\b/
CONTAINS.2: /contains\b/
IN.2: /in\b/
FIELD: /[A-Za-z_][A-Za-z0-9_\-]*(\.[A-Za-z0-9_\-]+)*/
LITERAL: /[0-9A-Za-z_:\/\-]+(\.[0-9A-Za-z_:\/\-]+)*/
STRING: /"(\\.|[^"\\])*"/
%ignore /\s+/
"""
_OPS = {"eq": "==", "ne": "!=", "gt": ">", "lt": "<", "ge": ">=", "le": "<="}
# what a token is called in "expected ..."; the words are translated with the message (errors.Words),
# the quoted tokens are the filter's own and stay as written
THE_END = N_("the end")
_EXPECTED = {"FIELD": N_("a field name"), "LITERAL": N_("a value"), "STRING": N_("a value"),
             "CMP": N_("an operator"), "LPAR": "'('", "RPAR": "')'", "AND": "'&&'", "OR": "'||'",
             "NOT": "'!'", "LBRACE": "'{'", "RBRACE": "'}'", "IN": "'in'", "CONTAINS": "'contains'",
             "COMMA": "','", "__ANON_0": "'..'", "$END": THE_END}


class Literal(NamedTuple):
    text: str
    quoted: bool
    column: int


class Range(NamedTuple):
    low: Literal
    high: Literal


class Present(NamedTuple):
    field: str
    column: int


class Compare(NamedTuple):
    field: str
    op: str
    value: Literal
    column: int


class Contains(NamedTuple):
    field: str
    value: Literal
    column: int


class In(NamedTuple):
    field: str
    members: tuple
    column: int


class Not(NamedTuple):
    item: object


class And(NamedTuple):
    items: tuple


class Or(NamedTuple):
    items: tuple


class _Tree(Transformer):
    def value(self, items):
        token = items[0]
        if token.type == "STRING":
            text = bytes(token[1:-1], "utf-8").decode("unicode_escape")
            return Literal(text, True, token.column)
        return Literal(str(token), False, token.column)

    def compare(self, items):
        field, op, value = items
        return Compare(str(field), _OPS.get(str(op), str(op)), value, field.column)

    def contains(self, items):
        return Contains(str(items[0]), items[2], items[0].column)

    def within(self, items):
        return In(str(items[0]), tuple(items[2:]), items[0].column)

    def span(self, items):
        return Range(items[0], items[1])

    def present(self, items):
        return Present(str(items[0]), items[0].column)

    def neg(self, items):
        return Not(items[1])

    def or_(self, items):
        return Or(tuple(i for i in items if not isinstance(i, Token)))

    def and_(self, items):
        return And(tuple(i for i in items if not isinstance(i, Token)))


_PARSER = Lark(_GRAMMAR, parser="lalr", lexer="contextual", maybe_placeholders=False)


def parse(text: str):
    """The filter's tree; FilterError (one line: the column and what was expected) if it is not
    display-filter syntax."""
    if not text.strip():
        raise FilterError(N_("the filter is empty"), text=text, hint=N_("e.g. 'tcp.flags.syn == 1'"))
    try:
        return _Tree().transform(_PARSER.parse(text))
    except UnexpectedEOF as err:
        raise FilterError(N_("unexpected end, expected {expected}"), text=text, column=len(text) + 1,
                          fields={"expected": _expected(err.expected)}) from None
    except UnexpectedToken as err:
        at_end = err.token.type == "$END"
        got = Words((THE_END,)) if at_end else repr(str(err.token))
        column = len(text.rstrip()) + 1 if at_end or err.column == "?" else err.column
        raise FilterError(N_("expected {expected}, got {got}"), text=text, column=column,
                          fields={"expected": _expected(err.expected), "got": got}) from None
    except UnexpectedCharacters as err:
        raise FilterError(N_("unexpected character {char!r}"), text=text, column=err.column,
                          fields={"char": text[err.pos_in_stream]}) from None
    except UnexpectedInput as err:      # lark's other complaints (none known): still one line, ours
        column = getattr(err, "column", None)
        raise FilterError(N_("this is not display-filter syntax"), text=text,
                          column=column if isinstance(column, int) else None,
                          hint=N_("e.g. 'tcp.flags.syn == 1'")) from None


def _expected(names) -> Words:
    """What the parser would have taken, as words of the message's language ("a value or ')'")."""
    words = sorted({_EXPECTED.get(name, name.lower()) for name in names})
    return Words(words or [N_("something else")])
