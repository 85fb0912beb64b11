"""Segments in worker processes: the comparison is pure Python, and threads share one core (GIL).

:func:`run` forks ``workers`` processes; each takes every ``workers``-th segment of this invocation
and runs them in threads exactly as a single process would (its own DynamoDB client, one
PostgreSQL connection per segment, the segment's state in the store). A worker receives plain
values (the :class:`~reconciler.segment.Job`, its segments) and builds its own live pieces; it
touches no object of the parent. What crosses process boundaries is small and explicit:

- a shared stop event (SIGTERM/SIGINT in any process, an error, or the test hook sets it; every
  worker then finishes and commits its current page);
- the ``--max-rcu`` token bucket and the finished-page counter, in shared memory;
- a queue of messages to the parent: pages done (progress bar), keys compared and discrepancies
  found (the parent adds them to the OpenTelemetry counters), segments whose scan ended (the
  parent starts the anti-join once all have), and a worker's error.

Workers are forked (Linux), before the parent starts any thread of its own, so they start in
milliseconds with the parent's imports and config. They leave with ``os._exit`` (multiprocessing's
default), so the parent's PostgreSQL connection and HTTP pool, inherited but never used, are not
closed by a child. A worker dies with its parent: the kernel sends it SIGKILL when the parent ends
(``PR_SET_PDEATHSIG``), so a parent killed with SIGKILL leaves no worker scanning on.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import queue
import signal
import sys
import traceback
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any

from parity import errors
from parity.errors import ParityError, WorkerFailed
from parity.reconciler import segment
from parity.reconciler.budget import RcuBudget
from parity.reconciler.segment import Job
from parity.reconciler.shared import Events, PageCounter, Progress, Runtime
from parity.reconciler.source import TableSource, new_client

_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def available() -> bool:
    """Worker processes are forked, which is safe and cheap on Linux only."""
    return sys.platform == "linux"


class _QueueEvents(Events):
    def __init__(self, messages: Any) -> None:
        super().__init__()
        self.messages = messages

    def compared(self, n: int) -> None:
        self.messages.put(("compared", n))

    def found(self, kind: str) -> None:
        self.messages.put(("found", kind))

    def scanned(self, segment: int) -> None:
        self.messages.put(("scanned", segment))


class _QueueProgress(Progress):
    def __init__(self, messages: Any) -> None:
        super().__init__()
        self.messages = messages

    def add(self, items: int) -> None:
        self.messages.put(("page", items))


def _portable(exc: BaseException) -> tuple[str, str, str | None, str]:
    """An exception as plain strings (class name, message, hint, traceback): always picklable."""
    if isinstance(exc, ParityError):
        return type(exc).__name__, exc.message, exc.hint, ""
    return type(exc).__name__, str(exc), None, "".join(traceback.format_exception(exc))


def _rebuild(name: str, message: str, hint: str | None, trace: str) -> BaseException:
    cls = getattr(errors, name, None)
    if isinstance(cls, type) and issubclass(cls, ParityError):
        return cls(message, hint=hint)
    return WorkerFailed(f"a reconcile worker failed: {name}: {message}", traceback=trace)


def _die_with_parent(parent: int) -> None:
    """Ask the kernel for SIGKILL when the parent ends (Linux ``PR_SET_PDEATHSIG``); if the parent
    ended already (before the request took effect), end now."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - not Linux: the parent stops workers itself
        return
    if os.getppid() != parent:
        os._exit(1)


def _child(job: Job, segments: Sequence[int], index: int, parent: int, shared: dict[str, Any]) -> None:
    """A worker process: its own DynamoDB client and runtime around the shared pieces; run the segments."""
    _die_with_parent(parent)
    stop = shared["stop"]
    messages = shared["messages"]

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    try:  # the setup too: an error anywhere is reported, never a traceback on the worker's stderr
        runtime = Runtime(
            stop=stop,
            budget=shared["budget"],
            pages=shared["pages"],
            events=_QueueEvents(messages),
            progress=_QueueProgress(messages),
            stop_after_pages=shared["stop_after_pages"],
        )
        source = TableSource(job.config, job.shape, new_client(job.config, 2 * len(segments) + 2), runtime.budget)
        segment.run_threads(job, segments, runtime, source)
    except BaseException as exc:  # reported to the parent, which raises it
        stop.set()
        messages.put(("error", (index, _portable(exc))))
    else:
        messages.put(("done", index))


def run(
    job: Job,
    mine: Sequence[int],
    workers: int,
    parent: Runtime,
    max_rcu: float | None,
    started: Callable[[], None] | None = None,
) -> None:
    """Run the segments ``mine`` in ``workers`` forked processes; re-raise the first error.

    ``parent`` is this process's runtime: its stop event is watched and set, its events and
    progress receive what the workers report.
    """
    context = multiprocessing.get_context("fork")
    messages: Any = context.Queue()
    stop = context.Event()
    shared = {
        "stop": stop,
        "messages": messages,
        "budget": RcuBudget.shared(max_rcu, context),
        "pages": PageCounter(context.RawArray("q", [0]), context.Lock()),
        "stop_after_pages": parent.stop_after_pages,
    }
    groups = [list(mine)[i::workers] for i in range(workers)]
    pid = os.getpid()
    procs = [
        context.Process(target=_child, args=(job, group, i, pid, shared), name=f"reconcile-worker-{i}", daemon=True)
        for i, group in enumerate(groups)
    ]
    for proc in procs:
        proc.start()
    if started is not None:
        started()
    failures: list[BaseException] = []
    ended: set[int] = set()  # workers whose last message ("done" or "error") arrived

    def handle(message: tuple[str, Any]) -> None:
        kind, value = message
        if kind == "page":
            parent.progress.add(int(value))
        elif kind == "compared":
            parent.events.compared(int(value))
        elif kind == "found":
            parent.events.found(str(value))
        elif kind == "scanned":
            parent.events.scanned(int(value))
        elif kind == "error":
            index, error = value
            ended.add(int(index))
            failures.append(_rebuild(*error))
        elif kind == "done":
            ended.add(int(value))

    # each worker's last message is "done" or "error": once all arrived, the queue is drained
    while len(ended) < len(procs) and any(p.is_alive() for p in procs):
        if parent.stop.is_set():
            stop.set()
        with contextlib.suppress(queue.Empty):
            handle(messages.get(timeout=0.2))
        if any(p.exitcode is not None and i not in ended for i, p in enumerate(procs)):
            _drain(messages, handle)  # an exited worker's last message is in the pipe by now
            if any(p.exitcode is not None and i not in ended for i, p in enumerate(procs)):
                stop.set()  # it died without a word (killed): stop the others after their page
        if stop.is_set():
            parent.stop.set()
    for proc in procs:
        proc.join()
    if len(ended) < len(procs):
        _drain(messages, handle)  # what a worker that died sent before
    if stop.is_set():
        parent.stop.set()
    if failures:
        raise failures[0]
    if len(ended) < len(procs):
        codes = [p.exitcode for p in procs]
        parent.stop.set()
        raise WorkerFailed(f"a reconcile worker process ended without finishing (exit codes {codes})")


def _drain(messages: Any, handle: Callable[[tuple[str, Any]], None]) -> None:
    """Handle every message already sent (exited workers flushed theirs before exiting)."""
    while True:
        try:
            handle(messages.get(timeout=0.05))
        except queue.Empty:
            return


__all__ = ["WorkerFailed", "available", "run"]
