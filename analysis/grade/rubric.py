"""Rubrics as data: a TOML file (standard library tomllib) naming checks from checks.CHECKS.

    [lab]
    port = 2222                  # optional; the lab server's port (default 2222)
    network = "172.28.0.0/24"    # optional; the lab's addresses (integrity signals)

    [[criterion]]
    id = "echo"                  # column of gradebook.csv: letters, digits, _ and -
    check = "echo_exchanges"     # one of checks.CHECKS
    title = "Echo"               # optional; else the check's own (translated) title
    points = 2                   # > 0; a criterion earns all its points or none
    min = 2                      # the check's parameters, by name (checks.py lists them)

Every mistake is one RubricError naming the file and the line: tomllib's own syntax errors
carry a line; for a value that parses but is wrong, the line is found by scanning the text for
the offending key inside the n-th `[[criterion]]` table (tomllib keeps no positions).
"""
from __future__ import annotations

import ipaddress
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.grade.checks import CHECKS, Param
from analysis.grade.errors import RubricError
from analysis.i18n import N_

DEFAULT_RUBRIC = Path(__file__).with_name("default_rubric.toml")
_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,39}$")
_OPTION = re.compile(r"^[A-Za-z0-9_]{1,32}$")
_TOMLLIB_LINE = re.compile(r"\(at line (\d+), column \d+\)")
_CRITERION_KEYS = {"id", "check", "title", "points"}
_LAB_KEYS = {"port", "network"}


@dataclass(frozen=True)
class Criterion:
    id: str
    check: str
    title: str | None           # None: the check's own title, in the feedback's language
    points: float
    params: tuple[tuple[str, Any], ...]   # every parameter of the check, defaults filled in

    def param(self, name: str) -> Any:
        return dict(self.params)[name]


@dataclass(frozen=True)
class Rubric:
    path: str
    port: int
    network: str
    criteria: tuple[Criterion, ...]

    @property
    def max_points(self) -> float:
        return sum(c.points for c in self.criteria)


def load_rubric(path: str | Path | None = None) -> Rubric:
    """Read and validate a rubric file (the course's default when `path` is None)."""
    path = Path(path) if path is not None else DEFAULT_RUBRIC
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise RubricError(N_("cannot read the rubric: {error}"), path=str(path),
                          hint=N_("give an existing TOML file with --rubric"),
                          fields={"error": str(error.strerror or error)}) from None
    return parse_rubric(text, str(path))


def parse_rubric(text: str, path: str) -> Rubric:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        match = _TOMLLIB_LINE.search(str(error))
        # {error}: tomllib's own words
        raise RubricError(N_("not valid TOML: {error}"), path=path,
                          line=int(match.group(1)) if match else None,
                          fields={"error": _TOMLLIB_LINE.sub('', str(error)).strip()}) from None
    lines = _Lines(text, path)
    unknown = sorted(set(data) - {"lab", "criterion"})
    if unknown:
        raise lines.error(N_("unknown table or key {key!r} (a rubric has [lab] and "
                             "[[criterion]] tables)"), lines.top_key(unknown[0]), key=unknown[0])
    lab = data.get("lab", {})
    if not isinstance(lab, dict):
        raise lines.error(N_("'lab' must be a table: [lab]"), lines.top_key("lab"))
    for key in sorted(set(lab) - _LAB_KEYS):
        raise lines.error(N_("unknown key {key!r} in [lab] (keys: port, network)"),
                          lines.in_table("lab", None, key), key=key)
    port = lab.get("port", 2222)
    if not _is_port(port):
        raise lines.error(N_("port must be a whole number from 1 to 65535, not {value!r}"),
                          lines.in_table("lab", None, "port"), value=port)
    network = lab.get("network", "172.28.0.0/24")
    try:
        network = str(ipaddress.ip_network(network))
    except (ValueError, TypeError):
        raise lines.error(N_("network must be an address block like \"172.28.0.0/24\", not "
                             "{value!r}"), lines.in_table("lab", None, "network"),
                          value=network) from None
    tables = data.get("criterion", [])
    if not isinstance(tables, list) or not tables:
        raise lines.error(N_("no criteria: add [[criterion]] tables"), lines.top_key("criterion"))
    criteria = []
    for index, table in enumerate(tables):
        criteria.append(_criterion(table, index, port, lines))
    ids = [c.id for c in criteria]
    for index, cid in enumerate(ids):
        if cid in ids[:index]:
            raise lines.error(N_("criterion id {id!r} is used twice (ids name gradebook columns)"),
                              lines.in_table("criterion", index, "id"), id=cid)
    return Rubric(path, port, network, tuple(criteria))


