"""The store's table of pending re-checks (migration 020): first mismatches waiting for grace.

One row per entity and key: the newest record of the key that did not match yet. A record only
replaces or clears a pending row when it is not older than it (by sequence number when both carry
one, else by ApproximateCreationDateTime), so out-of-order or replayed records never lose a newer
pending change. Functions take the caller's connection and leave the transaction to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import sql
from psycopg.types.json import Jsonb

from parity.consumer.jsonsafe import json_safe
from parity.consumer.upsert import upsert_sql
from parity.pg import Connection, execute_many, postgres_errors
from parity.store import Store
from parity.stream.records import ChangeRecord, EventName, Source

_COLUMNS = (
    "entity",
    "key_id",
    "key",
    "source",
    "event_id",
    "event_name",
    "sequence_number",
    "approximate_created",
    "new_image",
    "old_image",
    "user_identity",
    "received_at",
    "due_at",
)

# "the incoming row (EXCLUDED) is not older than the stored row p"
_NOT_OLDER = (
    "((EXCLUDED.sequence_number IS NOT NULL AND p.sequence_number IS NOT NULL"
    "   AND EXCLUDED.sequence_number::numeric >= p.sequence_number::numeric)"
    " OR ((EXCLUDED.sequence_number IS NULL OR p.sequence_number IS NULL)"
    "   AND EXCLUDED.approximate_created >= p.approximate_created))"
)


# "the stored row p is a strictly later change than the record n" (consumer.judge.is_newer_record)
_STORED_NEWER = (
    "(CASE WHEN p.sequence_number ~ '^[0-9]+$' AND n.seq ~ '^[0-9]+$'"
    " THEN p.sequence_number::numeric > n.seq::numeric"
    " ELSE p.approximate_created > n.created END)"
)


@dataclass(frozen=True)
class PendingRow:
    """A first mismatch to store: its key and the record, images already in a form jsonb accepts."""

    entity: str
    key_id: str
    key: dict[str, Any]
    record: ChangeRecord
    new_image: Any
    old_image: Any


def pending_row(entity: str, key_id: str, key: dict[str, Any], record: ChangeRecord) -> PendingRow:
    """Prepare a pending re-check; DecodeError when the record's images cannot be stored."""
    return PendingRow(
        entity,
        key_id,
        key,
        record,
        None if record.new_image is None else json_safe(record.new_image),
        None if record.old_image is None else json_safe(record.old_image),
    )


@dataclass(frozen=True)
class PendingEntry(PendingRow):
    """A stored pending re-check, as read back when it is due: the row stored and its times."""

    received_at: datetime
    due_at: datetime

    @property
    def event_id(self) -> str:
        return self.record.event_id


def upsert(
    conn: Connection,
    store: Store,
    rows: Sequence[PendingRow],
    received_at: datetime,
    due_at: datetime,
) -> None:
    """Add or replace pending re-checks; older records never replace newer."""
    if not rows:
        return
    query = upsert_sql(
        store.table("consumer_pending"),
        _COLUMNS,
        ("entity", "key_id"),
        alias="p",
        where="p.event_id <> EXCLUDED.event_id AND " + _NOT_OLDER,
    )
    params = [
        (
            p.entity,
            p.key_id,
            Jsonb(json_safe(p.key)),
            str(p.record.source),
            p.record.event_id,
            str(p.record.event_name),
            p.record.sequence_number,
            p.record.approximate_created,
            None if p.new_image is None else Jsonb(p.new_image),
            None if p.old_image is None else Jsonb(p.old_image),
            p.record.user_identity,
            received_at,
            due_at,
        )
        for p in rows
    ]
    execute_many(conn, query, params, "saving pending re-checks")


