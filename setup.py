"""The message catalogs are compiled when the package is built (pip install ., pipx install .,
a wheel): each locale/*/LC_MESSAGES/*.po of analysis/ and capture/ becomes its .mo beside it,
so an installed copy speaks Indonesian without `make locale`. Everything else is pyproject.toml."""
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

CATALOGS = {"analysis": "reqresp", "capture": "reqresp-capture"}   # package -> gettext domain


class BuildWithCatalogs(build_py):
    def run(self) -> None:
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        root = Path(__file__).resolve().parent
        for package, domain in CATALOGS.items():
            for po in sorted((root / package / "locale").glob(f"*/LC_MESSAGES/{domain}.po")):
                with po.open("rb") as source:
                    catalog = read_po(source, locale=po.parts[-3])
                with po.with_suffix(".mo").open("wb") as target:
                    write_mo(target, catalog)
        super().run()


setup(cmdclass={"build_py": BuildWithCatalogs})
