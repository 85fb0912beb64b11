"""The reconcile run: parallel Scan segments, batched row reads, re-checks; the final phase is
in :mod:`reconciler.final`, the worker processes in :mod:`reconciler.processes`.

Each segment is a thread (of this process or of a worker process) with its own PostgreSQL
connection. Per Scan page it reads the rows of the page's keys, every entity in one pipeline
(``parity.pg.fetch_rows_batches``), compares in the pure core, and builds the page's commit (keys,
pending re-checks, LastEvaluatedKey, counters: one statement), which goes out in front of the next
page's reads: one round trip per page. First discrepancies wait ``recheck_delay`` seconds and are
re-read (consistent BatchGetItem and a fresh row read) before they count; a key whose version
moved meanwhile is counted as in flight.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from parity.canonical import Canon
from parity.compare import Comparison, Discrepancy, Verdict, compare_canonical, discrepancy_values
from parity.config import EntityConfig, ParityConfig
from parity.dynamo import client, dynamodb_errors
from parity.dynamo_json import Item
from parity.errors import DecodeError
from parity.mapping import (
    canonical_item,
    canonical_row,
    item_key,
    json_key_id,
    key_from_json,
    key_to_json,
    match_entity,
    projected_attributes,
)
from parity.pg import (
    Connection,
    connect,
    fetch_rows,
    fetch_rows_batches,
    postgres_errors,
)
from parity.reconciler import fast_scan, runs_store
from parity.reconciler.budget import RcuBudget
from parity.reconciler.final import FinalPhase, canon_item, plain_key
from parity.reconciler.runs_store import FINAL_SEGMENT, Pending
from parity.reconciler.tally import Tally
from parity.store import Store
from parity.telemetry import get_logger, meter
from parity.versions import version_of

log = get_logger("reconcile")
_meter = meter("reconcile")
_items_counter = _meter.create_counter("parity.reconcile.items_compared", description="keys compared")
_discrepancy_counter = _meter.create_counter("parity.reconcile.discrepancies", description="discrepancies by kind")
_parity_gauge = _meter.create_gauge("parity.reconcile.parity_percent", description="parity % of the last run")
_RECHECK_BATCH = 1000  # re-check once this many first discrepancies are due (bounds memory too)


@dataclass
class Options:
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


class Events:
    """What workers report: counts for the metrics (OpenTelemetry counters in this process) and
    segments whose scan ended. Worker processes replace it with one that sends them to the parent
    (see :mod:`reconciler.processes`)."""

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


def _text(value: Canon) -> str | None:
    return None if value is None else str(value)


def _now() -> datetime:
    return datetime.now(UTC)


class Reconciler:
    """Runs the segments of one reconcile run assigned to this process."""

    def __init__(
        self,
        config: ParityConfig,
        dsn: str,
        options: Options,
        *,
        stop: threading.Event | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.config = config
        self.dsn = dsn
        self.options = options
        self.stop = stop or threading.Event()
        self.progress = progress or Progress()
        self.store = Store(config.postgres.store_schema)
        self.dynamodb = fast_scan.install(client(config.dynamodb, max_pool=max(10, 2 * options.total_segments)))
        self.table = config.dynamodb.table
        self.budget = RcuBudget(options.max_rcu)
        self.pages = PageCounter()
        self.final = FinalPhase(self)
        self.events = Events(self.final.segment_scanned)
        self.inherited: Any = None  # a worker process keeps the parent's client here, unused
        self.errors: list[BaseException] = []
        with dynamodb_errors(f"describing table {self.table}", config.dynamodb):
            described = self.dynamodb.describe_table(TableName=self.table)["Table"]
        self.key_attributes = [k["AttributeName"] for k in described["KeySchema"]]
        self.item_count = int(described.get("ItemCount") or 0)
        attributes = projected_attributes(config.entity, self.key_attributes)
        self.names = {f"#a{i}": name for i, name in enumerate(attributes)}
        self.projection = ", ".join(self.names)

    # --- segments ------------------------------------------------------------------------------

    def run_segments(self, started: Callable[[], None] | None = None) -> None:
        """Scan this invocation's segments: in worker processes when ``options.processes`` > 1
        (each runs its share of the segments in threads), else in threads of this process.

        ``started`` is called once the workers run (after forking: the progress display's thread
        must not exist when the workers are forked).
        """
        from parity.reconciler import processes

        workers = min(self.options.processes, len(self.options.segments))
        if workers > 1 and processes.available():
            processes.run(self, workers, started)
        else:
            if started is not None:
                started()
            self.run_threads(self.options.segments)

    def run_threads(self, segments: Sequence[int]) -> None:
        """Scan ``segments`` in parallel threads; errors are re-raised after all stop."""
        threads = [
            threading.Thread(target=self._segment_guarded, args=(s,), name=f"segment-{s}", daemon=True)
            for s in segments
        ]
        for t in threads:
            t.start()
        for t in threads:
            while t.is_alive():
                t.join(0.2)
        if self.errors:
            raise self.errors[0]

    def _segment_guarded(self, segment: int) -> None:
        try:
            self._segment(segment)
        except BaseException as exc:
            self.errors.append(exc)
            self.stop.set()

    def _count_page(self) -> bool:
        """Count a finished page; True when the test hook says to stop now."""
        done = self.pages.increment()
        limit = self.options.stop_after_pages
        if limit is not None and done >= limit:
            self.stop.set()
            return True
        return False

    def _segment(self, segment: int) -> None:
        conn = connect(self.dsn, autocommit=True, application_name=f"parity-reconcile-{segment}")
        try:
            # A page's statement commits without waiting for the WAL flush. A server crash can lose
            # the last pages' commits, but whole: keys, findings and checkpoint together, so a
            # resumed run re-scans those pages from the older checkpoint and counts nothing twice.
            with postgres_errors("configuring a segment's connection"):
                conn.execute("SET synchronous_commit = off")
            state = next(s for s in runs_store.segments(conn, self.store, self.options.run_id) if s.segment == segment)
            if state.status == "done":
                self.events.scanned(segment)
                return
            tally = state.tally
            lek = state.last_evaluated_key
            pending = runs_store.load_pending(conn, self.store, self.options.run_id, segment)
            started = state.tally.pages > 0
            runs_store.set_segment_status(conn, self.store, self.options.run_id, segment, "running")
            finished = started and lek is None
            unsent: list[runs_store.Statement] = []  # the last page's commit, sent with the next page's reads
            try:
                while not finished and not self.stop.is_set():
                    page = self._scan(segment, lek)
                    lek = page.get("LastEvaluatedKey")
                    new_pending = self._page(conn, segment, page, tally, lek, unsent)
                    pending.extend(new_pending)
                    finished = lek is None
                    pending = self._recheck(conn, segment, pending, tally, lek, unsent, wait=False)
                    if self._count_page():
                        break
            finally:
                _send(conn, unsent)  # the last page (also on a stop, so that it is not scanned again)
            if finished:
                log.info("segment scanned", run_id=self.options.run_id, segment=segment, pending=len(pending))
                self.events.scanned(segment)
                while pending and not self.stop.is_set():
                    pending = self._recheck(conn, segment, pending, tally, lek, unsent, wait=True)
            if finished and not pending:
                runs_store.set_segment_status(conn, self.store, self.options.run_id, segment, "done")
                log.info("segment finished", run_id=self.options.run_id, segment=segment, items=tally.items)
            else:
                runs_store.set_segment_status(conn, self.store, self.options.run_id, segment, "interrupted")
        finally:
            conn.close()

    def _scan(self, segment: int, lek: dict[str, Any] | None) -> dict[str, Any]:
        self.budget.acquire()
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "Segment": segment,
            "TotalSegments": self.options.total_segments,
            "ProjectionExpression": self.projection,
            "ExpressionAttributeNames": self.names,
            "Limit": self.options.page_size,
            "ReturnConsumedCapacity": "TOTAL",
        }
        if lek:
            kwargs["ExclusiveStartKey"] = lek
        with dynamodb_errors(f"scanning {self.table} segment {segment}", self.config.dynamodb):
            page: dict[str, Any] = self.dynamodb.scan(**kwargs)
        consumed = float((page.get("ConsumedCapacity") or {}).get("CapacityUnits") or 0.0)
        if not consumed:
            consumed = max(0.5, len(page.get("Items", [])) * 0.5 * 0.25)  # estimate: ~1 KB items, eventual
        page["_rcu"] = consumed
        self.budget.spend(consumed)
        return page

    def _page(
        self,
        conn: Connection,
        segment: int,
        page: dict[str, Any],
        tally: Tally,
        lek: dict[str, Any] | None,
        unsent: list[runs_store.Statement],
    ) -> list[Pending]:
        """Compare one page. Its commit (keys, pending re-checks, checkpoint: one statement) is
        left in ``unsent`` and goes out in front of the next page's row reads, in the same pipeline:
        one round trip per page. Until then a crash loses the page whole, and a resume re-scans it."""
        items: list[Item] = page.get("Items", [])
        by_entity: dict[str, list[tuple[Any, Item]]] = {}
        for item in items:
            entity = match_entity(self.config.entity, item)
            if entity is None:
                tally.skipped += 1
                continue
            try:
                key = item_key(entity, item)
            except DecodeError as exc:
                log.warning("item skipped", reason=exc.message)
                tally.skipped += 1
                continue
            by_entity.setdefault(entity.name, []).append((key, item))
        seen_at = _now()
        keys: dict[str, list[dict[str, Any]]] = {}
        matched: dict[str, list[dict[str, Any]]] = {}
        pending: list[Pending] = []
        due = seen_at + timedelta(seconds=self.options.recheck_delay)
        entities = [self._entity(name) for name in by_entity]
        before = list(unsent)
        unsent.clear()
        fetched = fetch_rows_batches(conn, [(e, [k for k, _ in by_entity[e.name]]) for e in entities], before=before)
        for entity, rows in zip(entities, fetched, strict=True):
            name = entity.name
            pairs = by_entity[name]
            entity_tally = tally.entity(name)
            for key, item in pairs:
                key_json = key_to_json(entity, key)
                keys.setdefault(name, []).append(key_json)
                item_canon = canonical_item(entity, item)
                row = rows.get(key)
                canon_row = None if row is None else canonical_row(entity, row)
                result = compare_canonical(entity, item_canon, canon_row)
                if result.is_match:
                    entity_tally.add_verdict(Verdict.MATCH)
                    matched.setdefault(name, []).append(key_json)
                    continue
                pending.append(
                    Pending(
                        name,
                        key_json,
                        json_key_id(key_json),
                        str(result.verdict),
                        result.columns,
                        {a: item[a] for a in self.key_attributes if a in item},
                        _text(version_of(entity, item_canon)),
                        None if canon_row is None else _text(version_of(entity, canon_row)),
                        due,
                    )
                )
        tally.items += len(items)
        tally.pages += 1
        tally.consumed_rcu += float(page.get("_rcu", 0.0))
        unsent.append(
            runs_store.page_statement(
                self.store,
                self.options.run_id,
                segment,
                keys=keys,
                matched=matched,
                pending=pending,
                last_evaluated_key=lek,
                tally=tally,
                seen_at=seen_at,
            )
        )
        compared = sum(len(v) for v in matched.values())
        if compared:
            self.events.compared(compared)
        self.progress.add(len(items))
        return pending

    def _entity(self, name: str) -> EntityConfig:
        entity = self.config.entity_named(name)
        assert entity is not None
        return entity

    # --- re-checks -----------------------------------------------------------------------------

    def _recheck(
        self,
        conn: Connection,
        segment: int,
        pending: list[Pending],
        tally: Tally,
        lek: dict[str, Any] | None,
        unsent: list[runs_store.Statement],
        *,
        wait: bool,
    ) -> list[Pending]:
        """Decide the pending re-checks that are due.

        While scanning, only once ``_RECHECK_BATCH`` are due (one row read and one transaction per
        batch; BatchGetItem takes 100 keys per request anyway). At the segment's end (``wait``) the
        last one's due time is awaited (at most the re-check delay, in 1 s slices that heed a stop)
        and all are decided in one batch.
        """
        if not pending:
            return pending
        now = _now()
        if wait:
            last = max(p.due_at for p in pending)
            if last > now:
                self.stop.wait(min((last - now).total_seconds(), 1.0))
                now = _now()
        due = [p for p in pending if p.due_at <= now]
        if not due or (len(due) < _RECHECK_BATCH and (not wait or len(due) < len(pending))):
            return pending  # not enough yet (while scanning), or the rest is due within a second
        _send(conn, unsent)  # the pending rows must exist, and the counters must not go back in time
        rest = [p for p in pending if p.due_at > now]
        items = self.batch_get([p.table_key for p in due])
        found: list[Discrepancy] = []
        cleared: dict[str, list[dict[str, Any]]] = {}
        by_entity: dict[str, list[Pending]] = {}
        for p in due:
            by_entity.setdefault(p.entity, []).append(p)
        for name, group in by_entity.items():
            entity = self.config.entity_named(name)
            assert entity is not None
            keys = [key_from_json(entity, p.key) for p in group]
            rows = fetch_rows(conn, entity, keys)
            entity_tally = tally.entity(name)
            for p, key in zip(group, keys, strict=True):
                item = items.get(json_key_id(plain_key(p.table_key)))
                item_canon = canon_item(entity, item)
                row = rows.get(key)
                canon_row = None if row is None else canonical_row(entity, row)
                entity_tally.rechecked += 1
                result = compare_canonical(entity, item_canon, canon_row)
                moved = _moved(entity, p, item_canon, canon_row)
                values = discrepancy_values(entity, result, item_canon, canon_row)
                found_kind = self._settle(entity_tally, result, moved, p, found, cleared, values)
                if found_kind is not None:
                    self.events.found(found_kind)
        runs_store.save_decisions(
            conn,
            self.store,
            self.options.run_id,
            segment,
            decided=due,
            found=found,
            cleared=cleared,
            tally=tally,
            last_evaluated_key=lek,
            status="running",
            seen_at=now,
        )
        return rest

    @staticmethod
    def _settle(
        entity_tally: Any,
        result: Comparison,
        moved: bool,
        p: Pending,
        found: list[Discrepancy],
        cleared: dict[str, list[dict[str, Any]]],
        values: dict[str, Any] | None = None,
    ) -> str | None:
        if result.is_match:
            entity_tally.cleared += 1
            entity_tally.add_verdict(Verdict.MATCH)
            cleared.setdefault(p.entity, []).append(p.key)
            return None
        if moved:
            entity_tally.in_flight += 1
            return None
        entity_tally.add_verdict(result.verdict, result.columns)
        found.append(Discrepancy(p.entity, p.key, result.verdict, result.columns, values))
        return str(result.verdict)

    def batch_get(self, table_keys: list[dict[str, Any]]) -> dict[str, Item]:
        """Consistent BatchGetItem of table keys (100 at a time) -> items by their plain key id."""
        out: dict[str, Item] = {}
        unique = {json_key_id(plain_key(k)): k for k in table_keys if k}
        keys = list(unique.values())
        for start in range(0, len(keys), 100):
            request: dict[str, Any] = {
                self.table: {
                    "Keys": keys[start : start + 100],
                    "ConsistentRead": True,
                    "ProjectionExpression": self.projection,
                    "ExpressionAttributeNames": self.names,
                }
            }
            while request:
                with dynamodb_errors(f"re-reading items of {self.table}", self.config.dynamodb):
                    answer = self.dynamodb.batch_get_item(RequestItems=request)
                for item in answer.get("Responses", {}).get(self.table, []):
                    out[json_key_id(plain_key({a: item[a] for a in self.key_attributes}))] = item
                request = answer.get("UnprocessedKeys") or {}
                if request:
                    time.sleep(0.05)
        return out

    # --- the final phase (reconciler/final.py) --------------------------------------------------

    def join_early(self) -> None:
        """Wait for the early anti-join, if one started (before finishing, or when interrupted)."""
        self.final.join()

    def finish_if_complete(self, conn: Connection) -> dict[str, Any] | None:
        """When every segment is done, run the anti-join once and finish the run; else None."""
        return self.final.finish_if_complete(conn)

    # --- the report ----------------------------------------------------------------------------

    def report(self, conn: Connection, *, complete: bool) -> dict[str, Any]:
        from parity.reconciler.tally import build_report, merged

        run_id = self.options.run_id
        states = runs_store.segments(conn, self.store, run_id)
        run = runs_store.run_info(conn, self.store, run_id) or {}
        total = merged(s.tally for s in states)
        listed, truncated = runs_store.findings(conn, self.store, run_id, self.options.max_listed)
        started: datetime = run.get("started_at") or _now()
        finished = _now()
        done = sum(1 for s in states if s.segment != FINAL_SEGMENT and s.status == "done")
        return build_report(
            total,
            [e.name for e in self.config.entity],
            listed,
            listed_truncated=truncated,
            started_at=started.isoformat(),
            finished_at=finished.isoformat() if complete else None,
            seconds=max((finished - started).total_seconds(), 1e-6),
            run_id=run_id,
            complete=complete,
            segments_done=done,
            total_segments=self.options.total_segments,
        )


def _send(conn: Connection, unsent: list[runs_store.Statement]) -> None:
    """Send page commits still waiting for the next page's reads (one pipeline, one round trip)."""
    if not unsent:
        return
    with postgres_errors("saving a scanned page"), conn.pipeline():
        for statement, params in unsent:
            conn.execute(statement, params)
    unsent.clear()


def _moved(
    entity: EntityConfig, p: Pending, item_canon: dict[str, Canon] | None, canon_row: dict[str, Canon] | None
) -> bool:
    """True when the item's or the row's version changed since the first read."""
    if entity.version is None:
        return False
    item_version = None if item_canon is None else _text(version_of(entity, item_canon))
    row_version = None if canon_row is None else _text(version_of(entity, canon_row))
    return item_version != p.item_version or row_version != p.row_version


__all__ = ["Options", "Progress", "Reconciler"]