def take_due(conn: Connection, store: Store, now: datetime, limit: int) -> list[PendingEntry]:
    """Lock up to ``limit`` due re-checks (SKIP LOCKED: several checkers may share the store)."""
    query = sql.SQL("SELECT * FROM {t} WHERE due_at <= %s ORDER BY due_at LIMIT %s FOR UPDATE SKIP LOCKED").format(
        t=store.table("consumer_pending")
    )
    with postgres_errors("reading due re-checks"):
        rows = conn.execute(query, (now, limit)).fetchall()
    return [_entry(r) for r in rows]


def delete(conn: Connection, store: Store, entries: Sequence[PendingEntry]) -> None:
    if not entries:
        return
    query = sql.SQL(
        "DELETE FROM {t} AS p USING unnest(%s::text[], %s::text[], %s::text[]) AS n(entity, key_id, event_id)"
        " WHERE p.entity = n.entity AND p.key_id = n.key_id AND p.event_id = n.event_id"
    ).format(t=store.table("consumer_pending"))
    with postgres_errors("deleting decided re-checks"):
        conn.execute(query, ([e.entity for e in entries], [e.key_id for e in entries], [e.event_id for e in entries]))


def count(conn: Connection, store: Store) -> int:
    with postgres_errors("counting pending re-checks"):
        row = conn.execute(sql.SQL("SELECT count(*) AS n FROM {}").format(store.table("consumer_pending"))).fetchone()
    return int(row["n"]) if row else 0


def overdue(conn: Connection, store: Store, due_before: datetime) -> tuple[int, datetime | None]:
    """How many re-checks fell due before ``due_before`` and still wait, and the earliest due time."""
    query = sql.SQL("SELECT count(*) AS n, min(due_at) AS oldest FROM {} WHERE due_at < %s").format(
        store.table("consumer_pending")
    )
    with postgres_errors("reading overdue re-checks"):
        row = conn.execute(query, (due_before,)).fetchone()
    return (0, None) if row is None else (int(row["n"]), row["oldest"])


def next_due(conn: Connection, store: Store) -> datetime | None:
    with postgres_errors("reading pending re-checks"):
        row = conn.execute(
            sql.SQL("SELECT min(due_at) AS d FROM {}").format(store.table("consumer_pending"))
        ).fetchone()
    return None if row is None else row["d"]


def _entry(row: dict[str, Any]) -> PendingEntry:
    record = ChangeRecord(
        event_id=row["event_id"],
        event_name=EventName(row["event_name"]),
        keys={},
        new_image=row["new_image"],
        old_image=row["old_image"],
        approximate_created=row["approximate_created"],
        sequence_number=row["sequence_number"],
        user_identity=row["user_identity"],
        source=Source(row["source"]),
        raw={},
    )
    return PendingEntry(
        row["entity"],
        row["key_id"],
        row["key"],
        record,
        row["new_image"],
        row["old_image"],
        row["received_at"],
        row["due_at"],
    )


def clear(conn: Connection, store: Store, entity: str, cleared: Sequence[tuple[str, ChangeRecord]]) -> None:
    """Drop the pending re-checks these (matching or superseded) records make moot, in one statement.

    Only a pending row that is not newer than the record is deleted (by sequence number when both
    are DynamoDB sequence numbers, else by ApproximateCreationDateTime), so an older record arriving
    late never clears a newer pending change. No read first: a key without a pending row costs an
    index probe on the server, and the statement rides the checker's pipeline.
    """
    if not cleared:
        return
    query = sql.SQL(
        "DELETE FROM {} AS p USING unnest(%b::text[], %b::text[], %b::timestamptz[]) AS n(key_id, seq, created)"
        " WHERE p.entity = %b AND p.key_id = n.key_id AND NOT " + _STORED_NEWER
    ).format(store.table("consumer_pending"))
    with postgres_errors("clearing pending re-checks"):
        conn.execute(
            query,
            (
                [k for k, _ in cleared],
                [r.sequence_number for _, r in cleared],
                [r.approximate_created for _, r in cleared],
                entity,
            ),
        )
