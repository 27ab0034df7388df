"""The capture tool's languages: English (the source) and Indonesian, through the standard gettext.

    from capture.i18n import translation, resolve_lang
    t = translation(resolve_lang(None))    # the locale's choice: LANGUAGE, LC_ALL, LC_MESSAGES, LANG
    error.one_line(t); result.summary(t)

The capture package has its own gettext domain, ``reqresp-capture`` (capture/ may not import
analysis/, whose domain is ``reqresp``): the catalog capture/locale/<lang>/LC_MESSAGES/
reqresp-capture.po, compiled to .mo by `make locale` (Babel; `make venv` runs it, and so does the
test suite's conftest). The choosing rules are the analyzer's: ``--lang id|en`` first, else the
locale as gettext reads it (``id_ID.UTF-8`` -> Indonesian), else English.

argparse's own texts (`usage:`, `error:`, "show this help message and exit", ...) go through
gettext's *global* domain; `argparse_language(lang)` points that domain at our catalog, which
carries argparse's messages too (the tests extract them from argparse itself).
"""
from __future__ import annotations

import contextlib
import gettext
import os
from pathlib import Path
from typing import Iterator, Mapping, Sequence

from capture.errors import UsageError
from capture.text import N_, NP_, Text  # noqa: F401 - re-exported: one import for the CLIs

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "reqresp-capture"
LANGUAGES = {"en": "English", "id": "Bahasa Indonesia"}
DEFAULT = "en"
# gettext's order (gettext.find): the first of these that is set and not empty decides
LOCALE_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")


def resolve_lang(choice: str | None, environ: Mapping[str, str] | None = None) -> str:
    """`--lang` when given, else the locale as gettext reads it (`id_ID.UTF-8` -> "id"), else English."""
    if choice is not None:
        return check_lang(choice)
    env = os.environ if environ is None else environ
    for variable in LOCALE_VARIABLES:
        value = env.get(variable)
        if not value:
            continue
        # LANGUAGE is a priority list ("id:en"); the others name one locale ("id_ID.UTF-8@euro")
        for item in value.split(":") if variable == "LANGUAGE" else [value]:
            lang = item.split(".")[0].split("@")[0].split("_")[0].lower()
            if lang in LANGUAGES:
                return lang
            if lang in ("c", "posix"):
                return DEFAULT
        if variable != "LANGUAGE":
            return DEFAULT   # a locale we have no catalog for: English, as gettext falls back
    return DEFAULT


def check_lang(lang: str) -> str:
    if lang not in LANGUAGES:
        raise UsageError(Text(N_("unknown language {lang!r}: choose one of {languages} (--lang en or --lang id)"),
                              lang=lang, languages=", ".join(LANGUAGES)))
    return lang


def translation(lang: str) -> gettext.NullTranslations:
    """The catalog of `lang` ("en": the messages as written)."""
    check_lang(lang)
    if lang == DEFAULT:
        return gettext.NullTranslations()
    mo = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.mo"
    try:
        with open(mo, "rb") as handle:
            return gettext.GNUTranslations(handle)
    except OSError:
        raise UsageError(Text(N_("the {language} catalog {path} is not compiled: run make locale "
                                 "(pybabel compile -d capture/locale -D reqresp-capture)"),
                              language=LANGUAGES[lang], path=str(mo))) from None


@contextlib.contextmanager
def argparse_language(lang: str) -> Iterator[None]:
    """argparse's texts in `lang` while the block runs (the CLI's edge only: it sets process state).

    argparse calls gettext.gettext, which reads the global domain and the locale variables; we
    bind the domain to our catalog and name the language in LANGUAGE, and restore both after."""
    check_lang(lang)
    saved_domain = gettext.textdomain()
    saved_dir = gettext.bindtextdomain(DOMAIN)
    saved_language = os.environ.get("LANGUAGE")
    gettext.bindtextdomain(DOMAIN, str(LOCALE_DIR))
    gettext.textdomain(DOMAIN)
    # "en" has no catalog: gettext then returns argparse's English as written
    os.environ["LANGUAGE"] = lang
    try:
        yield
    finally:
        gettext.textdomain(saved_domain)
        gettext.bindtextdomain(DOMAIN, saved_dir)
        if saved_language is None:
            os.environ.pop("LANGUAGE", None)
        else:
            os.environ["LANGUAGE"] = saved_language


def lang_from_argv(argv: Sequence[str], environ: Mapping[str, str] | None = None) -> str:
    """The language a command line asks for, read before argparse runs (so that argparse's own
    messages, `usage:` and `error:` included, are already in it); an unknown value is left for
    argparse to reject."""
    for i, arg in enumerate(argv):
        value = None
        if arg == "--lang" and i + 1 < len(argv):
            value = argv[i + 1]
        elif arg.startswith("--lang="):
            value = arg.split("=", 1)[1]
        if value is not None and value in LANGUAGES:
            return value
    return resolve_lang(None, environ)
