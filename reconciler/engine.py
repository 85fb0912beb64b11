"""The reconcile run of one invocation: wire the pieces and let data flow one way.

scan source (:mod:`reconciler.source`) -> page compare, pure (:mod:`reconciler.page`) -> store
writes (:mod:`reconciler.runs_store`), driven per segment by :mod:`reconciler.segment`, in threads
of this process or in worker processes (:mod:`reconciler.processes`), which receive plain values
(a :class:`~reconciler.segment.Job`) and build their own live pieces. Once every segment is done,
:mod:`reconciler.final` runs the anti-join (rows without items) once and finishes the run;
:mod:`reconciler.run_report` reads the report back from the store. No module below imports this one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from parity.config import ParityConfig
from parity.pg import Connection
from parity.reconciler import empty, processes, segment
from parity.reconciler.budget import RcuBudget
from parity.reconciler.final import FinalPhase
from parity.reconciler.run_report import run_report
from parity.reconciler.segment import Job
from parity.reconciler.shared import Events, PageCounter, Progress, Runtime
from parity.reconciler.source import TableSource, describe, new_client


@dataclass(frozen=True)
class ReconcileOptions:
    """What one invocation does: which segments of which run, and its limits."""

    run_id: str
    total_segments: int
    segments: Sequence[int]
    page_size: int = 1000
    recheck_delay: float = 2.0
    max_rcu: float | None = None
    max_listed: int = 10000
    stop_after_pages: int | None = None  # test hook: stop (like SIGTERM) after this many pages in total
    processes: int = 1  # worker processes (fork) sharing the segments; 1 = threads of this process
    allow_empty: bool = False  # reconcile an entity DynamoDB holds nothing of (see reconciler/empty.py)


class Reconciler:
    """Runs the segments of one reconcile run assigned to this process, then its final phase."""

    def __init__(
        self,
        config: ParityConfig,
        dsn: str,
        options: ReconcileOptions,
        *,
        stop: threading.Event | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.config = config
        self.options = options
        dynamodb = new_client(config, max(10, 2 * options.total_segments))
        shape = describe(config, dynamodb)
        self.item_count = shape.item_count
        self.job = Job(
            config=config,
            dsn=dsn,
            run_id=options.run_id,
            total_segments=options.total_segments,
            shape=shape,
            page_size=options.page_size,
            recheck_delay=options.recheck_delay,
        )
        self.source = TableSource(config, shape, dynamodb, RcuBudget(options.max_rcu))
        self.final = FinalPhase(
            self.job, options.segments, self.source, max_listed=options.max_listed, allow_empty=options.allow_empty
        )
        self.runtime = Runtime(
            stop=stop or threading.Event(),
            budget=self.source.budget,
            pages=PageCounter(),
            events=Events(self.final.segment_scanned),
            progress=progress or Progress(),
            stop_after_pages=options.stop_after_pages,
        )

    def check_not_empty(self, conn: Connection) -> None:
        """Refuse before the run starts when one Scan page shows the whole table and no item of an
        entity whose table has rows (unless ``allow_empty``); see :mod:`reconciler.empty`."""
        if not self.options.allow_empty:
            empty.check_before_run(self.config, conn, self.source, self.options.page_size)

    def run_segments(self, started: Callable[[], None] | None = None) -> None:
        """Scan this invocation's segments: in worker processes when ``options.processes`` > 1
        (each runs its share of the segments in threads), else in threads of this process.

        ``started`` is called once the workers run (after forking: the progress display's thread
        must not exist when the workers are forked).
        """
        mine = self.options.segments
        workers = min(self.options.processes, len(mine))
        if workers > 1 and processes.available():
            processes.run(self.job, mine, workers, self.runtime, self.options.max_rcu, started)
            return
        if started is not None:
            started()
        segment.run_threads(self.job, mine, self.runtime, self.source)

    def join_early(self) -> None:
        """Wait for the early anti-join, if one started (before finishing, or when interrupted)."""
        self.final.join()

    def finish_if_complete(self, conn: Connection) -> dict[str, Any] | None:
        """When every segment is done, run the anti-join once and finish the run; else None."""
        return self.final.finish_if_complete(conn, self.runtime.events)

    def report(self, conn: Connection, *, complete: bool) -> dict[str, Any]:
        return run_report(
            conn,
            self.job.store,
            self.options.run_id,
            [e.name for e in self.config.entity],
            total_segments=self.options.total_segments,
            max_listed=self.options.max_listed,
            complete=complete,
        )


__all__ = ["Progress", "ReconcileOptions", "Reconciler"]
