"""Apply a replay plan: batches of version-guarded writes, one transaction each, journalled.

For each batch: lock the rows (``SELECT ... FOR UPDATE``), decide again against the locked rows
(a row the app made newer since planning is left alone and counted as skipped_newer_in_postgres),
write, journal every change with the row's previous and new values (``to_jsonb`` of the whole row,
so undo restores columns parity does not map too), commit. A crash leaves whole batches; rerunning
plans again from the current state and finishes the rest, and a second run changes nothing.
Afterwards every replayed key is read back and, when it now matches its item, its discrepancy is
resolved (``resolved_by = 'replay'``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from psycopg import sql

from parity import journal
from parity.compare import compare
from parity.config import ParityConfig
from parity.errors import Interrupted
from parity.journal import RunKind, finish_run, journalled_run
from parity.mapping import key_id
from parity.pg import Connection, fetch_rows, postgres_errors
from parity.plans import Decision
from parity.rollback.plan import Action, decide_delete, decide_upsert
from parity.rollback.planner import Plan, ReplayOptions, Step
from parity.rollback.values import item_to_row
from parity.rollback.writer import ROW, TableInfo, bind, key_condition, key_values, lock_rows
from parity.store import JournalEntry, Store
from parity.telemetry import get_logger, meter

log = get_logger("rollback.apply")
_rows_counter = meter("replay").create_counter(
    "parity.replay.rows", description="rows replayed into PostgreSQL, by action (insert, update, delete, skipped_newer)"
)

REPLAY = RunKind("replay", "r")
new_run_id = REPLAY.new_run_id


@dataclass
class Applied(journal.Applied):
    """What an apply did (skipped_other: changed between plan and lock in another way: now equal, gone, ...)."""

    inserted: int = 0
    skipped_newer_in_postgres: int = 0

    @property
    def applied(self) -> int:
        return self.inserted + self.updated + self.deleted

    def summary(self) -> dict[str, Any]:
        return super().summary() | {
            "inserted": self.inserted,
            "skipped_newer_in_postgres": self.skipped_newer_in_postgres,
        }


def apply_plan(
    conn: Connection,
    store: Store,
    config: ParityConfig,
    plan: Plan,
    options: ReplayOptions,
    *,
    run_id: str,
    batch_size: int = 500,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> Applied:
    """Write the plan's changes in batches (see the module docstring).

    ``should_stop`` is asked before each batch (SIGTERM from ECS): the batch in hand is finished and
    committed, then :class:`~parity.errors.Interrupted` ends the run, which is marked ``interrupted``.
    """
    result = Applied(run_id)
    recorded = options.__dict__ | {"entities": list(options.entities), "exclude": len(options.exclude)}
    infos = {name: plan.tables[name] for name in {s.entity for s in plan.changes}}
    with journalled_run(conn, store, REPLAY, run_id, recorded):  # each batch below is its own transaction
        _apply_batches(conn, store, plan, options, infos, result, progress, batch_size, should_stop)
    _verify(conn, store, config, plan, result)
    finish_run(conn, store, result)
    return result


def _apply_batches(
    conn: Connection,
    store: Store,
    plan: Plan,
    options: ReplayOptions,
    infos: dict[str, TableInfo],
    result: Applied,
    progress: Callable[[int, int], None] | None,
    batch_size: int,
    should_stop: Callable[[], bool],
) -> None:
    done = 0
    for name, info in sorted(infos.items()):
        steps = [s for s in plan.changes if s.entity == name]
        for start in range(0, len(steps), batch_size):
            if should_stop():
                raise Interrupted(
                    f"replay run {result.run_id} stopped by a signal after {done} of {len(plan.changes)} change(s);"
                    " the committed batches are journalled",
                    hint=f"run the same parity replay --apply again to finish, or parity replay --undo {result.run_id}",
                )
            batch = steps[start : start + batch_size]
            with postgres_errors(f"replaying a batch into {info.entity.table}"), conn.transaction():
                _apply_batch(conn, store, info, batch, options, result)
            done += len(batch)
            log.info("replay batch committed", entity=name, rows=len(batch), done=done, total=len(plan.changes))
            if progress is not None:
                progress(done, len(plan.changes))


def _apply_batch(
    conn: Connection, store: Store, info: TableInfo, batch: Sequence[Step], options: ReplayOptions, result: Applied
) -> None:
    """Lock, re-decide, write and journal one batch; the caller's transaction makes it whole.

    The writes go out as one executemany per kind (psycopg pipelines them without waiting for each
    answer), so a batch costs a handful of round trips however many rows it holds.
    """
    entity = info.entity
    locked = lock_rows(conn, info, [s.key for s in batch])
    decided: list[tuple[Step, Decision[Action], Any]] = []
    for step in batch:
        current = locked.get(step.key)
        mapped = None if current is None else {c: current[c] for c in entity.all_columns}
        if step.item is not None:
            decision = decide_upsert(entity, step.item, mapped, include_conflicts=options.include_conflicts)
        else:
            decision = decide_delete(mapped, include_deletes=options.include_deletes, ttl=False)
        if decision.action is Action.SKIP_NEWER_IN_POSTGRES:
            result.skipped_newer_in_postgres += 1
            _rows_counter.add(1, {"entity": entity.name, "action": "skipped_newer"})
        elif not decision.action.writes:
            result.skipped_other += 1
        else:
            decided.append((step, decision, None if current is None else current[ROW]))
    written = _Statements(conn, info).run(conn, [(step, decision.action) for step, decision, _ in decided])
    entries: list[JournalEntry] = []
    for (step, decision, previous), applied in zip(decided, written, strict=True):
        if applied is None and decision.action is not Action.DELETE:
            result.skipped_other += 1  # an insert that met a row the app wrote meanwhile
            continue
        if decision.action is Action.INSERT:
            result.inserted += 1
        elif decision.action is Action.UPDATE:
            result.updated += 1
        else:
            result.deleted += 1
        _rows_counter.add(1, {"entity": entity.name, "action": str(decision.action)})
        entries.append(
            JournalEntry(
                entity.name,
                key_id(entity, step.key),
                step.key_json,
                str(decision.action),
                previous,
                applied,
                decision.columns,
            )
        )
    store.journal(conn, result.run_id, entries)


class _Statements:
    """The insert, update and delete of one table, rendered once per batch (psycopg then reuses its
    parsed form for every row instead of composing the statement again)."""

    def __init__(self, conn: Connection, info: TableInfo) -> None:
        entity = info.entity
        self.info = info
        self.columns = list(entity.all_columns)
        self.settable = [c for c in self.columns if c not in entity.key]
        row = sql.Identifier(ROW)
        self.insert = (
            sql.SQL("INSERT INTO {} AS t ({}) VALUES ({}) ON CONFLICT DO NOTHING RETURNING to_jsonb(t.*) AS {}")
            .format(
                info.ident,
                sql.SQL(", ").join(sql.Identifier(c) for c in self.columns),
                sql.SQL(", ").join(sql.Placeholder() for _ in self.columns),
                row,
            )
            .as_bytes(conn)
        )
        self.update = (
            sql.SQL("UPDATE {} AS t SET {} WHERE {} RETURNING to_jsonb(t.*) AS {}")
            .format(
                info.ident,
                sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(c)) for c in self.settable),
                key_condition(info),
                row,
            )
            .as_bytes(conn)
        )
        self.delete = sql.SQL("DELETE FROM {} AS t WHERE {}").format(info.ident, key_condition(info)).as_bytes(conn)

    def run(self, conn: Connection, writes: Sequence[tuple[Step, Action]]) -> list[Any]:
        """Write every row, one executemany per kind (psycopg pipelines them); for each write in
        order, to_jsonb of the row written, or None (a delete, or an insert that met a row)."""
        info = self.info
        params: dict[Action, list[list[Any]]] = {Action.INSERT: [], Action.UPDATE: [], Action.DELETE: []}
        for step, action in writes:
            if action is Action.DELETE:
                params[action].append(key_values(info, step.key))
                continue
            assert step.item is not None
            values = item_to_row(info.entity, step.item)
            if action is Action.INSERT:
                params[action].append([bind(info, c, values[c]) for c in self.columns])
            else:
                params[action].append([bind(info, c, values[c]) for c in self.settable] + key_values(info, step.key))
        answers: dict[Action, list[Any]] = {Action.DELETE: [None] * len(params[Action.DELETE])}
        with conn.cursor() as cur:
            for action, query in ((Action.INSERT, self.insert), (Action.UPDATE, self.update)):
                answers[action] = []
                if not params[action]:
                    continue
                cur.executemany(query, params[action], returning=True)
                while True:
                    found = cur.fetchone()
                    answers[action].append(None if found is None else found[ROW])
                    if not cur.nextset():
                        break
            if params[Action.DELETE]:
                cur.executemany(self.delete, params[Action.DELETE])
        position = dict.fromkeys(answers, 0)
        out = []
        for _, action in writes:
            out.append(answers[action][position[action]])
            position[action] += 1
        return out


def _verify(conn: Connection, store: Store, config: ParityConfig, plan: Plan, result: Applied) -> None:
    """Read every planned key back; resolve the discrepancies of those that now match their item."""
    entities = {e.name: e for e in config.entity}
    settled = [s for s in plan.steps if s.action.writes or s.action is Action.SKIP_EQUAL]
    now = datetime.now(UTC)
    by_entity: dict[str, list[Step]] = {}
    for step in settled:
        by_entity.setdefault(step.entity, []).append(step)
    for name, steps in by_entity.items():
        entity = entities[name]
        rows = fetch_rows(conn, entity, [s.key for s in steps])
        matched: list[dict[str, Any]] = []
        for step in steps:
            row = rows.get(step.key)
            if compare(entity, step.item, row).is_match:
                matched.append(step.key_json)
            elif plan.is_change(step):
                result.unverified.append({"entity": name, "key": step.key_json})
        result.resolved += store.resolve(conn, name, matched, "replay", now)
        conn.commit()
