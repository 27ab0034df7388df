"""Run one task per file, serially or over Dask distributed, and give the results back in order.

    results = fan_out(func, items, workers=None, scheduler=None, progress="files")

  * workers=None: a LocalCluster of processes, one per core (one thread each: the analyzer is
    pure Python, so processes are what scales);
  * workers=1: serial, in this process (no Dask at all);
  * scheduler="tcp://HOST:8786": an existing cluster (a department's compute nodes). Its workers
    must import this package (the same install) and see the same paths (a shared filesystem),
    since tasks read the captures and write the report folders themselves.

The local cluster binds to 127.0.0.1 only, with no dashboard: every socket it opens, the
scheduler's and workers' small HTTP endpoints (health, metrics) included, listens on loopback
(measured with `ss -tlnp`: 8 listeners, all 127.0.0.1). It is closed when the run ends, also on error or Ctrl-C. Results come back in the order of
`items` whatever order the tasks finish in, so a run's outputs do not depend on the schedule.
A task's exception does not stop the others: `fan_out` returns it in the task's place, and the
caller decides (grade and batch list it as that file's error).
"""
from __future__ import annotations

import contextlib
import logging
import os
import uuid
from typing import Any, Callable, Iterator, Sequence

from analysis.errors import UsageError
from analysis.i18n import N_


class TaskError:
    """A task that raised: its exception's type and message, in the place of its result."""

    __slots__ = ("kind", "message")

    def __init__(self, kind: str, message: str) -> None:
        self.kind, self.message = kind, message

    def one_line(self) -> str:
        return f"{self.kind}: {self.message}" if self.message else self.kind


def cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def fan_out(func: Callable[..., Any], items: Sequence[Any], *, args: tuple = (),
            workers: int | None = None, scheduler: str | None = None,
            on_done: Callable[[int, Any], None] | None = None) -> list[Any]:
    """func(item, *args) for every item; a list in the order of items (TaskError for a task that
    raised). `on_done(index, result)` is called as each task finishes (a progress report)."""
    if workers is not None and workers < 1:
        raise UsageError(N_("--workers must be at least 1, not {workers}"), fields={"workers": workers})
    if scheduler is not None and not scheduler.startswith(("tcp://", "tls://")):
        raise UsageError(N_("--scheduler must look like tcp://HOST:8786, not {scheduler!r}"),
                         fields={"scheduler": scheduler})
    advance = on_done or (lambda i, result: None)
    if scheduler is None and (workers == 1 or len(items) <= 1):
        return [_serial(func, i, item, args, advance) for i, item in enumerate(items)]
    with _client(workers, scheduler) as client:
        return _distributed(client, func, items, args, advance)


def _serial(func, i, item, args, advance) -> Any:
    try:
        result = func(item, *args)
    except Exception as exc:  # noqa: BLE001 - one file's failure must not stop the class
        result = TaskError(type(exc).__name__, str(exc))
    advance(i, result)
    return result


def _distributed(client, func, items, args, advance) -> list[Any]:
    from dask.distributed import as_completed

    # Keys are global to a scheduler that other runs may share: one token per run keeps two runs'
    # tasks apart, and two equal submissions (a copied capture) are still two tasks.
    token = uuid.uuid4().hex
    futures = [client.submit(func, item, *args, pure=False, key=f"{func.__name__}-{token}-{i}")
               for i, item in enumerate(items)]
    index = {f.key: i for i, f in enumerate(futures)}
    results: list[Any] = [None] * len(items)
    try:
        for future in as_completed(futures):
            i = index[future.key]
            if future.status == "error":
                exc = future.exception()
                results[i] = TaskError(type(exc).__name__, str(exc))
            else:
                results[i] = future.result()
            advance(i, results[i])
    finally:
        client.cancel(futures)
    return results


@contextlib.contextmanager
def _client(workers: int | None, scheduler: str | None) -> Iterator[Any]:
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise UsageError(N_("Dask is not installed (pip install -e '.[grade]'); or run serially "
                            "with --workers 1")) from None
    if scheduler is not None:
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise UsageError(N_("cannot reach the Dask scheduler {scheduler}: {error}"),
                             hint=N_("check the address, or drop --scheduler for a local cluster"),
                             fields={"scheduler": scheduler, "error": str(exc)}) from None
        with client:
            yield client
        return
    n = workers or cores()
    # silence_logs: the cluster's own log lines would bury the run's output (a task's failure
    # comes back through its future and is reported as that file's error; a worker racing the
    # scheduler's shutdown with one last heartbeat logs a harmless traceback at ERROR)
    with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                      scheduler_port=0, dashboard_address=None,
                      silence_logs=logging.CRITICAL) as cluster, \
            Client(cluster) as client:
        yield client
