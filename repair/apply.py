"""Apply a repair plan: guarded DynamoDB writes, judged again at write time, journalled.

In chunks of ``chunk`` keys: read the rows again and decide again against the item the plan read (a
row changed since planning is repaired from its new values; one whose item is now equal is skipped);
write concurrently (``concurrency`` threads; see :mod:`parity.repair.writer`); a write whose
condition failed (the app wrote the item since) is judged once more on a fresh consistent read and
either written again or, when the item is now newer, counted as ``skipped_newer_in_dynamodb`` (the
delete of the item a moved row left at its old key is not judged again: that item is left alone, and
its key not resolved); every write is journalled with the item before and after, and the chunk's
journal committed. The chunks overlap (:class:`_Chunks`) so that DynamoDB is never left waiting on
PostgreSQL or on this process: the next chunk is read and decided while one chunk's writes are out,
and a chunk is journalled while the next one's writes are out. Afterwards every planned key's row is
read again and compared with its item as the run left it, and the discrepancies of those that now
match are resolved (``resolved_by = 'repair'``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from parity import journal
from parity.compare import compare
from parity.config import EntityConfig, ParityConfig
from parity.dynamo_json import Item
from parity.errors import ConditionFailed, Interrupted, Unbuildable
from parity.journal import RunKind, finish_run, journalled_run
from parity.mapping import Key, key_id
from parity.pg import Connection
from parity.plans import Decision
from parity.repair.build import Built, build_item
from parity.repair.journal import storable
from parity.repair.moved import still_behind
from parity.repair.plan import Action, decide
from parity.repair.planner import Plan, RepairOptions, Step, judge, read_rows
from parity.repair.writer import BATCH_WRITE, Writer, Written
from parity.store import JournalEntry, Store
from parity.telemetry import get_logger, meter

log = get_logger("repair.apply")
_items_counter = meter("repair").create_counter(
    "parity.repair.items",
    description="DynamoDB items written by repair, by action (put, update, delete, skipped_newer)",
)
_RETRIES = 3  # rounds of judging again after a failed condition

REPAIR = RunKind("repair", "p")


@dataclass
class Applied(journal.Applied):
    """What an apply did (skipped_other: equal, gone or unbuildable by write time)."""

    put: int = 0
    skipped_newer_in_dynamodb: int = 0
    throttled: int = 0
    units: int = 0
    # each key's item as it stands after the run: the after image of a write (exact: the write
    # returned the item it replaced), else the item last read for it
    items: dict[tuple[str, Key], Item | None] = field(default_factory=dict, repr=False)
    wrote: set[tuple[str, Key]] = field(default_factory=set, repr=False)
    # keys whose moved row's old item was to be deleted but changed since: not resolved
    kept_behind: set[tuple[str, Key]] = field(default_factory=set, repr=False)

    @property
    def applied(self) -> int:
        return self.put + self.updated + self.deleted

    def summary(self) -> dict[str, Any]:
        return super().summary() | {
            "put": self.put,
            "skipped_newer_in_dynamodb": self.skipped_newer_in_dynamodb,
            "throttled_retries": self.throttled,
            "write_units": self.units,
        }


@dataclass(frozen=True)
class Settings:
    concurrency: int = 16
    chunk: int = 500
    batch_puts: bool = False


def apply_plan(
    conn: Connection,
    store: Store,
    dynamodb: Any,
    writer: Writer,
    config: ParityConfig,
    schema: Sequence[str],
    plan: Plan,
    options: RepairOptions,
    settings: Settings,
    *,
    run_id: str,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> Applied:
    """Write the plan's changes chunk by chunk (see the module docstring). ``should_stop`` is asked
    before each chunk (SIGTERM): the chunk in hand is finished and journalled, then
    :class:`~parity.errors.Interrupted` ends the run, which is marked ``interrupted``."""
    result = Applied(run_id)
    recorded = {
        "include_deletes": options.include_deletes,
        "entities": list(options.entities),
        "keys": None if options.only is None else len(options.only),
        "exclude": len(options.exclude),
        "batch_puts": settings.batch_puts,
        "concurrency": settings.concurrency,
    }
    entities = {e.name: e for e in config.entity}
    changes = plan.changes
    chunks = [changes[start : start + settings.chunk] for start in range(0, len(changes), settings.chunk)]
    with (
        journalled_run(conn, store, REPAIR, run_id, recorded),
        ThreadPoolExecutor(max_workers=settings.concurrency, thread_name_prefix="repair") as pool,
    ):
        chunked = _Chunks(conn, store, dynamodb, pool, writer, config, entities, schema, options, settings, result)
        try:
            for index, chunk in enumerate(chunks):
                if should_stop():
                    chunked.finish()  # the chunk in hand: its writes collected and journalled
                    raise Interrupted(
                        f"repair run {run_id} stopped after {result.applied} of {len(changes)} write(s);"
                        " every write made is journalled",
                        hint="run parity repair --apply again to finish (it plans from the current state)",
                    )
                chunked.next(chunk)
                if progress is not None and index:
                    progress(index * settings.chunk, len(changes))
            chunked.finish()
        finally:
            chunked.close()
    if progress is not None and changes:
        progress(len(changes), len(changes))
    result.throttled, result.units = writer.throttled, writer.units
    _verify(conn, store, config, plan, result)
    finish_run(conn, store, result)
    return result


class _Chunks:
    """The apply's pipeline, so that DynamoDB always has writes to answer: while one chunk's writes
    are in flight, the next chunk's rows are read and its keys decided again, and once a chunk's
    writes are all answered (and its failed conditions judged again and retried), the next chunk's
    writes go out before that chunk is journalled. At most two chunks are ever unjournalled, and
    :meth:`close` waits for every write that went out and journals it, whatever happened."""

    def __init__(
        self,
        conn: Connection,
        store: Store,
        dynamodb: Any,
        pool: ThreadPoolExecutor,
        writer: Writer,
        config: ParityConfig,
        entities: dict[str, EntityConfig],
        schema: Sequence[str],
        options: RepairOptions,
        settings: Settings,
        result: Applied,
    ) -> None:
        self.conn, self.store, self.dynamodb, self.pool, self.writer = conn, store, dynamodb, pool, writer
        self.config, self.entities, self.schema, self.options = config, entities, schema, options
        self.settings, self.result = settings, result
        self._in_flight: _InFlight | None = None  # the previous chunk's writes, not yet collected
        self._entries: list[JournalEntry] = []  # written, not yet journalled

    def next(self, chunk: Sequence[Step]) -> None:
        """Decide ``chunk`` again (the previous chunk's writes still out), finish the previous chunk,
        send this one's writes, then journal the previous chunk (this chunk's writes out)."""
        todo = self._decide_again(chunk)
        self._finish_in_flight()
        self._in_flight = _submit(self.pool, self.writer, self.entities, self.schema, todo, self.settings)
        self._journal()

    def finish(self) -> None:
        self._finish_in_flight()
        self._journal()

    def close(self) -> None:
        """After an error or an interruption: collect every write still out, journal all that was
        written (an undo must find every write that was made). The error that ended the run goes
        on; one from collecting here is logged."""
        if self._in_flight is not None:
            in_flight, self._in_flight = self._in_flight, None
            try:
                _collect(in_flight, self.entities, self.result, self._entries)
            except BaseException as exc:
                log.warning("a write still out when the run stopped failed", error=str(exc))
        self._journal()

    def _decide_again(self, chunk: Sequence[Step]) -> list[Step]:
        entities = self.entities
        rows = read_rows(self.conn, [(entities[s.entity], s.key) for s in chunk])
        self.conn.rollback()  # a read only: no transaction stays open while the writes are out
        steps = [_again(entities[s.entity], s, rows.get((s.entity, s.key)), self.schema, self.options) for s in chunk]
        for step in steps:
            if not step.left_behind:  # (that item is not the key's: the step at the new key is)
                self.result.items[(step.entity, step.key)] = step.item
        return _count_skips(steps, self.result)

    def _finish_in_flight(self) -> None:
        """Collect the writes out; judge again those whose condition failed, and write them again
        (up to ``_RETRIES`` rounds)."""
        if self._in_flight is None:
            return
        in_flight, self._in_flight = self._in_flight, None
        failed = self._keep_behind(_collect(in_flight, self.entities, self.result, self._entries))
        for _ in range(_RETRIES):
            if not failed:
                return
            keys = [(self.entities[s.entity], s.key, s.kind) for s in failed]
            steps, _ = judge(self.conn, self.dynamodb, self.config, self.schema, keys, self.options)
            for step in steps:
                self.result.items[(step.entity, step.key)] = step.item
            todo = _count_skips(steps, self.result)
            again = _submit(self.pool, self.writer, self.entities, self.schema, todo, self.settings)
            failed = self._keep_behind(_collect(again, self.entities, self.result, self._entries))
        if failed:
            self.result.skipped_other += len(failed)
            log.warning("keys the app kept writing during the repair were left alone", keys=len(failed))

    def _keep_behind(self, failed: list[Step]) -> list[Step]:
        """The failed steps to judge again. A moved row's old item that changed since the plan read
        it (the app wrote it) is left alone, not judged again, and its key is not resolved."""
        kept = [s for s in failed if s.left_behind]
        for step in kept:
            self.result.skipped_other += 1
            self.result.kept_behind.add((step.entity, step.key))
            log.warning("the old item of a moved row changed since the plan and is left alone", entity=step.entity)
        return [s for s in failed if not s.left_behind]

    def _journal(self) -> None:
        entries, self._entries = self._entries, []
        self.conn.rollback()
        self.store.journal(self.conn, self.result.run_id, entries)
        self.conn.commit()
        if entries:
            log.info("repair chunk journalled", written=len(entries))


@dataclass
class _InFlight:
    """Writes sent to the pool: batches of puts and single conditional writes."""

    batches: list[tuple[list[Step], Future[None]]]
    singles: list[tuple[Step, Future[Written | None]]]


def _submit(
    pool: ThreadPoolExecutor,
    writer: Writer,
    entities: dict[str, EntityConfig],
    schema: Sequence[str],
    todo: Sequence[Step],
    settings: Settings,
) -> _InFlight:
    """Send ``todo``'s writes to the pool (puts 25 to a BatchWriteItem with ``--batch-puts``)."""
    batched = [s for s in todo if settings.batch_puts and s.action is Action.PUT and s.built is not None]
    single = [s for s in todo if s not in batched]
    groups = [batched[start : start + BATCH_WRITE] for start in range(0, len(batched), BATCH_WRITE)]
    return _InFlight(
        [(g, pool.submit(writer.batch_put, [s.built.item for s in g if s.built is not None])) for g in groups],
        [(s, pool.submit(_write, writer, entities[s.entity], s, schema)) for s in single],
    )


