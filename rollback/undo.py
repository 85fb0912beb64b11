"""``parity replay --undo RUN_ID``: put back the rows a replay run changed, from its journal.

Newest change first, in batches of one transaction each. A row is restored only while it still
holds exactly what the replay wrote (``to_jsonb`` of the row equals the journalled value, or the
row is still absent after a replayed delete); a row the app changed since is left alone and
counted, because undoing over it would lose that later write. Undoing twice restores nothing more.
"""

from __future__ import annotations

from psycopg import sql

from parity.config import EntityConfig, ParityConfig
from parity.errors import InputError
from parity.journal import Undone, journal_of, undo
from parity.mapping import key_from_json
from parity.pg import Connection
from parity.rollback.apply import REPLAY
from parity.rollback.writer import TableInfo, describe, exact_jsonb, key_condition, key_values
from parity.store import JournalEntry, Store


def undo_run(conn: Connection, store: Store, config: ParityConfig, run_id: str, *, batch_size: int = 500) -> Undone:
    """Restore the journalled rows of ``run_id`` (see the module docstring)."""
    entries = journal_of(conn, store, REPLAY, run_id)
    entities = {e.name: e for e in config.entity}
    missing = sorted({e.entity for e in entries} - set(entities))
    if missing:
        raise InputError(f"--undo {run_id!r}: the run changed entities no longer in the config: {missing}")
    infos: dict[str, TableInfo] = {name: describe(conn, entities[name]) for name in {e.entity for e in entries}}

    return undo(
        conn,
        store,
        REPLAY,
        run_id,
        entries,
        lambda entry: _restore(conn, infos[entry.entity], entities[entry.entity], entry),
        batch_size=batch_size,
    )


def _restore(conn: Connection, info: TableInfo, entity: EntityConfig, entry: JournalEntry) -> str | None:
    """Put one journalled row back; None when done, else why it was left alone."""
    key = key_from_json(entity, entry.key)
    where = key_condition(info)
    params = key_values(info, key)
    # lock the row and compare it with what the replay wrote in one statement (jsonb equality:
    # numbers by value, key order ignored); ``applied`` is NULL for a replayed delete
    current = conn.execute(
        sql.SQL("SELECT to_jsonb(t.*) = %s::jsonb AS same FROM {} AS t WHERE {} FOR UPDATE").format(info.ident, where),
        [exact_jsonb(entry.after), *params],
    ).fetchone()
    if entry.action == "delete":
        if current is not None:
            return "a row with this key was written again since the replay deleted it"
        columns = sql.SQL(", ").join(sql.Identifier(c) for c in info.writable)
        conn.execute(
            sql.SQL("INSERT INTO {} ({}) SELECT {} FROM jsonb_populate_record(NULL::{}, %s)").format(
                info.ident, columns, columns, info.ident
            ),
            (exact_jsonb(entry.before),),
        )
        return None
    if current is None:
        return "the row was deleted since the replay"
    if not current["same"]:
        return "the row was changed since the replay (it no longer holds what the replay wrote)"
    if entry.action == "insert":
        conn.execute(sql.SQL("DELETE FROM {} AS t WHERE {}").format(info.ident, where), params)
        return None
    settable = [c for c in info.writable if c not in entity.key]
    names = sql.SQL(", ").join(sql.Identifier(c) for c in settable)
    conn.execute(
        sql.SQL("UPDATE {} AS t SET ({}) = (SELECT {} FROM jsonb_populate_record(NULL::{}, %s)) WHERE {}").format(
            info.ident, names, names, info.ident, where
        ),
        [exact_jsonb(entry.before), *params],
    )
    return None
