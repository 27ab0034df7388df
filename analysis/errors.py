"""The analysis package's one error tree.

    AnalysisError
    ├── CaptureFormatError      not a capture / empty file / bad header           (exit 2)
    │   └── UnknownLinkTypeError a link type we cannot decode                      (exit 2)
    └── UsageError              bad CLI/library argument (unknown phase, conn id)  (exit 2)
        └── FilterError         a display filter we cannot parse (column, what was expected)

A file cut in the middle of a record is *not* an error: every whole frame is analysed and a
`Warning` record (see model.py) says where the file ends. The same holds for a pcapng block whose
trailing length differs from its leading one (the file ends there: `damaged-block`), and for a
timestamp outside 1823..2116 (set to the nearest limit: `timestamp-out-of-range`).  Errors carry the file and, where one
applies, the frame number, so the one-line message says what, where and what to do.

The message and hint are English templates with named fields (marked N_() where raised, so the
catalog carries them): `.message` and `one_line()` are English for the library and its logs;
`one_line(t)` with a gettext translation is the same line in that language (the CLI's edge).
A field whose value is words of ours rather than data (what a filter expected: "a value or
')'") is a `Words`, translated with the message.
"""
from __future__ import annotations


class Words(tuple):
    """A field value made of our own words: msgids (marked N_() where they are defined), shown
    in the message's language and, when there are several, joined by "or" ("a value or ')'")."""

    def text(self, t=None) -> str:
        gettext = t.gettext if t is not None else str
        items = [gettext(item) for item in self]
        joined = items[0] if items else ""
        for item in items[1:]:
            joined = gettext("{first} or {second}").format(first=joined, second=item)
        return joined


def _shown(fields: dict, t=None) -> dict:
    return {k: v.text(t) if isinstance(v, Words) else v for k, v in fields.items()}


class AnalysisError(Exception):
    """Base of every error the analysis package raises on purpose."""

    def __init__(self, message: str, *, path: str | None = None, frame: int | None = None,
                 hint: str | None = None, fields: dict | None = None) -> None:
        self.template = message
        self.hint_template = hint
        self.fields = dict(fields or {})
        english = _shown(self.fields)
        self.message = message.format(**english) if self.fields else message
        self.path = path
        self.frame = frame
        self.hint = hint.format(**english) if hint and self.fields else hint
        super().__init__(self.one_line())

    def one_line(self, t=None) -> str:
        """What, where, what to do, in one line: English, or in the language of `t`
        (a gettext translation, analysis.i18n.translation(lang))."""
        def say(template: str) -> str:
            text = t.gettext(template) if t is not None else template
            return text.format(**_shown(self.fields, t)) if self.fields else text

        message = say(self.template) if t is not None else self.message
        hint = say(self.hint_template) if t is not None and self.hint_template else self.hint
        where = []
        if self.path is not None:
            where.append(str(self.path))
        if self.frame is not None:
            where.append((t.gettext("frame {frame}") if t is not None else "frame {frame}")
                         .format(frame=self.frame))
        text = f"{': '.join(where)}: {message}" if where else message
        if hint:
            text += f" ({hint})"
        return text


class CaptureFormatError(AnalysisError):
    """The file is not a pcap/pcapng capture we can read (or is empty)."""


class UnknownLinkTypeError(CaptureFormatError):
    """The capture's link type is not one the decoder knows."""


class UsageError(AnalysisError):
    """A caller asked for something that does not exist (a phase name, a connection id)."""


class FilterError(UsageError):
    """A display filter we cannot parse, or one naming a field we do not dissect.

    Its line starts with the filter and the column ("display filter 'tcp.port ==' at column 12:
    expected a value, got the end"), in the language of `t` as every error's."""

    def __init__(self, message: str, *, text: str, column: int | None = None,
                 hint: str | None = None, fields: dict | None = None) -> None:
        self.text = text
        self.column = column
        super().__init__(message, hint=hint, fields=fields)

    def one_line(self, t=None) -> str:
        gettext = t.gettext if t is not None else str
        what = super().one_line(t)
        if self.column is None:
            return gettext("display filter {text!r}: {message}").format(text=self.text, message=what)
        return gettext("display filter {text!r} at column {column}: {message}").format(
            text=self.text, column=self.column, message=what)