def _collect(
    in_flight: _InFlight, entities: dict[str, EntityConfig], result: Applied, entries: list[JournalEntry]
) -> list[Step]:
    """Wait for every write of ``in_flight``, count it and add its journal entry; the steps whose
    condition failed. An error is raised after every write that went out was collected."""
    outcomes: list[tuple[Step, Written | None]] = []
    error: BaseException | None = None
    for group, batch in in_flight.batches:
        try:
            batch.result()
            outcomes += [(s, Written(None, dict(s.built.item) if s.built else None)) for s in group]
        except BaseException as exc:  # a request of 25 that kept failing: its items are not journalled
            error = error or exc
    for step, future in in_flight.singles:
        try:
            outcomes.append((step, future.result()))
        except BaseException as exc:
            error = error or exc
    failed = []
    for step, written in outcomes:
        if written is None:
            failed.append(step)
            continue
        _count(result, entities[step.entity], step.action)
        if not step.left_behind:
            result.items[(step.entity, step.key)] = written.after
        result.wrote.add((step.entity, step.key))
        entries.append(
            JournalEntry(
                step.entity,
                key_id(entities[step.entity], step.key),
                step.key_json,
                str(step.action),
                None if written.before is None else storable(written.before),
                None if written.after is None else storable(written.after),
                (*step.decision.columns, *step.decision.attributes),
                storable(step.item_key or {}),
            )
        )
    if error is not None:
        raise error
    return failed


