"""The stream checker's positions: ``stream_checkpoints`` (per shard) and ``stream_gaps`` (records lost)."""

from __future__ import annotations

from typing import Any

from psycopg import sql

from parity.pg import Connection, postgres_errors
from parity.store.schema import StoreSchema
from parity.stream.records import sequence_after


class StreamTables(StoreSchema):
    """Checkpoints that never move backwards, and the gaps a trimmed stream leaves."""

    def checkpoints(self, conn: Connection, stream_id: str) -> dict[str, dict[str, Any]]:
        """shard id -> {sequence_number, parent_shard_id, shard_closed} for one stream."""
        query = sql.SQL(
            "SELECT shard_id, parent_shard_id, sequence_number, shard_closed FROM {} WHERE stream_id = %s"
        ).format(self.table("stream_checkpoints"))
        with postgres_errors("reading stream checkpoints"):
            return {r["shard_id"]: dict(r) for r in conn.execute(query, (stream_id,))}

    def all_checkpoints(self, conn: Connection) -> list[dict[str, Any]]:
        """Every stream's shards (stream_id, shard_id, sequence_number, shard_closed, updated_at)."""
        query = sql.SQL(
            "SELECT stream_id, shard_id, sequence_number, shard_closed, updated_at FROM {} ORDER BY stream_id, shard_id"
        ).format(self.table("stream_checkpoints"))
        with postgres_errors("reading stream checkpoints"):
            return [dict(r) for r in conn.execute(query)]

    def save_checkpoint(
        self,
        conn: Connection,
        stream_id: str,
        shard_id: str,
        sequence_number: str | None,
        *,
        parent_shard_id: str | None = None,
        shard_closed: bool = False,
    ) -> bool:
        """Record the highest committed sequence of a shard (never moves backwards).

        Returns whether ``sequence_number`` moved the checkpoint forward. False means a transaction
        that already committed this position is being replayed: a commit whose acknowledgement was
        lost (PostgreSQL stopped mid-commit) is retried, and its records must not be counted twice.
        """
        query = sql.SQL(
            "WITH previous AS (SELECT sequence_number FROM {table} WHERE stream_id = %s AND shard_id = %s),"
            " saved AS (INSERT INTO {table} AS c"
            "  (stream_id, shard_id, parent_shard_id, sequence_number, shard_closed, updated_at)"
            "  VALUES (%s, %s, %s, %s, %s, now())"
            "  ON CONFLICT (stream_id, shard_id) DO UPDATE SET"
            "   sequence_number = CASE WHEN c.sequence_number IS NULL OR EXCLUDED.sequence_number IS NULL"
            "    THEN COALESCE(EXCLUDED.sequence_number, c.sequence_number)"
            "    WHEN length(EXCLUDED.sequence_number) > length(c.sequence_number)"
            "      OR (length(EXCLUDED.sequence_number) = length(c.sequence_number)"
            "          AND EXCLUDED.sequence_number > c.sequence_number)"
            "    THEN EXCLUDED.sequence_number ELSE c.sequence_number END,"
            "   parent_shard_id = COALESCE(EXCLUDED.parent_shard_id, c.parent_shard_id),"
            "   shard_closed = c.shard_closed OR EXCLUDED.shard_closed, updated_at = now()"
            "  RETURNING 1)"
            # the CTE's INSERT runs whether or not it is read; `previous` sees the row before it
            " SELECT (SELECT sequence_number FROM previous) AS previous, (SELECT count(*) FROM saved) AS saved"
        ).format(table=self.table("stream_checkpoints"))
        params = (stream_id, shard_id, stream_id, shard_id, parent_shard_id, sequence_number, shard_closed)
        with postgres_errors("saving a stream checkpoint"):
            row = conn.execute(query, params).fetchone()
        previous = None if row is None else row["previous"]
        return sequence_number is not None and (previous is None or sequence_after(sequence_number, previous))

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
