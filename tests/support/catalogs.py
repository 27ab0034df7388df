"""The message catalogs, compiled for the tests (what `make locale` does), so that
`pip install -e '.[test]'` then `pytest` works without make: the analyzer's (analysis/locale,
domain reqresp) and the capture tool's (capture/locale, domain reqresp-capture)."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOCALE = ROOT / "analysis" / "locale"
LOCALES = (LOCALE, ROOT / "capture" / "locale")


def compile_stale_catalogs() -> list[Path]:
    """Compile every .po whose .mo is missing or older; returns the .mo files written."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    written = []
    for po in sorted(po for locale in LOCALES for po in locale.glob("*/LC_MESSAGES/*.po")):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime_ns >= po.stat().st_mtime_ns:
            continue
        with po.open("rb") as f:
            catalog = read_po(f, locale=po.parent.parent.name)
        part = mo.with_name(f".{mo.name}.part")
        with part.open("wb") as f:
            write_mo(f, catalog)
        part.replace(mo)
        written.append(mo)
    return written
