"""``parity replay --undo RUN_ID``: put back the rows a replay run changed, from its journal.

Newest change first, in batches of one transaction each. A row is restored only while it still
holds exactly what the replay wrote (``to_jsonb`` of the row equals the journalled value, or the
row is still absent after a replayed delete); a row the app changed since is left alone and
counted, because undoing over it would lose that later write. Undoing twice restores nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from psycopg import sql

from parity.config import EntityConfig, ParityConfig
from parity.errors import InputError
from parity.mapping import key_from_json
from parity.pg import Connection, postgres_errors
from parity.rollback import journal as replay_journal
from parity.rollback.writer import TableInfo, describe, exact_jsonb, key_condition, key_values
from parity.store import Store
from parity.telemetry import get_logger

log = get_logger("rollback.undo")


@dataclass
class Undone:
    run_id: str
    restored: int = 0
    skipped_changed_since: int = 0
    already_undone: int = 0
    reopened: int = 0  # discrepancies the replay had resolved, open again
    # every row left alone: {"entity", "key", "action" (what the replay had done), "reason"}
    left_alone: list[dict[str, Any]] = field(default_factory=list)


def undo_run(conn: Connection, store: Store, config: ParityConfig, run_id: str, *, batch_size: int = 500) -> Undone:
    """Restore the journalled rows of ``run_id`` (see the module docstring)."""
    if replay_journal.run_status(conn, store, run_id) is None:
        known = _recent_runs(conn, store)
        hint = f"; recent runs: {', '.join(known)}" if known else "; no replay run was applied yet"
        raise InputError(f"--undo {run_id!r}: no such replay run{hint}")
    entries = replay_journal.entries(conn, store, run_id)
    conn.commit()
    entities = {e.name: e for e in config.entity}
    missing = sorted({e["entity"] for e in entries} - set(entities))
    if missing:
        raise InputError(f"--undo {run_id!r}: the run changed entities no longer in the config: {missing}")
    infos: dict[str, TableInfo] = {name: describe(conn, entities[name]) for name in {e["entity"] for e in entries}}
    result = Undone(run_id)
    todo = [e for e in entries if e["undone_at"] is None]
    result.already_undone = len(entries) - len(todo)
    for start in range(0, len(todo), batch_size):
        batch = todo[start : start + batch_size]
        with postgres_errors(f"undoing replay run {run_id}"), conn.transaction():
            done: list[int] = []
            restored: dict[str, list[str]] = {}
            for entry in batch:
                info = infos[entry["entity"]]
                why = _restore(conn, info, entities[entry["entity"]], entry)
                if why is None:
                    result.restored += 1
                    done.append(entry["seq"])
                    restored.setdefault(entry["entity"], []).append(entry["key_id"])
                else:
                    result.skipped_changed_since += 1
                    result.left_alone.append(
                        {"entity": entry["entity"], "key": entry["key"], "action": entry["action"], "reason": why}
                    )
            replay_journal.mark_entries_undone(conn, store, run_id, done, datetime.now(UTC))
            result.reopened += store.reopen(conn, restored, "replay")
        log.info("undo batch committed", run_id=run_id, rows=len(batch))
    replay_journal.mark_undone(conn, store, run_id)
    with postgres_errors("marking the replay run undone"):
        conn.commit()
    return result


def _restore(conn: Connection, info: TableInfo, entity: EntityConfig, entry: dict[str, Any]) -> str | None:
    """Put one journalled row back; None when done, else why it was left alone."""
    key = key_from_json(entity, entry["key"])
    where = key_condition(info)
    params = key_values(info, key)
    # lock the row and compare it with what the replay wrote in one statement (jsonb equality:
    # numbers by value, key order ignored); ``applied`` is NULL for a replayed delete
    current = conn.execute(
        sql.SQL("SELECT to_jsonb(t.*) = %s::jsonb AS same FROM {} AS t WHERE {} FOR UPDATE").format(info.ident, where),
        [exact_jsonb(entry["applied"]), *params],
    ).fetchone()
    if entry["action"] == "delete":
        if current is not None:
            return "a row with this key was written again since the replay deleted it"
        columns = sql.SQL(", ").join(sql.Identifier(c) for c in info.writable)
        conn.execute(
            sql.SQL("INSERT INTO {} ({}) SELECT {} FROM jsonb_populate_record(NULL::{}, %s)").format(
                info.ident, columns, columns, info.ident
            ),
            (exact_jsonb(entry["previous"]),),
        )
        return None
    if current is None:
        return "the row was deleted since the replay"
    if not current["same"]:
        return "the row was changed since the replay (it no longer holds what the replay wrote)"
    if entry["action"] == "insert":
        conn.execute(sql.SQL("DELETE FROM {} AS t WHERE {}").format(info.ident, where), params)
        return None
    settable = [c for c in info.writable if c not in entity.key]
    names = sql.SQL(", ").join(sql.Identifier(c) for c in settable)
    conn.execute(
        sql.SQL("UPDATE {} AS t SET ({}) = (SELECT {} FROM jsonb_populate_record(NULL::{}, %s)) WHERE {}").format(
            info.ident, names, names, info.ident, where
        ),
        [exact_jsonb(entry["previous"]), *params],
    )
    return None


def _recent_runs(conn: Connection, store: Store) -> list[str]:
    rows = replay_journal.runs(conn, store, newest=5)
    conn.commit()
    return [f"{r['run_id']} ({r['status']})" for r in rows]
