"""Segments in worker processes: the comparison is pure Python, and threads share one core (GIL).

:func:`run` forks ``workers`` processes; each takes every ``workers``-th segment of this invocation
and runs them in threads exactly as a single process would (its own DynamoDB client, one
PostgreSQL connection per segment, the segment's state in the store). What crosses process
boundaries is small and explicit:

- a shared stop event (SIGTERM/SIGINT in any process, an error, or the test hook sets it; every
  worker then finishes and commits its current page);
- the ``--max-rcu`` token bucket and the finished-page counter, in shared memory;
- a queue of messages to the parent: pages done (progress bar), keys compared and discrepancies
  found (the parent adds them to the OpenTelemetry counters), segments whose scan ended (the
  parent starts the anti-join once all have), and a worker's error.

Workers are forked (Linux), before the parent starts any thread of its own, so they start in
milliseconds with the parent's imports and config. They leave with ``os._exit`` (multiprocessing's
default), so the parent's PostgreSQL connection and HTTP pool, inherited but never used, are not
closed by a child.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import queue
import signal
import sys
import traceback
from collections.abc import Callable, Sequence
from types import FrameType
from typing import TYPE_CHECKING, Any

from parity import errors
from parity.dynamo import client
from parity.errors import ParityError
from parity.reconciler import fast_scan
from parity.reconciler.budget import RcuBudget
from parity.reconciler.engine import Events, PageCounter, Progress

if TYPE_CHECKING:
    from parity.reconciler.engine import Reconciler


class WorkerFailed(ParityError):
    """A worker process ended without reporting (killed, out of memory) or with an unexpected error."""


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
    return WorkerFailed(f"a reconcile worker failed: {name}: {message}", hint=trace.strip().splitlines()[-1] or None)


def _child(reconciler: Reconciler, index: int, segments: Sequence[int], shared: dict[str, Any]) -> None:
    """A worker process: swap in the shared pieces and a fresh DynamoDB client, run the segments."""
    stop = shared["stop"]
    messages = shared["messages"]

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    reconciler.inherited = reconciler.dynamodb  # keep the parent's pool referenced: never closed here
    reconciler.dynamodb = fast_scan.install(client(reconciler.config.dynamodb, max_pool=2 * len(segments) + 2))
    reconciler.stop = stop
    reconciler.budget = shared["budget"]
    reconciler.pages = shared["pages"]
    reconciler.events = _QueueEvents(messages)
    reconciler.progress = _QueueProgress(messages)
    try:
        reconciler.run_threads(segments)
    except BaseException as exc:  # reported to the parent, which raises it
        stop.set()
        messages.put(("error", (index, _portable(exc))))
    else:
        messages.put(("done", index))


def run(reconciler: Reconciler, workers: int, started: Callable[[], None] | None = None) -> None:
    """Run the invocation's segments in ``workers`` forked processes; re-raise the first error."""
    context = multiprocessing.get_context("fork")
    messages: Any = context.Queue()
    stop = context.Event()
    pages = PageCounter(context.RawArray("q", [0]), context.Lock())
    shared = {
        "stop": stop,
        "messages": messages,
        "budget": RcuBudget.shared(reconciler.options.max_rcu, context),
        "pages": pages,
    }
    mine = list(reconciler.options.segments)
    groups = [mine[i::workers] for i in range(workers)]
    procs = [
        context.Process(target=_child, args=(reconciler, i, group, shared), name=f"reconcile-worker-{i}", daemon=True)
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
            reconciler.progress.add(int(value))
        elif kind == "compared":
            reconciler.events.compared(int(value))
        elif kind == "found":
            reconciler.events.found(str(value))
        elif kind == "scanned":
            reconciler.events.scanned(int(value))
        elif kind == "error":
            index, error = value
            ended.add(int(index))
            failures.append(_rebuild(*error))
        elif kind == "done":
            ended.add(int(value))

    # each worker's last message is "done" or "error": once all arrived, the queue is drained
    while len(ended) < len(procs) and any(p.is_alive() for p in procs):
        if reconciler.stop.is_set():
            stop.set()
        with contextlib.suppress(queue.Empty):
            handle(messages.get(timeout=0.2))
        if any(p.exitcode is not None and i not in ended for i, p in enumerate(procs)):
            _drain(messages, handle)  # an exited worker's last message is in the pipe by now
            if any(p.exitcode is not None and i not in ended for i, p in enumerate(procs)):
                stop.set()  # it died without a word (killed): stop the others after their page
        if stop.is_set():
            reconciler.stop.set()
    for proc in procs:
        proc.join()
    if len(ended) < len(procs):
        _drain(messages, handle)  # what a worker that died sent before
    if stop.is_set():
        reconciler.stop.set()
    if failures:
        raise failures[0]
    if len(ended) < len(procs):
        codes = [p.exitcode for p in procs]
        reconciler.stop.set()
        raise WorkerFailed(f"a reconcile worker process ended without finishing (exit codes {codes})")


def _drain(messages: Any, handle: Callable[[tuple[str, Any]], None]) -> None:
    """Handle every message already sent (exited workers flushed theirs before exiting)."""
    while True:
        try:
            handle(messages.get(timeout=0.05))
        except queue.Empty:
            return


__all__ = ["WorkerFailed", "available", "run"]