def _again(entity: EntityConfig, step: Step, row: Any, schema: Sequence[str], options: RepairOptions) -> Step:
    """The step decided again on the row read now, against the item the plan read (the plan's own
    decision when the row is exactly the one it read: same values of the same types). The old item
    of a moved row is still deleted unless the row now gives its key again (or cannot be built)."""
    if row is not None and step.row is not None and repr(row) == repr(step.row):
        return step
    if step.left_behind:
        skip = step.item_key is None or not still_behind(entity, step.item_key, row, tuple(schema))
        return replace(step, decision=Decision(Action.SKIP_EQUAL) if skip else step.decision, row=row)
    built: Built | str | None = None
    if row is not None:
        try:
            built = build_item(entity, row, tuple(schema))
        except Unbuildable as exc:
            built = str(exc)
    decision = decide(entity, row, step.item, built, include_deletes=options.include_deletes)
    if isinstance(built, Built) and step.item is None:
        # a put goes where the row's templates say now (the journal must name that key for an undo)
        return replace(step, decision=decision, built=built, item_key=built.key, row=row)
    return replace(step, decision=decision, built=built if isinstance(built, Built) else None, row=row)


def _count_skips(steps: Sequence[Step], result: Applied) -> list[Step]:
    """The steps that still write; the others counted."""
    todo = []
    for step in steps:
        if step.action.writes:
            todo.append(step)
        elif step.action is Action.SKIP_NEWER_IN_DYNAMODB:
            result.skipped_newer_in_dynamodb += 1
            _items_counter.add(1, {"entity": step.entity, "action": "skipped_newer"})
        else:
            result.skipped_other += 1
    return todo


