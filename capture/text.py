"""Messages as data: an English template with named fields, said in a language only when shown.

    from capture.text import N_, NP_, Text, plural
    why = Text(N_("exited with status {code}"), code=3)
    why.render()                    # "exited with status 3" (English, as written)
    why.render(t)                   # the same in the language of t (capture.i18n.translation(lang))
    plural(*NP_("{count} run", "{count} runs"), count=2)

`N_`/`NP_` only mark a literal for extraction (pybabel and the tests' completeness check read
them from the code); the template is looked up in the catalog where it is rendered. A field may
itself be a Text (an error's "why"), rendered in the same language, or a list or tuple of them
(joined with ", "); other fields (names, paths, numbers, the kernel's own error text) are shown
as they are.
"""
from __future__ import annotations

from typing import Any, Protocol


class Translation(Protocol):
    """What rendering needs of a gettext translation (gettext.NullTranslations and its kin)."""

    def gettext(self, message: str) -> str: ...

    def ngettext(self, singular: str, plural: str, n: int) -> str: ...


def N_(message: str) -> str:
    """Marks a message for extraction where it is written; it is translated where it is shown."""
    return message


def NP_(singular: str, plural: str) -> tuple[str, str]:
    """Marks a plural message (its forms count `{count}`) where it is written."""
    return singular, plural


class Text:
    """An English template and its fields; immutable, compared by value."""

    __slots__ = ("template", "plural", "fields")

    def __init__(self, template: str, *, plural: str | None = None, **fields: Any) -> None:
        object.__setattr__(self, "template", template)
        object.__setattr__(self, "plural", plural)
        object.__setattr__(self, "fields", dict(fields))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Text is immutable")

    def render(self, t: Translation | None = None) -> str:
        """The message in English (t None) or in the language of the translation t."""
        if self.plural is not None:
            count = self.fields["count"]
            text = (t.ngettext(self.template, self.plural, count) if t is not None
                    else (self.template if count == 1 else self.plural))
        else:
            text = t.gettext(self.template) if t is not None else self.template
        if not self.fields and self.plural is None:
            return text   # a template without fields may hold a literal brace
        return text.format(**{name: _field(value, t) for name, value in self.fields.items()})

    def __str__(self) -> str:
        return self.render()

    def __repr__(self) -> str:
        return f"Text({self.template!r}, {self.fields!r})"

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Text) and (self.template, self.plural, self.fields)
                == (other.template, other.plural, other.fields))

    def __hash__(self) -> int:
        return hash((self.template, self.plural))


def _field(value: Any, t: Translation | None) -> Any:
    if isinstance(value, Text):
        return value.render(t)
    if isinstance(value, (list, tuple)):   # several objects: "lab-client, lab-server"
        return ", ".join(say(item, t) for item in value)
    return value


def plural(singular: str, many: str, /, **fields: Any) -> Text:
    """A message with a count: `plural(*NP_("{count} packet", "{count} packets"), count=n)`."""
    return Text(singular, plural=many, **fields)


def say(text: "str | Text", t: Translation | None = None) -> str:
    """A Text in the language of t; a plain str (the kernel's, a program's own line) as it is."""
    return text.render(t) if isinstance(text, Text) else str(text)
