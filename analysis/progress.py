"""How far a long piece of work is, told to whoever asked: the library's side of a progress bar.

    from analysis import analyze
    analyze("big.pcap", progress=lambda p: print(p.frames, p.bytes_done, p.bytes_total))

Long work takes an optional `progress` hook and calls it with a `Progress` record every few
thousand frames (and once at the end); the library never draws anything itself. The command
line's bar (analysis/cli_progress.py) is one such hook. A hook that raises stops the work: its
exception goes up to the caller, as from any callback.
"""
from __future__ import annotations

import os
from typing import Callable, NamedTuple

from analysis.i18n import N_

# what the work is; the CLI names it in its bar
TASKS: dict[str, str] = {
    "read": N_("analysing"),                        # frames of one capture
    "compile": N_("compiling the analyzer's kernels"),   # the columnar engine's one-time compile
    "files": N_("analysing the captures"),           # a batch or a class, file by file
    "report": N_("writing the report"),             # make analyze's files, step by step
}
# frames between two calls while a capture is read: rare enough to cost nothing (a call is a few
# hundred nanoseconds against ~4096 frames of work), often enough for a bar to move smoothly
EVERY_FRAMES = 4096


class Progress(NamedTuple):
    """One report of progress. Units a task has no use for stay 0 / None."""

    task: str                     # a key of TASKS
    frames: int = 0               # frames read so far
    bytes_done: int = 0           # bytes of capture read so far (files: of the files finished)
    bytes_total: int | None = None
    items_done: int = 0           # kernels compiled / files finished
    items_total: int | None = None
    finished: bool = False        # the last report of this task
    frames_total: int | None = None   # frames to write (task "report")


ProgressHook = Callable[[Progress], None]


def file_size(path) -> int | None:
    """The size of a capture on disk, for `bytes_total` (None: a stream, or it cannot be told)."""
    try:
        return os.stat(path).st_size
    except (OSError, TypeError, ValueError):
        return None


class _KernelCount:
    """numba's compile events turned into "kernels compiled of kernels defined" reports."""

    def __init__(self, hook: ProgressHook, package: str) -> None:
        import sys

        from numba.core.dispatcher import Dispatcher

        self.hook = hook
        # every kernel of the engine's loaded modules; a kernel compiles its callees as it is
        # typed, so each one counts when its own compile ends (a cache hit sends no event)
        self.kernels = {id(v) for name, module in list(sys.modules.items())
                        if name == package or name.startswith(package + ".")
                        for v in vars(module).values() if isinstance(v, Dispatcher)}
        self.done: set[int] = set()

    def on_end(self, dispatcher) -> None:
        if id(dispatcher) in self.kernels and id(dispatcher) not in self.done:
            self.done.add(id(dispatcher))
            self.report(False)

    def report(self, finished: bool) -> None:
        total = len(self.kernels)
        self.hook(Progress("compile", items_done=total if finished else len(self.done),
                           items_total=total, finished=finished))


def compile_progress(hook: ProgressHook | None, package: str = "analysis.columnar"):
    """A context manager: while it is open, each kernel of `package` whose numba compile ends is
    reported to `hook` (task "compile", items = kernels); import the kernels' modules first."""
    import contextlib

    if hook is None:
        return contextlib.nullcontext()
    from numba.core import event

    count = _KernelCount(hook, package)

    class Listener(event.Listener):
        def on_start(self, ev) -> None:
            pass

        def on_end(self, ev) -> None:
            count.on_end(ev.data["dispatcher"])

    @contextlib.contextmanager
    def listening():
        count.report(False)
        with event.install_listener("numba:compile", Listener()):
            yield count
        count.report(True)

    return listening()


def files_progress(hook: ProgressHook | None, paths, frames_of=None):
    """An `on_done(index, result)` for work over many captures that reports to `hook` (task
    "files": captures finished of all, their bytes, and the frames `frames_of(result)` counts);
    None without a hook. It reports 0 done at once, so a bar's clock starts with the work."""
    if hook is None:
        return None
    sizes = [file_size(p) or 0 for p in paths]
    state = {"files": 0, "bytes": 0, "frames": 0}

    def report() -> None:
        hook(Progress("files", frames=state["frames"], bytes_done=state["bytes"],
                      bytes_total=sum(sizes), items_done=state["files"], items_total=len(sizes),
                      finished=state["files"] == len(sizes)))

    def done(index: int, result) -> None:
        state["files"] += 1
        state["bytes"] += sizes[index]
        if frames_of is not None:
            state["frames"] += frames_of(result) or 0
        report()

    report()
    return done


class ReportSteps:
    """A report's writing told to `hook` (task "report"): the steps done of `steps`, and within
    the first, which writes every frame (analysis.json, frames.csv), the frames written so far
    of `frames_total`."""

    def __init__(self, hook: ProgressHook | None, steps: int, frames_total: int) -> None:
        self.hook, self.steps, self.frames_total = hook, steps, frames_total
        self.done = self.frames = 0
        self._tell(False)             # the task's clock starts with the work

    def frames_written(self, count: int) -> None:
        self.frames += count
        self._tell(False)

    def step_done(self) -> None:
        self.done += 1
        self._tell(self.done >= self.steps)

    def _tell(self, finished: bool) -> None:
        if self.hook is not None:
            self.hook(Progress("report", frames=self.frames, items_done=self.done,
                               items_total=self.steps, finished=finished,
                               frames_total=self.frames_total))
