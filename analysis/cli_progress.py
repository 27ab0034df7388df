"""The command line's progress bar: rich, on stderr, drawn from the library's Progress reports.

    with progress_bar(t) as hook:              # t: the command's gettext translation
        result = analyze(path, progress=hook)

Nothing is drawn when stderr is not a terminal (a pipe, a file, CI), nor for work that ends
within DELAY seconds: the bar appears once a task has run that long, shows what is done (frames,
bytes of capture, kernels or captures), the rate and the time left, and is removed when the work
ends (transient), so the command's own output follows as before. The rate is the task's own:
a compile before a read is its own bar, and the read's frames/s start when the read does.
"""
from __future__ import annotations

import contextlib
import os
import sys
import time
from typing import Iterator, TextIO

from analysis.i18n import N_, NP_
from analysis.progress import TASKS, Progress, ProgressHook

DELAY = 2.0              # s of work before a bar is worth showing
DELAY_VARIABLE = "REQRESP_PROGRESS_DELAY"   # another delay (0: a bar for any work; tests use it)
_FRAMES = NP_("{count} frame", "{count} frames")
_FRAME_RATE = N_("{rate} frames/s")
_KERNELS = N_("{done} of {total} kernels")
_FILES = N_("{done} of {total} captures")
_STEPS = N_("step {done} of {total}")
_LEFT = N_("left")


class ProgressBar:
    """A ProgressHook that draws one rich bar per task (the first DELAY s of each: nothing)."""

    def __init__(self, t, stream: TextIO | None = None, *, delay: float | None = None,
                 enabled: bool | None = None, label: str | None = None) -> None:
        self.t = t
        self.stream = sys.stderr if stream is None else stream
        self.enabled = _is_terminal(self.stream) if enabled is None else enabled
        self.delay = _delay() if delay is None else delay
        self.label = label                # replaces the task's own name (e.g. "grading")
        self._clock: dict[str, float] = {}     # task -> when its first report came
        self._bar = None
        self._tasks: dict[str, int] = {}
        self._done: set[str] = set()

    def __call__(self, report: Progress) -> None:
        if not self.enabled or report.task in self._done:
            return
        now = time.monotonic()
        began = self._clock.setdefault(report.task, now)
        appears = report.task not in self._tasks
        if appears:
            if report.finished or now - began < self.delay:
                return
            self._add(report, began)
        # drawn at once when it appears (mid-work, by the test above), then at rich's own rate
        self._update(report, now - began, refresh=appears or report.finished)
        if report.finished:
            self._done.add(report.task)
            if self._done >= set(self._tasks):   # what follows (writing the report) is not this work
                self.close()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    # -- drawing -----------------------------------------------------------------------------

    def _add(self, report: Progress, began: float) -> None:
        if self._bar is None:
            self._bar = _rich_progress(self.stream, self.t)
            self._bar.start()
        name = self.label or self.t.gettext(TASKS.get(report.task, report.task))
        task = self._bar.add_task(name, total=None, counts="", bytes="", rate="")
        # the task's clock is the work's, not the bar's: rate and time left count from its start
        self._bar.tasks[-1].start_time = self._bar.get_time() - (time.monotonic() - began)
        self._tasks[report.task] = task

    def _update(self, report: Progress, elapsed: float, refresh: bool) -> None:
        from rich.filesize import decimal

        t, task = self.t, self._tasks[report.task]
        counts, rate = [], ""
        if report.task == "compile":
            completed, total = report.items_done, report.items_total
            counts.append(t.gettext(_KERNELS).format(done=report.items_done, total=report.items_total))
        elif report.task == "files":
            completed, total = report.bytes_done, report.bytes_total
            counts.append(t.gettext(_FILES).format(done=report.items_done, total=report.items_total))
        elif report.task == "report":
            # the first step (every frame's JSON and CSV) moves the bar frame by frame
            completed, total = report.items_done, report.items_total
            if report.items_done == 0 and report.frames_total:
                completed = report.frames / report.frames_total
            counts.append(t.gettext(_STEPS).format(done=min(report.items_done + 1, report.items_total),
                                                   total=report.items_total))
        else:
            completed, total = report.bytes_done, report.bytes_total
        if report.frames:
            counts.append(t.ngettext(*_FRAMES, report.frames).format(count=f"{report.frames:,}"))
            # a read's rate; the report's frames are written in its first step only
            if elapsed > 0 and report.task != "report":
                rate = t.gettext(_FRAME_RATE).format(rate=f"{report.frames / elapsed:,.0f}")
        size = ""
        if report.bytes_done or report.bytes_total:
            size = decimal(report.bytes_done) + (f"/{decimal(report.bytes_total)}"
                                                 if report.bytes_total else "")
        self._bar.update(task, completed=completed, total=total, counts=", ".join(counts),
                         bytes=size, rate=rate, refresh=refresh)


def _delay() -> float:
    try:
        return max(0.0, float(os.environ.get(DELAY_VARIABLE, DELAY)))
    except ValueError:
        return DELAY


def _is_terminal(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _rich_progress(stream, t):
    from rich.console import Console
    from rich.progress import BarColumn, Progress as RichProgress, TaskProgressColumn, TextColumn, \
        TimeRemainingColumn

    return RichProgress(TextColumn("[bold]{task.description}"), BarColumn(), TaskProgressColumn(),
                        TextColumn("{task.fields[counts]}"), TextColumn("{task.fields[bytes]}"),
                        TextColumn("{task.fields[rate]}"), TextColumn(t.gettext(_LEFT)),
                        TimeRemainingColumn(),
                        console=Console(file=stream, force_terminal=True), transient=True,
                        refresh_per_second=5)


@contextlib.contextmanager
def progress_bar(t, stream: TextIO | None = None, **options) -> Iterator[ProgressHook]:
    """A ProgressBar for the block, removed from the terminal when the block ends (also on error)."""
    bar = ProgressBar(t, stream, **options)
    try:
        yield bar
    finally:
        bar.close()
