"""The stream checker shared by ``parity consume`` and ``parity kcl-processor``.

:class:`Checker` takes a batch of decoded :class:`~parity.stream.records.ChangeRecord` values and
commits, in ONE PostgreSQL transaction, everything the batch concluded:

- one batched row read per entity (``parity.pg.fetch_rows``), records of one key coalesced to the
  newest (:mod:`consumer.judge`);
- a match resolves the key's open discrepancy and clears its pending re-check;
- a superseded record (the row's version is newer than the image) is no discrepancy;
- a first mismatch is not a discrepancy yet: it becomes a *pending re-check* in the store, due at
  receipt + ``grace_seconds`` (dual writes race; the PostgreSQL half may land later). When due,
  :meth:`Checker.decide_due` re-reads the rows (batched): match -> resolved, newer row ->
  superseded, else a discrepancy (``detected_by = "stream"``); for a DynamoDB-only write (no row,
  a delete the row did not get, or an image newer than the row) the record's images go to the
  store's archive so ``parity replay`` can copy them after the 24 h stream retention;
- undecodable records and items of no entity go to the dead-letter table with a reason;
- the caller's ``in_transaction`` hook (a checkpoint) runs inside the same transaction.

**One record's problem is that record's problem.** A record that cannot be judged (a value that
cannot be canonicalized or stored) becomes a dead letter with the reason and the batch goes on.
When PostgreSQL refuses a value of the batch (SQLSTATE class 22 or 54:
:class:`~parity.errors.PostgresRefusedValue`), the batch is checked again record by record, each in
a transaction of its own, and the record PostgreSQL refuses is dead-lettered; the hook commits with
the last transaction. Only systemic failures (PostgreSQL or DynamoDB unreachable or refusing the
statement itself) propagate, so the caller retries the whole batch and never checkpoints past a
record that was neither checked nor dead-lettered. Every dead letter is logged with its record id
and reason (``BatchOutcome.failures``), like the partial failures of Powertools' batch utility.

Because pending re-checks are persisted, a caller may checkpoint past records whose verdict waits
for grace. Every write is an idempotent upsert: a replayed record never doubles a row.

**TTL deletes.** A REMOVE by ``dynamodb.amazonaws.com`` is DynamoDB expiring an item; apps that
mirror data in PostgreSQL usually keep (or purge on their own schedule) such rows, so by default a
TTL delete is counted as ``ttl_delete`` and is never a discrepancy. ``[consumer].ttl_deletes_rows =
true`` (or the constructor argument) checks it like any delete (the row must be gone).

PostgreSQL errors propagate as :class:`~parity.errors.PostgresUnavailable` /
:class:`~parity.errors.PostgresError` with nothing committed; the connection is dropped and
re-opened on the next call, so the caller only retries with backoff.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from parity.compare import Comparison, Discrepancy, discrepancy_values
from parity.config import EntityConfig, ParityConfig
from parity.consumer import MIGRATIONS, pending
from parity.consumer.jsonsafe import json_safe
from parity.consumer.judge import Outcome, dynamodb_only, judge
from parity.consumer.rows import configure as configure_row_decoding
from parity.errors import DependencyError, ParityError, PostgresRefusedValue
from parity.mapping import Key, Row, canonical_item, canonical_row, json_key_id, key_from_json, key_id, key_to_json
from parity.pg import Connection, connect, fetch_rows, postgres_errors
from parity.store import Store
from parity.stream.grouping import Dead, Located, group
from parity.stream.records import ChangeRecord, Source
from parity.telemetry import get_logger, meter

log = get_logger("consumer.checker")

Undecodable = Dead
"""A record that could not be decoded: ``Undecodable(record_id, reason, raw)``."""

InTransaction = Callable[[Connection, Store], None]

_meter = meter("consumer")
_checked = _meter.create_counter("parity.consumer.records_checked", description="records checked, by verdict")
_latency = _meter.create_histogram(
    "parity.consumer.check_latency", unit="ms", description="record creation to committed verdict"
)


@dataclass(frozen=True)
class BatchOutcome:
    """What one call committed.

    ``verdicts`` counts records by what their check concluded: ``match``, ``superseded``,
    ``pending`` (waiting for grace), ``ttl_delete``, ``coalesced`` (a newer record of the key was in
    the batch), ``dead_letter``, and the discrepancy kinds (``missing_in_postgres``,
    ``missing_in_dynamodb``, ``mismatched``) for re-checks that ended in a discrepancy.
    ``latencies_ms`` holds record creation -> committed verdict for each decided record.
    """

    verdicts: dict[str, int] = field(default_factory=dict)
    discrepancies: tuple[Discrepancy, ...] = ()
    resolved: int = 0
    archived: int = 0
    committed_at: datetime | None = None
    latencies_ms: tuple[float, ...] = ()
    failures: tuple[Dead, ...] = ()  # every record dead-lettered by this call, with its reason

    @property
    def records(self) -> int:
        return sum(self.verdicts.values())

    def merge(self, other: BatchOutcome) -> BatchOutcome:
        counts = Counter(self.verdicts)
        counts.update(other.verdicts)
        return BatchOutcome(
            dict(counts),
            self.discrepancies + other.discrepancies,
            self.resolved + other.resolved,
            self.archived + other.archived,
            other.committed_at or self.committed_at,
            self.latencies_ms + other.latencies_ms,
            self.failures + other.failures,
        )


@dataclass
class _Work:
    """Everything one transaction will write, gathered before any SQL runs."""

    counts: Counter[str] = field(default_factory=Counter)
    resolve: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    resolve_ids: dict[str, list[str]] = field(default_factory=dict)
    clear: dict[str, list[tuple[str, ChangeRecord]]] = field(default_factory=dict)
    pending: list[pending.PendingRow] = field(default_factory=list)
    discrepancies: list[Discrepancy] = field(default_factory=list)
    archive: list[dict[str, Any]] = field(default_factory=list)
    dead: list[Dead] = field(default_factory=list)
    created: list[datetime] = field(default_factory=list)


@contextlib.contextmanager
def _batch_transaction(conn: Connection) -> Iterator[None]:
    """One transaction in two round trips: BEGIN rides with the first read, the writes with COMMIT.

    The checker's connection is in autocommit mode, so psycopg sends no BEGIN of its own; in
    pipeline mode statements are queued and only a read (``fetchall``) or the end of the block waits
    for the server. ``conn.transaction()`` would sync the pipeline on entry and twice on exit (three
    more round trips per batch, 6 ms at 1 ms away). An exception skips COMMIT: the caller rolls back
    and drops the connection; an error of a queued statement surfaces when the block ends.
    """
    with conn.pipeline():
        conn.execute("BEGIN")
        yield
        conn.execute("COMMIT")


class Checker:
    """Checks change records against PostgreSQL; see the module docstring for the rules."""

    def __init__(
        self,
        config: ParityConfig,
        dsn: str,
        *,
        source: Source,
        grace_seconds: float | None = None,
        ttl_deletes_rows: bool | None = None,
        decide_limit: int = 5000,
        application_name: str = "parity-consumer",
        dead_letter_source: str | None = None,
    ) -> None:
        self.config = config
        self.source = source
        self.dead_letter_source = dead_letter_source or str(source)  # the dead letters' ``source`` column
        self.store = Store(config.postgres.store_schema)
        self.grace = timedelta(seconds=config.consumer.grace_seconds if grace_seconds is None else grace_seconds)
        self.ttl_deletes_rows = config.consumer.ttl_deletes_rows if ttl_deletes_rows is None else ttl_deletes_rows
        self.decide_limit = decide_limit
        self._entities = {e.name: e for e in config.entity}
        self._dsn = dsn
        self._application_name = application_name
        self._conn: Connection | None = None
        self._migrated = False

    # --- connection ------------------------------------------------------------------------------

    def connection(self) -> Connection:
        """The checker's connection (opened and the store migrated on first use, re-opened after a failure)."""
        if self._conn is None or self._conn.closed:
            # autocommit: a batch is one explicit BEGIN ... COMMIT sent in pipeline mode (see
            # _batch_transaction); conn.transaction() blocks work as usual for everything else.
            conn = connect(self._dsn, autocommit=True, application_name=self._application_name)
            configure_row_decoding(conn)
            try:
                if not self._migrated:
                    self.store.migrate(conn, MIGRATIONS)
                    self._migrated = True
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _abort(self) -> None:
        """Roll back after a failure; drop the connection so the next call reconnects."""
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):  # the connection is going away anyway
                conn.rollback()
            conn.close()

    # --- public API ------------------------------------------------------------------------------

    def process(
        self,
        records: Sequence[ChangeRecord],
        undecodable: Sequence[Undecodable] = (),
        *,
        in_transaction: InTransaction | None = None,
        received_at: datetime | None = None,
        retire: Sequence[str] = (),
    ) -> BatchOutcome:
        """Check a batch and commit its verdicts (and the ``in_transaction`` hook) in one transaction.

        ``retire``: ids of this checker's dead letters being retried; those whose record is not
        dead-lettered again are removed in the same transaction.
        """
        received = received_at or datetime.now(UTC)
        try:
            return self._process_once(records, undecodable, in_transaction, received, retire)
        except PostgresRefusedValue as exc:
            if not records:
                raise  # only dead letters, stored in a form PostgreSQL accepts: not a record's problem
            log.warning(
                "PostgreSQL refused a value of this batch; checking its records one by one",
                records=len(records),
                error=exc.message,
            )
        total = BatchOutcome()
        for record in records:
            try:
                total = total.merge(self._process_once([record], (), None, received, retire))
            except PostgresRefusedValue as exc:
                dead = Dead(record.event_id, f"PostgreSQL refused a value of this record: {exc.message}", record.raw)
                total = total.merge(self._process_once([], [dead], None, received, ()))
        return total.merge(self._process_once([], undecodable, in_transaction, received, retire))

    def _process_once(
        self,
        records: Sequence[ChangeRecord],
        undecodable: Sequence[Undecodable],
        in_transaction: InTransaction | None,
        received: datetime,
        retire: Sequence[str],
    ) -> BatchOutcome:
        try:
            conn = self.connection()
            with postgres_errors("checking a batch of stream records"), _batch_transaction(conn):
                work = self._check(conn, records, received)
                work.dead.extend(undecodable)
                self._write(conn, work, received)
                if retire:
                    dead_ids = {d.record_id for d in work.dead}
                    done = [r for r in retire if r not in dead_ids]
                    self.store.delete_dead_letters(conn, self.dead_letter_source, done)
                if in_transaction is not None:
                    in_transaction(conn, self.store)
        except BaseException:
            self._abort()
            raise
        return self._finish(work)

    def decide_due(self, now: datetime | None = None) -> BatchOutcome:
        """Decide every pending re-check whose grace has expired (batched re-reads); commits."""
        total = BatchOutcome()
        while True:
            moment = now or datetime.now(UTC)
            try:
                conn = self.connection()
                with postgres_errors("deciding pending re-checks"), _batch_transaction(conn):
                    entries = pending.take_due(conn, self.store, moment, self.decide_limit)
                    work = self._decide(conn, entries)
                    self._write(conn, work, moment)
                    pending.delete(conn, self.store, entries)
            except BaseException:
                self._abort()
                raise
            total = total.merge(self._finish(work))
            if len(entries) < self.decide_limit:
                return total

    def pending_count(self) -> int:
        try:
            return pending.count(self.connection(), self.store)  # one statement: autocommit
        except BaseException:
            self._abort()
            raise

    def next_due(self) -> datetime | None:
        """When the earliest pending re-check falls due (None when nothing waits)."""
        try:
            return pending.next_due(self.connection(), self.store)
        except BaseException:
            self._abort()
            raise

    # --- the work --------------------------------------------------------------------------------

    def _check(self, conn: Connection, records: Sequence[ChangeRecord], received: datetime) -> _Work:
        work = _Work()
        grouped = group(list(self._entities.values()), records)
        work.dead.extend(grouped.dead)
        work.counts["coalesced"] += grouped.coalesced
        for name, located in grouped.by_entity.items():
            entity = self._entities[name]
            rows = fetch_rows(conn, entity, list(located))
            for key, found in located.items():
                try:
                    self._judge_first(entity, key, found, rows.get(key), work)
                except DependencyError:
                    raise
                except Exception as exc:  # this record's problem: a dead letter, the batch goes on
                    work.dead.append(Dead(found.record.event_id, f"cannot check: {_reason(exc)}", found.record.raw))
        return work

    def _judge_first(self, entity: EntityConfig, key: Key, found: Located, row: Any, work: _Work) -> None:
        record = found.record
        judgement = judge(entity, record, row, ttl_deletes_rows=self.ttl_deletes_rows)
        if judgement.outcome is Outcome.MISMATCH:
            key_json = key_to_json(entity, key)
            if self.grace.total_seconds() > 0:
                row_to_wait = pending.pending_row(entity.name, key_id(entity, key), key_json, record)
                work.counts["pending"] += 1
                work.pending.append(row_to_wait)
                return
            self._discrepancy(entity, key_json, record, judgement.comparison, row, work)
            return
        work.counts[str(judgement.outcome)] += 1
        work.created.append(record.approximate_created)
        kid = key_id(entity, key)
        if judgement.outcome is Outcome.MATCH:
            work.resolve_ids.setdefault(entity.name, []).append(kid)
        if judgement.outcome is not Outcome.TTL_DELETE:
            work.clear.setdefault(entity.name, []).append((kid, record))

    def _decide(self, conn: Connection, entries: Sequence[pending.PendingEntry]) -> _Work:
        work = _Work()
        by_entity: dict[str, list[tuple[Key, pending.PendingEntry]]] = {}
        for entry in entries:
            entity = self._entities.get(entry.entity)
            if entity is None:  # the entity left the config while a re-check waited
                work.dead.append(
                    Dead(entry.event_id, f"pending re-check of unknown entity {entry.entity!r}", entry.key)
                )
                continue
            by_entity.setdefault(entity.name, []).append((key_from_json(entity, entry.key), entry))
        for name, items in by_entity.items():
            entity = self._entities[name]
            rows = fetch_rows(conn, entity, [k for k, _ in items])
            for key, entry in items:
                try:
                    judgement = judge(entity, entry.record, rows.get(key), ttl_deletes_rows=self.ttl_deletes_rows)
                except Exception as exc:  # a stored image that cannot be judged: its own dead letter
                    work.dead.append(Dead(entry.event_id, f"cannot re-check: {_reason(exc)}", entry.key))
                    continue
                if judgement.outcome is Outcome.MISMATCH:
                    self._discrepancy(entity, entry.key, entry.record, judgement.comparison, rows.get(key), work)
                    continue
                work.counts[str(judgement.outcome)] += 1
                work.created.append(entry.record.approximate_created)
                if judgement.outcome is Outcome.MATCH:
                    work.resolve.setdefault(entity.name, []).append(entry.key)
        return work

    def _discrepancy(
        self,
        entity: EntityConfig,
        key_json: dict[str, Any],
        record: ChangeRecord,
        comparison: Comparison,
        row: Row | None,
        work: _Work,
    ) -> None:
        archived = None
        if dynamodb_only(entity, record, row):
            archived = {
                "entity": entity.name,
                "key": key_json,
                "event_id": record.event_id,
                "event_name": str(record.event_name),
                "approximate_created_at": record.approximate_created,
                "new_image": None if record.new_image is None else json_safe(record.new_image),
                "old_image": None if record.old_image is None else json_safe(record.old_image),
                "user_identity": record.user_identity,
            }
        image = record.image
        values = discrepancy_values(
            entity,
            comparison,
            None if image is None else canonical_item(entity, image),
            None if row is None else canonical_row(entity, row),
        )
        work.counts[str(comparison.verdict)] += 1
        work.created.append(record.approximate_created)
        work.discrepancies.append(Discrepancy(entity.name, key_json, comparison.verdict, comparison.columns, values))
        if archived is not None:
            work.archive.append(archived)

    def _write(self, conn: Connection, work: _Work, now: datetime) -> None:
        matched = {name: list(ids) for name, ids in work.resolve_ids.items()}
        for name, keys in work.resolve.items():
            matched.setdefault(name, []).extend(json_key_id(k) for k in keys)
        self.store.resolve_ids(conn, matched, "stream", now)
        for name, cleared in work.clear.items():
            pending.clear(conn, self.store, name, cleared)
        if work.pending:
            pending.upsert(conn, self.store, work.pending, now, now + self.grace)
        if work.discrepancies:
            self.store.record_discrepancies(conn, work.discrepancies, "stream", now)
        if work.archive:
            self.store.archive(conn, work.archive)
        for dead in work.dead:
            self.store.dead_letter(conn, self.dead_letter_source, dead.record_id, dead.reason, dead.raw)
        work.counts["dead_letter"] += len(work.dead)

    def _finish(self, work: _Work) -> BatchOutcome:
        committed = datetime.now(UTC)
        latencies = tuple((committed - c).total_seconds() * 1000 for c in work.created)
        counts = {k: v for k, v in work.counts.items() if v}
        for verdict, n in counts.items():
            _checked.add(n, {"verdict": verdict, "source": str(self.source)})
        for ms in latencies:
            _latency.record(ms, {"source": str(self.source)})
        if work.discrepancies:
            log.warning(
                "discrepancies found",
                count=len(work.discrepancies),
                sample=[d.to_json() for d in work.discrepancies[:5]],
            )
        for dead in work.dead:  # every one, with its id and reason (a batch holds few of them)
            log.warning(
                "record dead-lettered", source=self.dead_letter_source, record_id=dead.record_id, reason=dead.reason
            )
        return BatchOutcome(
            counts,
            tuple(work.discrepancies),
            sum(len(v) for v in work.resolve.values()) + sum(len(v) for v in work.resolve_ids.values()),
            len(work.archive),
            committed,
            latencies,
            tuple(work.dead),
        )


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ParityError):
        return exc.message
    if isinstance(exc, RecursionError):
        return "a value nested too deeply to check"
    return f"{type(exc).__name__}: {str(exc)[:300]}"
