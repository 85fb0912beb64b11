"""parity's own tables in PostgreSQL: discrepancies, stream checkpoints, runs, archive, dead letters.

Every function takes an open connection and leaves the transaction to the caller, so that a
checker can commit its verdicts and its checkpoint together. Every write is an idempotent upsert:
a replayed record or a rerun never doubles a row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from psycopg import sql
from psycopg.types.json import Jsonb

from parity.compare import Discrepancy
from parity.jsontext import dumps_exact
from parity.mapping import json_key_id
from parity.pg import Connection, postgres_errors
from parity.store.migrate import migrate
from parity.telemetry import get_logger

_log = get_logger("store")

__all__ = ["Store", "discrepancy_json", "migrate", "stored_json"]


@dataclass(frozen=True)
class Store:
    """Names the store schema; methods run SQL on a caller's connection."""

    schema: str

    def table(self, name: str) -> sql.Composed:
        return sql.SQL("{}.{}").format(sql.Identifier(self.schema), sql.Identifier(name))

    def migrate(self, conn: Connection) -> list[str]:
        return migrate(conn, self.schema)

    # --- discrepancies ---------------------------------------------------------------------------

    def record_discrepancies(
        self, conn: Connection, found: Iterable[Discrepancy], detected_by: str, seen_at: datetime
    ) -> int:
        """Upsert discrepancies (one row per entity and key); returns how many were written.

        The values each store held are refreshed from this check (kept when it brought none). An
        accepted discrepancy stays accepted while its kind and values are those that were accepted;
        when they change, the checker that saw it reopens it.
        """
        found = list(found)
        rows = [
            (
                d.entity,
                json_key_id(d.key),
                Jsonb(d.key),
                str(d.kind),
                list(d.columns),
                detected_by,
                seen_at,
                seen_at,
                None if d.values is None else Jsonb(d.values, dumps=dumps_exact),
            )
            for d in found
        ]
        if not rows:
            return 0
        query = sql.SQL(
            "INSERT INTO {} AS d (entity, key_id, key, kind, columns, detected_by, first_seen, last_seen, observed,"
            " status) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, 'open')"
            " ON CONFLICT (entity, key_id) DO UPDATE SET"
            "  kind = EXCLUDED.kind, columns = EXCLUDED.columns, detected_by = EXCLUDED.detected_by,"
            "  last_seen = GREATEST(d.last_seen, EXCLUDED.last_seen),"
            "  first_seen = CASE WHEN d.status = 'resolved' THEN EXCLUDED.first_seen ELSE d.first_seen END,"
            "  observed = COALESCE(EXCLUDED.observed, d.observed),"
            "  status = CASE WHEN d.status = 'accepted' AND d.kind = EXCLUDED.kind"
            "   AND (EXCLUDED.observed IS NULL OR EXCLUDED.observed = d.observed) THEN 'accepted' ELSE 'open' END,"
            "  resolved_at = NULL, resolved_by = NULL"
        ).format(self.table("discrepancies"))
        with postgres_errors("recording discrepancies"), conn.cursor() as cur:
            cur.executemany(query, rows)
        for d in found:
            _log.debug("discrepancy", detected_by=detected_by, values=d.values, **d.to_json())
        return len(rows)

    def resolve(
        self, conn: Connection, entity: str, keys: Sequence[dict[str, Any]], resolved_by: str, seen_at: datetime
    ) -> int:
        """Mark open (or accepted) discrepancies of these keys resolved (a later check matched)."""
        if not keys:
            return 0
        query = sql.SQL(
            "UPDATE {} SET status = 'resolved', resolved_at = %s, resolved_by = %s, last_seen = GREATEST(last_seen, %s)"
            " WHERE entity = %s AND key_id = ANY(%s) AND status <> 'resolved'"
        ).format(self.table("discrepancies"))
        with postgres_errors("resolving discrepancies"), conn.cursor() as cur:
            cur.execute(query, (seen_at, resolved_by, seen_at, entity, [json_key_id(k) for k in keys]))
            return cur.rowcount

    def list_discrepancies(
        self,
        conn: Connection,
        status: str = "open",
        *,
        entity: str | None = None,
        kind: str | None = None,
        key: dict[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """Discrepancies in the contract's JSON shape (§5, §6), oldest first, filtered as asked."""
        conditions: list[sql.Composable] = []
        params: dict[str, Any] = {"status": status, "entity": entity, "kind": kind}
        if status != "all":
            conditions.append(sql.SQL("status = %(status)s"))
        if entity is not None:
            conditions.append(sql.SQL("entity = %(entity)s"))
        if kind is not None:
            conditions.append(sql.SQL("kind = %(kind)s"))
        if key is not None:
            conditions.append(sql.SQL("key_id = %(key_id)s"))
            params["key_id"] = json_key_id(key)
        where = sql.SQL(" WHERE ") + sql.SQL(" AND ").join(conditions) if conditions else sql.SQL("")
        query = sql.SQL(
            "SELECT entity, key, kind, columns, detected_by, first_seen, last_seen, status, observed, note,"
            " accepted_at, accepted_by, resolved_at FROM {}{} ORDER BY first_seen, entity, key_id"
        ).format(self.table("discrepancies"), where)
        with postgres_errors("listing discrepancies"):
            rows = conn.execute(query, params).fetchall()
        return [discrepancy_json(r) for r in rows]

    # --- stream checkpoints and gaps -------------------------------------------------------------

    def checkpoints(self, conn: Connection, stream_id: str) -> dict[str, dict[str, Any]]:
        """shard id -> {sequence_number, parent_shard_id, shard_closed} for one stream."""
        query = sql.SQL(
            "SELECT shard_id, parent_shard_id, sequence_number, shard_closed FROM {} WHERE stream_id = %s"
        ).format(self.table("stream_checkpoints"))
        with postgres_errors("reading stream checkpoints"):
            return {r["shard_id"]: dict(r) for r in conn.execute(query, (stream_id,))}

    def save_checkpoint(
        self,
        conn: Connection,
        stream_id: str,
        shard_id: str,
        sequence_number: str | None,
        *,
        parent_shard_id: str | None = None,
        shard_closed: bool = False,
    ) -> None:
        """Record the highest committed sequence of a shard (never moves backwards)."""
        query = sql.SQL(
            "INSERT INTO {} AS c (stream_id, shard_id, parent_shard_id, sequence_number, shard_closed, updated_at)"
            " VALUES (%s, %s, %s, %s, %s, now())"
            " ON CONFLICT (stream_id, shard_id) DO UPDATE SET"
            "  sequence_number = CASE WHEN c.sequence_number IS NULL OR EXCLUDED.sequence_number IS NULL"
            "   THEN COALESCE(EXCLUDED.sequence_number, c.sequence_number)"
            "   WHEN length(EXCLUDED.sequence_number) > length(c.sequence_number)"
            "     OR (length(EXCLUDED.sequence_number) = length(c.sequence_number)"
            "         AND EXCLUDED.sequence_number > c.sequence_number)"
            "   THEN EXCLUDED.sequence_number ELSE c.sequence_number END,"
            "  parent_shard_id = COALESCE(EXCLUDED.parent_shard_id, c.parent_shard_id),"
            "  shard_closed = c.shard_closed OR EXCLUDED.shard_closed, updated_at = now()"
        ).format(self.table("stream_checkpoints"))
        with postgres_errors("saving a stream checkpoint"):
            conn.execute(query, (stream_id, shard_id, parent_shard_id, sequence_number, shard_closed))

    def record_gap(
        self, conn: Connection, stream_id: str, shard_id: str, after_sequence: str | None, reason: str
    ) -> None:
        """Remember that records were lost (trimmed before they were read)."""
        query = sql.SQL(
            "INSERT INTO {} (stream_id, shard_id, after_sequence, reason) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT DO NOTHING"
        ).format(self.table("stream_gaps"))
        with postgres_errors("recording a stream gap"):
            conn.execute(query, (stream_id, shard_id, after_sequence, reason))

    def gaps(self, conn: Connection) -> list[dict[str, Any]]:
        query = sql.SQL("SELECT stream_id, shard_id, after_sequence, reason, detected_at FROM {} ORDER BY id").format(
            self.table("stream_gaps")
        )
        with postgres_errors("reading stream gaps"):
            return [dict(r) for r in conn.execute(query)]

    # --- archive and dead letters ----------------------------------------------------------------

    def archive(self, conn: Connection, entries: Iterable[dict[str, Any]]) -> int:
        """Keep images of DynamoDB-only writes (keys: entity, key, event_id, event_name,
        approximate_created_at, new_image, old_image, user_identity)."""
        rows = [
            (
                e["entity"],
                json_key_id(e["key"]),
                e["event_id"],
                Jsonb(e["key"]),
                e["event_name"],
                e.get("approximate_created_at"),
                _jsonb(e.get("new_image")),
                _jsonb(e.get("old_image")),
                e.get("user_identity"),
            )
            for e in entries
        ]
        if not rows:
            return 0
        query = sql.SQL(
            "INSERT INTO {} (entity, key_id, event_id, key, event_name, approximate_created_at, new_image,"
            " old_image, user_identity) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING"
        ).format(self.table("dynamodb_only_archive"))
        with postgres_errors("archiving DynamoDB-only writes"), conn.cursor() as cur:
            cur.executemany(query, rows)
        return len(rows)

    def dead_letter(self, conn: Connection, source: str, record_id: str, reason: str, raw: Any) -> None:
        """Keep a record that could not be checked, with why; processing goes on."""
        query = sql.SQL(
            "INSERT INTO {} (source, record_id, reason, raw) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (source, record_id) DO UPDATE SET reason = EXCLUDED.reason"
        ).format(self.table("dead_letters"))
        with postgres_errors("writing a dead letter"):
            conn.execute(query, (source, record_id, reason, Jsonb(raw)))


def discrepancy_json(r: Mapping[str, Any]) -> dict[str, Any]:
    """One store row of ``discrepancies`` in the contract's JSON shape (§5 and §6's additions)."""
    return {
        "entity": r["entity"],
        "key": stored_json(r["key"]),
        "kind": r["kind"],
        "columns": list(r["columns"]),
        "detected_by": r["detected_by"],
        "first_seen": r["first_seen"].isoformat(),
        "last_seen": r["last_seen"].isoformat(),
        "status": r["status"],
        "values": stored_json(r["observed"]) if r["observed"] is not None else {},
        "note": r["note"],
        "accepted_by": r["accepted_by"],
        "accepted_at": None if r["accepted_at"] is None else r["accepted_at"].isoformat(),
        "resolved_at": None if r["resolved_at"] is None else r["resolved_at"].isoformat(),
    }


def stored_json(value: Any) -> Any:
    """JSON read back from jsonb as it was written: the store's connections decode numbers as
    Decimal, and integral ones go back to int (keys and values must print as they went in)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else value
    if isinstance(value, dict):
        return {k: stored_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [stored_json(v) for v in value]
    return value


def _jsonb(value: Any) -> Jsonb | None:
    return None if value is None else Jsonb(value)
