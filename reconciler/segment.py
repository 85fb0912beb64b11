"""One Scan segment, start to end: scan a page, read its rows, compare (pure), write the store.

Each segment is a thread (of the parent or of a worker process) with its own PostgreSQL
connection. Per Scan page it reads the rows of the page's keys, every entity in one pipeline
(``parity.pg.fetch_rows_batches``), compares in :mod:`reconciler.page`, and builds the page's
commit (keys, dead letters, pending re-checks, LastEvaluatedKey, counters: one statement), which
goes out in front of the next page's reads: one round trip per page. First discrepancies wait
``recheck_delay`` seconds and are re-read (consistent BatchGetItem and a fresh row read) before
they count; a key whose version moved meanwhile is counted as in flight.

What a segment needs arrives as plain values (:class:`Job`) plus the live pieces of its process
(:class:`~reconciler.shared.Runtime`) and its own :class:`~reconciler.source.TableSource`.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from parity.compare import Discrepancy
from parity.config import EntityConfig, ParityConfig
from parity.dynamo_reads import table_key_id
from parity.mapping import Key, Row, key_from_json
from parity.pg import Connection, connect, fetch_rows, fetch_rows_batches, postgres_errors
from parity.reconciler import runs_store
from parity.reconciler.page import (
    Grouped,
    Pending,
    canon_item,
    compare_page,
    count_decision,
    decide_recheck,
    due_rechecks,
    group_page,
    safe_canonical_row,
)
from parity.reconciler.shared import Runtime
from parity.reconciler.source import ScanPage, TableShape, TableSource
from parity.reconciler.tally import Tally
from parity.store import Store
from parity.telemetry import get_logger

log = get_logger("reconcile")
RECHECK_BATCH = 1000  # re-check once this many first discrepancies are due (bounds memory too)


@dataclass(frozen=True)
class Job:
    """Everything a segment worker needs to know, as plain values (picklable, never mutated)."""

    config: ParityConfig
    dsn: str
    run_id: str
    total_segments: int
    shape: TableShape
    page_size: int = 1000
    recheck_delay: float = 2.0

    @property
    def store(self) -> Store:
        return Store(self.config.postgres.store_schema)

    def entity(self, name: str) -> EntityConfig:
        entity = self.config.entity_named(name)
        assert entity is not None
        return entity


def _now() -> datetime:
    return datetime.now(UTC)


def run_threads(job: Job, segments: Sequence[int], runtime: Runtime, source: TableSource) -> None:
    """Scan ``segments`` in parallel threads; the first error is re-raised after all stopped."""
    errors: list[BaseException] = []

    def guarded(segment: int) -> None:
        try:
            SegmentRun(job, segment, runtime, source).run()
        except BaseException as exc:
            errors.append(exc)
            runtime.stop.set()

    threads = [threading.Thread(target=guarded, args=(s,), name=f"segment-{s}", daemon=True) for s in segments]
    for t in threads:
        t.start()
    for t in threads:
        while t.is_alive():
            t.join(0.2)
    if errors:
        raise errors[0]


class SegmentRun:
    """The loop of one segment. ``outbox`` is the last page's commit, not sent yet: it goes out in
    front of the next page's row reads, or alone before re-checks and at the end."""

    def __init__(self, job: Job, segment: int, runtime: Runtime, source: TableSource) -> None:
        self.job = job
        self.segment = segment
        self.runtime = runtime
        self.source = source
        self.store = job.store
        self.entities = {e.name: e for e in job.config.entity}
        self.outbox: runs_store.Statement | None = None

    def run(self) -> None:
        conn = connect(self.job.dsn, autocommit=True, application_name=f"parity-reconcile-{self.segment}")
        try:
            self._run(conn)
        finally:
            conn.close()

    def _run(self, conn: Connection) -> None:
        job, segment, stop = self.job, self.segment, self.runtime.stop
        # A page's statement commits without waiting for the WAL flush. A server crash can lose
        # the last pages' commits, but whole: keys, findings and checkpoint together, so a
        # resumed run re-scans those pages from the older checkpoint and counts nothing twice.
        with postgres_errors("configuring a segment's connection"):
            conn.execute("SET synchronous_commit = off")
        state = next(s for s in runs_store.segments(conn, self.store, job.run_id) if s.segment == segment)
        if state.status == "done":
            self.runtime.events.scanned(segment)
            return
        tally = state.tally
        lek = state.last_evaluated_key
        pending = runs_store.load_pending(conn, self.store, job.run_id, segment)
        runs_store.set_segment_status(conn, self.store, job.run_id, segment, "running")
        finished = tally.pages > 0 and lek is None
        try:
            if not finished and not stop.is_set():
                # lazy: the next page is asked for only once this one is handled, never after a stop
                for page in self.source.pages(segment, job.total_segments, lek, job.page_size):
                    lek, new_pending = self._page(conn, tally, page)
                    pending.extend(new_pending)
                    finished = lek is None
                    pending = self._recheck(conn, pending, tally, lek, wait=False)
                    if self.runtime.count_page() or stop.is_set():
                        break
        finally:
            self._flush(conn)  # the last page (also on a stop, so that it is not scanned again)
        if finished:
            log.info("segment scanned", run_id=job.run_id, segment=segment, pending=len(pending))
            self.runtime.events.scanned(segment)
            while pending and not stop.is_set():
                pending = self._recheck(conn, pending, tally, lek, wait=True)
        if finished and not pending:
            runs_store.set_segment_status(conn, self.store, job.run_id, segment, "done")
            log.info("segment finished", run_id=job.run_id, segment=segment, items=tally.items)
        else:
            runs_store.set_segment_status(conn, self.store, job.run_id, segment, "interrupted")

    def _page(self, conn: Connection, tally: Tally, page: ScanPage) -> tuple[dict[str, Any] | None, list[Pending]]:
        """Read and compare one scanned page; its commit waits in ``outbox``. Until it is sent a
        crash loses the page whole, and a resume re-scans it."""
        job = self.job
        grouped = group_page(job.config.entity, job.shape.key_attributes, page.items)
        rows = self._read_rows(conn, grouped)
        seen_at = _now()
        result = compare_page(
            self.entities,
            job.shape.key_attributes,
            grouped,
            rows,
            tally,
            due=seen_at + timedelta(seconds=job.recheck_delay),
        )
        tally.items += len(page.items)
        tally.pages += 1
        tally.consumed_rcu += page.consumed_rcu
        tally.dead_letters += len(grouped.dead)
        self.outbox = runs_store.page_statement(
            self.store,
            job.run_id,
            self.segment,
            keys=result.keys,
            matched=result.matched,
            pending=result.pending,
            dead=grouped.dead,
            last_evaluated_key=page.last_evaluated_key,
            tally=tally,
            seen_at=seen_at,
        )
        if result.compared:
            self.runtime.events.compared(result.compared)
        for dead in grouped.dead:
            log.warning("item dead-lettered", run_id=job.run_id, record_id=dead.record_id, reason=dead.reason)
        self.runtime.progress.add(len(page.items))
        return page.last_evaluated_key, result.pending

    def _read_rows(self, conn: Connection, grouped: Grouped) -> dict[str, dict[Key, Row]]:
        """The rows of a page's keys, every entity in one pipeline behind the previous page's commit."""
        names = list(grouped.by_entity)
        before = [] if self.outbox is None else [self.outbox]
        self.outbox = None
        fetched = fetch_rows_batches(
            conn, [(self.entities[n], [k for k, _ in grouped.by_entity[n]]) for n in names], before=before
        )
        return dict(zip(names, fetched, strict=True))

    def _flush(self, conn: Connection) -> None:
        """Send the page commit still waiting for the next page's reads."""
        if self.outbox is None:
            return
        runs_store.save_page(conn, self.outbox)
        self.outbox = None

    def _recheck(
        self, conn: Connection, pending: list[Pending], tally: Tally, lek: dict[str, Any] | None, *, wait: bool
    ) -> list[Pending]:
        """Decide the pending re-checks that are due (see :func:`reconciler.page.due_rechecks`).

        At the segment's end (``wait``) the last one's due time is awaited (at most the re-check
        delay, in 1 s slices that heed a stop) and all are decided in one batch.
        """
        if not pending:
            return pending
        now = _now()
        if wait:
            last = max(p.due_at for p in pending)
            if last > now:
                self.runtime.stop.wait(min((last - now).total_seconds(), 1.0))
                now = _now()
        due = due_rechecks(pending, now, batch=RECHECK_BATCH, wait=wait)
        if not due:
            return pending  # not enough yet (while scanning), or the rest is due within a second
        self._flush(conn)  # the pending rows must exist, and the counters must not go back in time
        rest = [p for p in pending if p.due_at > now]
        items = self.source.batch_get([p.table_key for p in due])
        found: list[Discrepancy] = []
        cleared: dict[str, list[dict[str, Any]]] = {}
        by_entity: dict[str, list[Pending]] = {}
        for p in due:
            by_entity.setdefault(p.entity, []).append(p)
        for name, group in by_entity.items():
            entity = self.entities[name]
            keys = [key_from_json(entity, p.key) for p in group]
            rows = fetch_rows(conn, entity, keys)
            entity_tally = tally.entity(name)
            for p, key in zip(group, keys, strict=True):
                item_canon = canon_item(entity, items.get(table_key_id(p.table_key)))
                row = rows.get(key)
                canon_row = None if row is None else safe_canonical_row(entity, row)
                decision = decide_recheck(entity, p, item_canon, canon_row)
                count_decision(entity_tally, name, p.key, decision, found, cleared)
                if decision.outcome == "found":
                    self.runtime.events.found(str(decision.comparison.verdict))
        runs_store.save_decisions(
            conn,
            self.store,
            self.job.run_id,
            self.segment,
            decided=due,
            found=found,
            cleared=cleared,
            tally=tally,
            last_evaluated_key=lek,
            status="running",
            seen_at=now,
        )
        return rest


__all__ = ["RECHECK_BATCH", "Job", "SegmentRun", "run_threads"]
