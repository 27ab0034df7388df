"""Which captures were handed in, and by whom (the student ids).

The rule (README, "Grading a class"):
  * a capture file (.pcap, .pcapng, .cap; or any file named on the command line) is one
    submission; its student id is the file's stem: `alice.pcap` -> `alice`;
  * a folder holding exactly one capture file (and no folder with captures) is one student's
    submission; the id is the folder's name: `alice/reqresp.pcap` -> `alice`;
  * any other folder is a class: each capture file directly in it and each folder below it is a
    submission by the rules above (one level: `class/alice/`, `class/bob.pcap`);
  * when two files get the same id (`a/reqresp.pcap` and `b/reqresp.pcap` named one by one),
    each takes its folder's name instead (`a`, `b`), and the folder above that if still equal;
  * ids keep letters, digits, `.`, `_` and `-` (anything else becomes `_`; no leading `.`;
    `_` before the names of the run's own files, e.g. `grades.html`) because they name the
    report folders. Ids still equal after all that are an error naming both paths.

A student folder with no capture, or with several, is still a submission: it is graded as
failed with a one-line reason, and the others go on.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple, Sequence

from analysis.grade.errors import Problem, SubmissionError
from analysis.i18n import N_

CAPTURE_SUFFIXES = (".pcap", ".pcapng", ".cap")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


class Submission(NamedTuple):
    student: str
    path: str               # the capture file, or the folder when it holds none / several
    problem: Problem | None  # why it cannot be graded before it is read (None: read `path`)


def is_capture(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in CAPTURE_SUFFIXES


def _captures(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if is_capture(p))


# the files a grade run writes beside the student folders
# a student folder with several captures ({count} is at least 2, so one form in English)
HOLDS_SEVERAL = N_("the folder holds {count} captures ({names}); keep one")

RESERVED = frozenset({"gradebook.csv", "grades.html", "integrity.csv"})


def _safe(name: str) -> str:
    name = _UNSAFE.sub("_", name).lstrip(".")
    return "_" + name if name in RESERVED else name or "_"


def find_submissions(args: Sequence[str | Path], exclude: Path | None = None) -> list[Submission]:
    """The submissions named by files and folders, sorted by student id. `exclude`: a folder
    that is never a submission (the run's own output folder, when it sits in the class's)."""
    found: list[tuple[Path, str | None, str | None]] = []   # (path, folder id or None, problem)
    for arg in args:
        path = Path(arg)
        if path.is_file():
            found.append((path, None, None))
        elif path.is_dir():
            found += _folder(path, top=True)
        else:
            raise SubmissionError(N_("no such capture file or folder"), path=str(arg),
                                  hint=N_("give capture files or the folder of a class"))
    unique: dict[Path, tuple[Path, str | None, str | None]] = {}
    skip = exclude.resolve() if exclude is not None else None
    for item in found:
        if skip is not None and (item[0].resolve() == skip or skip in item[0].resolve().parents):
            continue
        unique.setdefault(item[0].resolve(), item)
    return _name(list(unique.values()))


def _folder(folder: Path, top: bool) -> list[tuple[Path, str | None, str | None]]:
    captures = _captures(folder)
    # a previous run's --out folder (it holds gradebook.csv) is not a student
    subfolders = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")
                        and not (p / "gradebook.csv").exists())
    if len(captures) == 1 and not any(_captures(d) for d in subfolders):
        return [(captures[0], folder.name, None)]
    if not top:
        names = ", ".join(p.name for p in captures)
        problem = (Problem(HOLDS_SEVERAL, (("count", len(captures)), ("names", names)))
                   if captures else Problem(N_("the folder holds no capture (.pcap, .pcapng, .cap)")))
        return [(folder, folder.name, problem)]
    if not captures and not subfolders:
        raise SubmissionError(N_("the folder holds no capture and no student folder"), path=str(folder),
                              hint=N_("a class folder holds one folder or one .pcap per student"))
    items = [(p, None, None) for p in captures]
    for sub in subfolders:
        items += _folder(sub, top=False)
    return items


def _name(items: list[tuple[Path, str | None, str | None]]) -> list[Submission]:
    def id_at(path: Path, folder_id: str | None, depth: int) -> str | None:
        """The id at this depth of folders, None when there are no more folders to take."""
        if folder_id is None:
            if depth == 0:
                return _safe(path.stem)
            dirs = path.resolve().parent.parts[1:]
        else:
            dirs = (path.resolve() if path.is_dir() else path.resolve().parent).parts[1:]
            depth += 1
        return _safe("-".join(dirs[-depth:])) if depth <= len(dirs) else None

    depth = {i: 0 for i in range(len(items))}
    while True:
        ids: dict[str, list[int]] = {}
        for i, (path, folder_id, _) in enumerate(items):
            ids.setdefault(id_at(path, folder_id, depth[i]), []).append(i)
        clashes = [group for group in ids.values() if len(group) > 1]
        if not clashes:
            break
        for group in clashes:
            for i in group:
                depth[i] += 1
                if id_at(items[i][0], items[i][1], depth[i]) is None:
                    a, b = (str(items[j][0]) for j in group[:2])
                    raise SubmissionError(N_("{first} and {second} get the same student id"),
                                          hint=N_("rename one file or folder"),
                                          fields={"first": a, "second": b})
    result = [Submission(id_at(p, f, depth[i]), str(p), problem)
              for i, (p, f, problem) in enumerate(items)]
    return sorted(result, key=lambda s: s.student)
