"""Repair's own tables (migration 080): ``repair_runs`` and ``repair_journal``.

Every repair run is a row; every item it wrote is journalled with the whole item before and after,
so that ``parity repair --undo RUN_ID`` can put it back. This module is the only one that writes
SQL against them; the caller owns the transaction unless a function says it commits.

Images are typed DynamoDB JSON; binary values (bytes from boto3) are kept as base64 text under
``{"B": ...}`` and come back as bytes, so a journalled image can be written to DynamoDB again.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import sql
from psycopg.types.json import Jsonb

from parity.pg import Connection, postgres_errors
from parity.store import Store


@dataclass(frozen=True)
class JournalEntry:
    """One journalled write of a repair run (to be written or read back)."""

    entity: str
    key_id: str
    key: dict[str, Any]
    action: str
    item_key: Mapping[str, Any]
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None
    columns: tuple[str, ...] = ()
    seq: int = 0
    undone_at: datetime | None = None


def start_run(conn: Connection, store: Store, run_id: str, options: Mapping[str, Any]) -> None:
    query = sql.SQL("INSERT INTO {} (run_id, status, options) VALUES (%s, 'applying', %s)").format(
        store.table("repair_runs")
    )
    with postgres_errors("starting a repair run"):
        conn.execute(query, (run_id, Jsonb(dict(options))))
        conn.commit()


def finish_run(
    conn: Connection, store: Store, run_id: str, summary: Mapping[str, Any], status: str = "applied"
) -> None:
    query = sql.SQL("UPDATE {} SET status = %s, finished_at = now(), summary = %s WHERE run_id = %s").format(
        store.table("repair_runs")
    )
    with postgres_errors("finishing a repair run"):
        conn.execute(query, (status, Jsonb(dict(summary)), run_id))
        conn.commit()


def fail_run(conn: Connection, store: Store, run_id: str, error: str, status: str = "failed") -> None:
    """Mark a run failed or interrupted (its committed journal stays); the caller's error goes on."""
    query = sql.SQL("UPDATE {} SET status = %s, finished_at = now(), summary = summary || %s WHERE run_id = %s").format(
        store.table("repair_runs")
    )
    conn.rollback()
    conn.execute(query, (status, Jsonb({"error": error}), run_id))
    conn.commit()


def journal(conn: Connection, store: Store, run_id: str, entries: Sequence[JournalEntry]) -> None:
    """Append written items to the run's journal (the caller commits)."""
    if not entries:
        return
    query = sql.SQL(
        "INSERT INTO {} (run_id, entity, key_id, key, action, item_key, before, after, columns)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
    ).format(store.table("repair_journal"))
    rows = [
        (
            run_id,
            e.entity,
            e.key_id,
            Jsonb(e.key),
            e.action,
            Jsonb(storable(e.item_key)),
            None if e.before is None else Jsonb(storable(e.before)),
            None if e.after is None else Jsonb(storable(e.after)),
            list(e.columns),
        )
        for e in entries
    ]
    with postgres_errors("journalling repaired items"), conn.cursor() as cur:
        cur.executemany(query, rows)


def run_status(conn: Connection, store: Store, run_id: str) -> str | None:
    query = sql.SQL("SELECT status FROM {} WHERE run_id = %s").format(store.table("repair_runs"))
    with postgres_errors("reading repair runs"):
        found = conn.execute(query, (run_id,)).fetchone()
    return None if found is None else str(found["status"])


def runs(conn: Connection, store: Store) -> list[dict[str, Any]]:
    query = sql.SQL(
        "SELECT run_id, status, started_at, finished_at, undone_at, summary FROM {} ORDER BY started_at"
    ).format(store.table("repair_runs"))
    with postgres_errors("listing repair runs"):
        return [dict(r) for r in conn.execute(query).fetchall()]


def journal_of(conn: Connection, store: Store, run_id: str) -> list[JournalEntry]:
    """The run's journal, newest write first (the order undo restores in)."""
    query = sql.SQL(
        "SELECT seq, entity, key_id, key, action, item_key, before, after, columns, undone_at FROM {}"
        " WHERE run_id = %s ORDER BY seq DESC"
    ).format(store.table("repair_journal"))
    with postgres_errors("reading the repair journal"):
        rows = conn.execute(query, (run_id,)).fetchall()
    return [
        JournalEntry(
            r["entity"],
            r["key_id"],
            r["key"],
            r["action"],
            restored(r["item_key"]),
            None if r["before"] is None else restored(r["before"]),
            None if r["after"] is None else restored(r["after"]),
            tuple(r["columns"]),
            int(r["seq"]),
            r["undone_at"],
        )
        for r in rows
    ]


def mark_undone(conn: Connection, store: Store, run_id: str, seqs: Sequence[int], *, finished: bool) -> None:
    """Mark journal entries undone, and the run when every entry is (the caller commits)."""
    with postgres_errors("recording an undo"):
        if seqs:
            conn.execute(
                sql.SQL("UPDATE {} SET undone_at = now() WHERE run_id = %s AND seq = ANY(%s)").format(
                    store.table("repair_journal")
                ),
                (run_id, list(seqs)),
            )
        if finished:
            conn.execute(
                sql.SQL("UPDATE {} SET status = 'undone', undone_at = now() WHERE run_id = %s").format(
                    store.table("repair_runs")
                ),
                (run_id,),
            )


def storable(image: Mapping[str, Any]) -> dict[str, Any]:
    """A typed image as JSON: bytes (B, BS) as base64 text."""
    return {name: _encode(value) for name, value in image.items()}


def restored(image: Mapping[str, Any]) -> dict[str, Any]:
    """The inverse of :func:`storable`."""
    return {name: _decode(value) for name, value in image.items()}


def _encode(value: Mapping[str, Any]) -> dict[str, Any]:
    (tag, inner), *_ = value.items()
    if tag == "B":
        return {tag: base64.b64encode(bytes(inner)).decode("ascii")}
    if tag == "BS":
        return {tag: [base64.b64encode(bytes(v)).decode("ascii") for v in inner]}
    if tag == "M":
        return {tag: {k: _encode(v) for k, v in inner.items()}}
    if tag == "L":
        return {tag: [_encode(v) for v in inner]}
    return {tag: inner}


def _decode(value: Mapping[str, Any]) -> dict[str, Any]:
    (tag, inner), *_ = value.items()
    if tag == "B":
        return {tag: base64.b64decode(inner)}
    if tag == "BS":
        return {tag: [base64.b64decode(v) for v in inner]}
    if tag == "M":
        return {tag: {k: _decode(v) for k, v in inner.items()}}
    if tag == "L":
        return {tag: [_decode(v) for v in inner]}
    return {tag: inner}