def _write(writer: Writer, entity: EntityConfig, step: Step, schema: Sequence[str]) -> Written | None:
    """One guarded write; None when its condition failed."""
    try:
        if step.action is Action.PUT:
            assert step.built is not None
            return writer.put(step.built.item, schema)
        assert step.item_key is not None and step.item is not None
        if step.action is Action.DELETE:
            return writer.delete(entity, step.item_key, step.item)
        assert step.built is not None
        owned = step.built.owned()
        changed = [entity.all_columns[c].attribute for c in step.decision.columns] + list(step.decision.attributes)
        return writer.update(entity, step.item_key, step.item, {name: owned.get(name) for name in changed})
    except ConditionFailed:
        return None


def _count(result: Applied, entity: EntityConfig, action: Action) -> None:
    if action is Action.PUT:
        result.put += 1
    elif action is Action.UPDATE:
        result.updated += 1
    else:
        result.deleted += 1
    _items_counter.add(1, {"entity": entity.name, "action": str(action)})


def _verify(conn: Connection, store: Store, config: ParityConfig, plan: Plan, result: Applied) -> None:
    """Read every planned key's row again and compare it with the key's item as the run left it (the
    after image of its write, or the item last read); resolve the discrepancies of those that match.

    Like replay's read-back, the written side is not read again: a write's after image is exact
    (DynamoDB returned the whole item it replaced, and SET/REMOVE of known values are
    deterministic), and a write the app makes later is the stream checker's to judge.
    """
    entities = {e.name: e for e in config.entity}
    steps = [s for s in plan.steps if s.action is not Action.UNBUILDABLE and not s.left_behind]
    rows = read_rows(conn, [(entities[s.entity], s.key) for s in steps])
    matched: dict[str, list[dict[str, Any]]] = {}
    for step in steps:
        slot = (step.entity, step.key)
        if slot in result.kept_behind:  # the old item is still there beside this one
            continue
        if compare(entities[step.entity], result.items.get(slot, step.item), rows.get(slot)).is_match:
            matched.setdefault(step.entity, []).append(step.key_json)
        elif slot in result.wrote:  # written, yet the row moved on meanwhile
            result.unverified.append({"entity": step.entity, "key": step.key_json})
    now = datetime.now(UTC)
    for name, keys in matched.items():
        result.resolved += store.resolve(conn, name, keys, "repair", now)
    conn.commit()
