"""Replay's own tables (migration 050): ``replay_runs`` and ``replay_journal``.

Every replay run is a row; every row it changed is journalled with the row's previous and new
values, so that ``parity replay --undo RUN_ID`` can put them back. This module is the only one
that writes SQL against them; the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from psycopg import sql
from psycopg.types.json import Jsonb

from parity.pg import Connection, postgres_errors
from parity.store import Store

JournalRow = tuple[str, str, str, Jsonb, str, Any, Any, list[str]]
"""(run_id, entity, key_id, key, action, previous, applied, columns) of one changed row."""


def start_run(conn: Connection, store: Store, run_id: str, options: dict[str, Any]) -> None:
    query = sql.SQL("INSERT INTO {} (run_id, status, options) VALUES (%s, 'applying', %s)").format(
        store.table("replay_runs")
    )
    with postgres_errors("starting a replay run"):
        conn.execute(query, (run_id, Jsonb(options)))


def fail_run(conn: Connection, store: Store, run_id: str, error: str, *, status: str = "failed") -> None:
    """End the run as ``failed`` or ``interrupted`` (what it committed stays, journalled), with why."""
    query = sql.SQL("UPDATE {} SET status = %s, finished_at = now(), summary = summary || %s WHERE run_id = %s").format(
        store.table("replay_runs")
    )
    with postgres_errors(f"marking a replay run {status}"):
        conn.execute(query, (status, Jsonb({"error": error}), run_id))


def finish_run(conn: Connection, store: Store, run_id: str, summary: dict[str, Any]) -> None:
    query = sql.SQL("UPDATE {} SET status = 'applied', finished_at = now(), summary = %s WHERE run_id = %s").format(
        store.table("replay_runs")
    )
    with postgres_errors("finishing a replay run"):
        conn.execute(query, (Jsonb(summary), run_id))


def mark_undone(conn: Connection, store: Store, run_id: str) -> None:
    query = sql.SQL("UPDATE {} SET status = 'undone', undone_at = now() WHERE run_id = %s").format(
        store.table("replay_runs")
    )
    with postgres_errors("marking the replay run undone"):
        conn.execute(query, (run_id,))


def run_status(conn: Connection, store: Store, run_id: str) -> str | None:
    query = sql.SQL("SELECT status FROM {} WHERE run_id = %s").format(store.table("replay_runs"))
    with postgres_errors("reading replay runs"):
        row = conn.execute(query, (run_id,)).fetchone()
    return None if row is None else str(row["status"])


def runs(conn: Connection, store: Store, *, newest: int | None = None) -> list[dict[str, Any]]:
    """Runs (run_id, status, started_at, finished_at, summary): all oldest first, or the ``newest`` N."""
    order = sql.SQL("ORDER BY started_at") if newest is None else sql.SQL("ORDER BY started_at DESC LIMIT %s")
    query = sql.SQL("SELECT run_id, status, started_at, finished_at, summary FROM {} {}").format(
        store.table("replay_runs"), order
    )
    with postgres_errors("listing replay runs"):
        return [dict(r) for r in conn.execute(query, () if newest is None else (newest,))]


def journal(conn: Connection, store: Store, rows: Sequence[JournalRow]) -> None:
    """Journal changed rows (in the transaction that changed them)."""
    if not rows:
        return
    query = sql.SQL(
        "INSERT INTO {} (run_id, entity, key_id, key, action, previous, applied, columns)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
    ).format(store.table("replay_journal"))
    with postgres_errors("journalling replayed rows"), conn.cursor() as cur:
        cur.executemany(query, rows)


def entries(conn: Connection, store: Store, run_id: str) -> list[dict[str, Any]]:
    """A run's journal, newest change first (the order an undo restores them)."""
    query = sql.SQL(
        "SELECT seq, entity, key_id, key, action, previous, applied, undone_at FROM {}"
        " WHERE run_id = %s ORDER BY seq DESC"
    ).format(store.table("replay_journal"))
    with postgres_errors("reading the replay journal"):
        return [dict(r) for r in conn.execute(query, (run_id,))]


def mark_entries_undone(conn: Connection, store: Store, run_id: str, seqs: Sequence[int], at: datetime) -> None:
    query = sql.SQL("UPDATE {} SET undone_at = %s WHERE run_id = %s AND seq = ANY(%s)").format(
        store.table("replay_journal")
    )
    with postgres_errors("marking journal entries undone"):
        conn.execute(query, (at, run_id, list(seqs)))