def _criterion(table: dict, index: int, port: int, lines: "_Lines") -> Criterion:
    where = lambda key: lines.in_table("criterion", index, key)  # noqa: E731
    check_name = table.get("check")
    if check_name is None:
        raise lines.error(N_("criterion without check = \"...\" (checks: {checks})"), where(None),
                          checks=", ".join(CHECKS))
    check = CHECKS.get(check_name)
    if check is None:
        raise lines.error(N_("unknown check {check!r} (checks: {checks})"), where("check"),
                          check=check_name, checks=", ".join(CHECKS))
    cid = table.get("id", check_name)
    if not isinstance(cid, str) or not _ID.match(cid):
        raise lines.error(N_("criterion id {id!r} must start with a letter and hold only letters, "
                             "digits, _ and - (at most 40)"), where("id"), id=cid)
    title = table.get("title")
    if title is not None and (not isinstance(title, str) or not title.strip()):
        raise lines.error(N_("title must be a non-empty string"), where("title"))
    points = table.get("points", 1)
    if isinstance(points, bool) or not isinstance(points, (int, float)) or not 0 < points <= 1000:
        raise lines.error(N_("points must be a number above 0 (at most 1000), not {value!r}"),
                          where("points"), value=points)
    params = {}
    for key in table:
        if key not in _CRITERION_KEYS and key not in check.params:
            if check.params:
                raise lines.error(N_("unknown parameter {key!r} for check {check} (parameters: "
                                     "{known})"), where(key), key=key, check=check_name,
                                  known=", ".join(check.params))
            raise lines.error(N_("unknown parameter {key!r} for check {check} (parameters: none)"),
                              where(key), key=key, check=check_name)
    for name, spec in check.params.items():
        value = table.get(name, port if spec.default is None else spec.default)
        problem = _bad_value(spec, value)
        if problem:
            raise lines.error(problem, where(name), check=check_name, name=name, value=value)
        params[name] = [v.upper() for v in value] if spec.kind == "options" else value
    return Criterion(cid, check_name, title, float(points), tuple(sorted(params.items())))


def _is_port(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535


def _bad_value(spec: Param, value: Any) -> str | None:
    """Why `value` does not fit `spec` (a message with {check}, {name} and {value}), or None."""
    whole = isinstance(value, int) and not isinstance(value, bool)
    if spec.kind == "count" and not (whole and 0 <= value <= 10_000):
        return N_("{check}: {name} must be a whole number from 0 to 10000, not {value!r}")
    if spec.kind == "port" and not _is_port(value):
        return N_("{check}: {name} must be a whole number from 1 to 65535, not {value!r}")
    if spec.kind == "allowed" and not (isinstance(value, bool) or (whole and 0 <= value <= 10**6)):
        return N_("{check}: {name} must be true, false or a whole number of at least 0, not {value!r}")
    if spec.kind == "options":
        if (not isinstance(value, list) or not value
                or not all(isinstance(v, str) and _OPTION.match(v) for v in value)):
            return N_("{check}: {name} must be a non-empty list of names like [\"A\", \"B\"], "
                      "not {value!r}")
        if len({v.upper() for v in value}) != len(value):
            return N_("{check}: {name} lists an option twice: {value!r}")
    return None


class _Lines:
    """Finds the line of a key in the rubric's text (tomllib gives values, not positions)."""

    _HEADER = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_.\"'-]+)\s*\]\]?")

    def __init__(self, text: str, path: str) -> None:
        self.lines = text.splitlines()
        self.path = path

    def error(self, message: str, line: int | None, **fields: Any) -> RubricError:
        """`message`: an English template (marked N_()), its {fields} named here."""
        return RubricError(message, path=self.path, line=line, fields=fields)

    def _key(self, start: int, stop: int, key: str) -> int | None:
        pattern = re.compile(rf"^\s*(\"{re.escape(key)}\"|'{re.escape(key)}'|{re.escape(key)})\s*=")
        for number in range(start, stop):
            if pattern.match(self.lines[number]):
                return number + 1
        return None

    def _headers(self) -> list[tuple[int, str]]:
        found = []
        for number, line in enumerate(self.lines):
            match = self._HEADER.match(line)
            if match:
                found.append((number, match.group(1).strip("\"'")))
        return found

    def top_key(self, key: str) -> int | None:
        headers = self._headers()
        stop = headers[0][0] if headers else len(self.lines)
        line = self._key(0, stop, key)
        if line is None:
            line = next((n + 1 for n, name in headers if name.split(".")[0] == key), None)
        return line

    def in_table(self, table: str, index: int | None, key: str | None) -> int | None:
        """The line of `key` in the `index`-th [[table]] (or in [table]); its header's line
        when the key is absent from it (a missing key, or a default that does not fit)."""
        headers = self._headers()
        starts = [n for n, name in headers if name == table]
        if not starts:
            return None
        start = starts[index or 0] if (index or 0) < len(starts) else starts[-1]
        later = [n for n, _ in headers if n > start]
        stop = later[0] if later else len(self.lines)
        found = self._key(start + 1, stop, key) if key is not None else None
        return found if found is not None else start + 1
