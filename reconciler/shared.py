"""What the segment workers of one invocation share: a stop event, the RCU budget, counters, events.

Threads share these objects as they are; worker processes get versions that cross the process
boundary (shared memory, a queue to the parent: see :mod:`reconciler.processes`). Nothing here
reads or writes a store.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from parity.reconciler.budget import RcuBudget
from parity.telemetry import meter

_meter = meter("reconcile")
_items_counter = _meter.create_counter("parity.reconcile.items_compared", description="keys compared")
_discrepancy_counter = _meter.create_counter("parity.reconcile.discrepancies", description="discrepancies by kind")
_parity_gauge = _meter.create_gauge("parity.reconcile.parity_percent", description="parity % of the last run")


class Events:
    """What workers report: counts for the metrics (OpenTelemetry counters in this process) and
    segments whose scan ended. Worker processes use one that sends them to the parent."""

    def __init__(self, on_scanned: Callable[[int], None] | None = None) -> None:
        self.on_scanned = on_scanned

    def compared(self, n: int) -> None:
        _items_counter.add(n)

    def found(self, kind: str) -> None:
        _discrepancy_counter.add(1, {"kind": kind})

    def scanned(self, segment: int) -> None:
        if self.on_scanned is not None:
            self.on_scanned(segment)

    def finished(self, parity_percent: float) -> None:
        _parity_gauge.set(parity_percent)


class PageCounter:
    """Pages finished by every worker (for the ``stop_after_pages`` test hook); a shared-memory
    integer replaces ``value`` when the workers are processes."""

    def __init__(self, value: Any = None, lock: Any = None) -> None:
        self.value: Any = value if value is not None else [0]
        self.lock: Any = lock if lock is not None else threading.Lock()

    def increment(self) -> int:
        with self.lock:
            self.value[0] += 1
            return int(self.value[0])


@dataclass
class Progress:
    """Shared counters read by the progress display."""

    items: int = 0
    pages: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, items: int) -> None:
        with self.lock:
            self.items += items
            self.pages += 1


@dataclass(frozen=True)
class Runtime:
    """The live pieces one process's segment threads share (made per process, never copied into
    another process's objects)."""

    stop: Any  # threading.Event or a multiprocessing Event
    budget: RcuBudget
    pages: PageCounter
    events: Events
    progress: Progress
    stop_after_pages: int | None = None  # test hook: stop (like SIGTERM) after this many pages in total

    def count_page(self) -> bool:
        """Count a finished page; True when the test hook says to stop now."""
        done = self.pages.increment()
        if self.stop_after_pages is not None and done >= self.stop_after_pages:
            self.stop.set()
            return True
        return False


__all__ = ["Events", "PageCounter", "Progress", "Runtime"]
