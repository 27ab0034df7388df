"""Many captures, one row each: `python -m analysis batch FILES-OR-FOLDERS --out DIR`.

A row holds the capture's path, its frame count, the count of every phase and label
(`phase_<name>`, `label_<name>`, every name of analysis.vocabulary, 0 when absent), its
connections and their Zeek conn_states (`conn_<STATE>`), exchanges, the vote totals the replies
reached (`votes`, "A=2 B=1 C=0"), its warnings (count and messages) and `error` (why the file
could not be read; the other columns are then empty). Written to DIR/batch.parquet (pyarrow)
and DIR/batch.csv, rows in the order of the paths (sorted within a folder).

Each capture is one task (fan-out: serial, a local Dask cluster or a remote one); the frames are
streamed (`analysis.iter_labeled`), so a large capture takes memory for its open connections only.
"""
from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import NamedTuple, Sequence

from analysis.api import Analysis, iter_labeled
from analysis.errors import AnalysisError
from analysis.i18n import N_
from analysis.vocabulary import CONN_STATES, LABELS, PHASES
from analysis.grade.errors import Problem, SubmissionError
from analysis.grade.fanout import TaskError, fan_out
from analysis.grade.submissions import CAPTURE_SUFFIXES
from analysis.progress import ProgressHook, files_progress

COLUMNS = (["path", "frames", *(f"phase_{p}" for p in PHASES), *(f"label_{name}" for name in LABELS),
            "connections", *(f"conn_{s}" for s in CONN_STATES), "exchanges", "votes",
            "warnings", "warning_messages", "error"])


class BatchResult(NamedTuple):
    rows: list[dict]
    failed: list[tuple[str, Problem]]    # (path, why): .one_line(t) in t's language; the row's
                                         # `error` column keeps the English line
    written: list[Path]


def capture_paths(args: Sequence[str | os.PathLike]) -> list[str]:
    """Files as given; folders expanded to their capture files (recursively, sorted)."""
    paths: list[str] = []
    for arg in args:
        path = Path(arg)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*")
                           if p.is_file() and p.suffix.lower() in CAPTURE_SUFFIXES)
            if not found:
                raise SubmissionError(N_("the folder holds no capture (.pcap, .pcapng, .cap)"),
                                      path=str(path))
            paths += [str(p) for p in found]
        elif path.is_file():
            paths.append(str(path))
        else:
            raise SubmissionError(N_("no such capture file or folder"), path=str(arg),
                                  hint=N_("give capture files or folders of captures"))
    return list(dict.fromkeys(paths))


def capture_row(path: str) -> dict:
    """One capture's row (never raises for an unreadable capture: `error` says why)."""
    return _capture_task(path)[0]


def _capture_task(path: str) -> tuple[dict, Problem | None]:
    """The row and, for a capture that could not be read, why (the task fan-out runs)."""
    row: dict = {name: None for name in COLUMNS}
    row["path"] = path
    finished: list[Analysis] = []
    phases: Counter = Counter()
    labels: Counter = Counter()
    frames = 0
    try:
        for frame in iter_labeled(path, on_finish=finished.append):
            frames += 1
            phases[frame.phase] += 1
            labels[frame.label] += 1
    except AnalysisError as exc:
        problem = Problem.of(exc)
    except OSError as exc:
        problem = Problem.verbatim(str(exc.strerror or exc), path=path)
    else:
        problem = None
    if problem is not None:
        row["error"] = problem.one_line()
        return row, problem
    result = finished[0]
    states = Counter(c.conn_state for c in result.connections)
    row.update(frames=frames, connections=len(result.connections), exchanges=len(result.exchanges),
               votes=" ".join(f"{k}={v}" for k, v in result.votes.items()),
               warnings=len(result.warnings),
               warning_messages=" | ".join(w.message for w in result.warnings), error="")
    row.update({f"phase_{p}": phases[p] for p in PHASES})
    row.update({f"label_{name}": labels[name] for name in LABELS})
    row.update({f"conn_{s}": states[s] for s in CONN_STATES})
    return row, None


def batch(args: Sequence[str | os.PathLike], out: str | os.PathLike, *, workers: int | None = None,
          scheduler: str | None = None, progress: ProgressHook | None = None) -> BatchResult:
    """Analyse every capture into one table; per-file errors are rows with `error`, not a stop.
    `progress` (analysis.progress): told as each capture is done (captures, bytes, frames)."""
    paths = capture_paths(args)
    on_done = files_progress(progress, paths,
                             lambda done: done[0].get("frames") if isinstance(done, tuple) else 0)
    raw = fan_out(_capture_task, paths, workers=workers, scheduler=scheduler, on_done=on_done)
    rows, failed = [], []
    for path, done in zip(paths, raw):
        if isinstance(done, TaskError):    # a crash, not a bad capture: Python's own words
            problem = Problem.verbatim(done.one_line(), path=path)
            done = (dict({name: None for name in COLUMNS}, path=path, error=problem.one_line()),
                    problem)
        row, problem = done
        rows.append(row)
        if problem is not None:
            failed.append((path, problem))
    return BatchResult(rows, failed, write_table(rows, Path(out)))


def write_table(rows: list[dict], out: Path) -> list[Path]:
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    schema = pa.schema([(name, pa.string() if name in ("path", "votes", "warning_messages", "error")
                         else pa.int64()) for name in COLUMNS])
    table = pa.Table.from_pylist(rows, schema=schema)
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "batch.parquet", out / "batch.csv"]
    for target, write in ((written[0], lambda p: pq.write_table(table, p)),
                          (written[1], lambda p: pacsv.write_csv(table, p))):
        temporary = target.with_name(f".{target.name}.tmp")
        write(str(temporary))
        os.replace(temporary, target)      # a reader never sees half a table
    return written
