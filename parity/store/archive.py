"""What the store keeps beyond the stream: images of DynamoDB-only writes and dead letters."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from psycopg import sql
from psycopg.types.json import Jsonb

from parity.errors import DecodeError
from parity.jsontext import json_safe
from parity.mapping import json_key_id
from parity.pg import Connection, execute_many, postgres_errors
from parity.store.schema import StoreSchema


class ArchiveTables(StoreSchema):
    """``dynamodb_only_archive`` (read back by replay) and ``dead_letters``."""

    def archive(self, conn: Connection, entries: Iterable[dict[str, Any]]) -> int:
        """Keep images of DynamoDB-only writes (keys: entity, key, event_id, event_name,
        approximate_created_at, new_image, old_image, user_identity)."""
        rows = [
            (
                e["entity"],
                json_key_id(e["key"]),
                e["event_id"],
                Jsonb(json_safe(e["key"])),
                e["event_name"],
                e.get("approximate_created_at"),
                _jsonb(e.get("new_image")),
                _jsonb(e.get("old_image")),
                e.get("user_identity"),
            )
            for e in entries
        ]
        query = sql.SQL(
            "INSERT INTO {} (entity, key_id, event_id, key, event_name, approximate_created_at, new_image,"
            " old_image, user_identity) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING"
        ).format(self.table("dynamodb_only_archive"))
        execute_many(conn, query, rows, "archiving DynamoDB-only writes")
        return len(rows)

    def archived(self, conn: Connection) -> list[dict[str, Any]]:
        """Every archived write, by entity and key, oldest first per key."""
        query = sql.SQL(
            "SELECT entity, key, event_name, approximate_created_at, user_identity,"
            " new_image, old_image FROM {} ORDER BY entity, key_id, approximate_created_at, event_id"
        ).format(self.table("dynamodb_only_archive"))
        with postgres_errors("reading the archive of DynamoDB-only writes"):
            return [dict(r) for r in conn.execute(query)]

    def dead_letter(self, conn: Connection, source: str, record_id: str, reason: str, raw: Any) -> None:
        """Keep a record that could not be checked, with why; processing goes on.

        ``source`` names who could not check it (``dynamodb-streams``, ``kinesis``, ``reconcile``),
        ``record_id`` the record within that source (event id, Kinesis sequence number, item key).
        ``raw`` is what ``parity dead-letters --retry`` rebuilds the record from: a stream record or
        Kinesis payload (``{"dynamodb": ...}``), a Kinesis record (``{"sequenceNumber", "data"}``), or
        ``{"item": <typed item>}``. It is stored in a form jsonb accepts whatever it holds (U+0000 as
        the text ``\\u0000``, bytes as base64, non-finite floats as text; a value nested too deeply
        to walk is replaced by a note), so writing a dead letter never fails because of the record it
        keeps. Writing the same record again updates its reason and raw form, and keeps ``created_at``.
        """
        query = sql.SQL(
            "INSERT INTO {} (source, record_id, reason, raw) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (source, record_id) DO UPDATE SET reason = EXCLUDED.reason, raw = EXCLUDED.raw"
        ).format(self.table("dead_letters"))
        try:
            stored = json_safe(raw)
        except DecodeError as exc:
            stored = {"unstorable": exc.message}
        with postgres_errors("writing a dead letter"):
            conn.execute(query, (source, json_safe(record_id), json_safe(reason), Jsonb(stored)))

    def list_dead_letters(self, conn: Connection, *, with_raw: bool = False) -> list[dict[str, Any]]:
        """Dead letters, oldest first: ``{"source", "record_id", "reason", "created_at"}`` (+ ``raw``)."""
        columns = "source, record_id, reason, created_at" + (", raw" if with_raw else "")
        query = sql.SQL("SELECT " + columns + " FROM {} ORDER BY created_at, source, record_id").format(
            self.table("dead_letters")
        )
        with postgres_errors("listing dead letters"):
            return [dict(r) for r in conn.execute(query)]

    def delete_dead_letters(self, conn: Connection, source: str, record_ids: Sequence[str]) -> int:
        """Forget dead letters that were checked after all; returns how many went."""
        if not record_ids:
            return 0
        query = sql.SQL("DELETE FROM {} WHERE source = %s AND record_id = ANY(%s::text[])").format(
            self.table("dead_letters")
        )
        with postgres_errors("removing dead letters"), conn.cursor() as cur:
            cur.execute(query, (source, list(record_ids)))
            return cur.rowcount

    def dead_letters_sql(self) -> sql.Composed:
        """THE insert of many dead letters at once, embeddable as a data-modifying CTE (the
        reconciler commits a page's dead letters in the page's one statement).

        Named parameters: ``dead_source`` and ``dead`` (JSON text of ``[{"record_id", "reason",
        "raw"}]``; ``raw`` must be a value jsonb accepts).
        """
        return sql.SQL(
            "INSERT INTO {} (source, record_id, reason, raw)"
            " SELECT %(dead_source)s, d.record_id, d.reason, d.raw"
            " FROM jsonb_to_recordset(%(dead)s::jsonb) AS d(record_id text, reason text, raw jsonb)"
            " ON CONFLICT (source, record_id) DO UPDATE SET reason = EXCLUDED.reason"
        ).format(self.table("dead_letters"))


def _jsonb(value: Any) -> Jsonb | None:
    return None if value is None else Jsonb(value)
