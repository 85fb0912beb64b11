"""``journal_runs`` and ``journal_entries`` (migration 150): the runs of commands that write to a
store (``parity replay``, ``parity repair``) and every write each made, with before and after images.

A run is a row of its ``kind`` (the command's name); an entry is one write: the entity's key, the
action, what was there before and what the write left (JSON the command chose: replay keeps
``to_jsonb`` of the whole row, repair the typed item with binary as base64), and, where the key
alone does not say where the write went, its ``target`` (repair: the item's table key). The
lifecycle and the undo built on these tables are :mod:`parity.journal`'s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import sql
from psycopg.types.json import Jsonb

from parity.pg import Connection, execute_many, postgres_errors
from parity.store.schema import StoreSchema

RUN_FIELDS = ("run_id", "status", "started_at", "finished_at", "undone_at", "summary")
"""The columns :meth:`JournalTables.journal_runs` returns, in that order."""


@dataclass(frozen=True)
class JournalEntry:
    """One journalled write (to be written, or read back with its ``seq`` and when it was undone)."""

    entity: str
    key_id: str
    key: dict[str, Any]
    action: str
    before: Any  # JSON of what was there before the write; None when nothing was
    after: Any  # JSON of what the write left; None after a delete
    columns: tuple[str, ...] = ()
    target: Any = None  # where the write went, when the key alone does not say
    seq: int = 0
    undone_at: datetime | None = None


def _json(value: Any) -> Jsonb | None:
    return None if value is None else Jsonb(value)


class JournalTables(StoreSchema):
    """The journal's SQL; the caller owns the transaction."""

    def start_journal_run(self, conn: Connection, kind: str, run_id: str, options: Mapping[str, Any]) -> None:
        query = sql.SQL("INSERT INTO {} (run_id, kind, status, options) VALUES (%s, %s, 'applying', %s)").format(
            self.table("journal_runs")
        )
        with postgres_errors(f"starting a {kind} run"):
            conn.execute(query, (run_id, kind, _json(dict(options))))

    def finish_journal_run(self, conn: Connection, run_id: str, summary: Mapping[str, Any]) -> None:
        """The run is ``applied``; ``summary`` its counts."""
        query = sql.SQL("UPDATE {} SET status = 'applied', finished_at = now(), summary = %s WHERE run_id = %s").format(
            self.table("journal_runs")
        )
        with postgres_errors("finishing a journalled run"):
            conn.execute(query, (_json(dict(summary)), run_id))

    def fail_journal_run(self, conn: Connection, run_id: str, status: str, error: str) -> None:
        """The run ended ``failed`` or ``interrupted`` (what it wrote stays journalled), with why."""
        query = sql.SQL(
            "UPDATE {} SET status = %s, finished_at = now(), summary = summary || %s WHERE run_id = %s"
        ).format(self.table("journal_runs"))
        with postgres_errors(f"marking a journalled run {status}"):
            conn.execute(query, (status, Jsonb({"error": error}), run_id))

    def journal_run_status(self, conn: Connection, kind: str, run_id: str) -> str | None:
        """The status of the ``kind`` run ``run_id``; None when there is no such run of that kind."""
        query = sql.SQL("SELECT status FROM {} WHERE run_id = %s AND kind = %s").format(self.table("journal_runs"))
        with postgres_errors(f"reading {kind} runs"):
            row = conn.execute(query, (run_id, kind)).fetchone()
        return None if row is None else str(row["status"])

    def journal_runs(self, conn: Connection, kind: str) -> list[dict[str, Any]]:
        """The ``kind`` runs (:data:`RUN_FIELDS`), oldest first."""
        query = sql.SQL("SELECT {} FROM {} WHERE kind = %s ORDER BY started_at, run_id").format(
            sql.SQL(", ").join(sql.Identifier(f) for f in RUN_FIELDS), self.table("journal_runs")
        )
        with postgres_errors(f"listing {kind} runs"):
            return [dict(r) for r in conn.execute(query, (kind,))]

    def journal(self, conn: Connection, run_id: str, entries: Sequence[JournalEntry]) -> None:
        """Append writes to the run's journal."""
        query = sql.SQL(
            "INSERT INTO {} (run_id, entity, key_id, key, action, target, before, after, columns)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
        ).format(self.table("journal_entries"))
        rows = [
            (
                run_id,
                e.entity,
                e.key_id,
                Jsonb(e.key),
                e.action,
                _json(e.target),
                _json(e.before),
                _json(e.after),
                list(e.columns),
            )
            for e in entries
        ]
        execute_many(conn, query, rows, "journalling written keys")

    def journal_entries(self, conn: Connection, run_id: str) -> list[JournalEntry]:
        """The run's journal, newest write first (the order an undo restores in)."""
        query = sql.SQL(
            "SELECT seq, entity, key_id, key, action, target, before, after, columns, undone_at FROM {}"
            " WHERE run_id = %s ORDER BY seq DESC"
        ).format(self.table("journal_entries"))
        with postgres_errors("reading a run's journal"):
            rows = conn.execute(query, (run_id,)).fetchall()
        return [
            JournalEntry(
                r["entity"],
                r["key_id"],
                r["key"],
                r["action"],
                r["before"],
                r["after"],
                tuple(r["columns"]),
                r["target"],
                int(r["seq"]),
                r["undone_at"],
            )
            for r in rows
        ]

    def mark_journal_undone(self, conn: Connection, run_id: str, seqs: Sequence[int]) -> None:
        """These entries of the run were undone."""
        if not seqs:
            return
        query = sql.SQL("UPDATE {} SET undone_at = now() WHERE run_id = %s AND seq = ANY(%s)").format(
            self.table("journal_entries")
        )
        with postgres_errors("marking journal entries undone"):
            conn.execute(query, (run_id, list(seqs)))

    def mark_journal_run_undone(self, conn: Connection, run_id: str) -> None:
        query = sql.SQL("UPDATE {} SET status = 'undone', undone_at = now() WHERE run_id = %s").format(
            self.table("journal_runs")
        )
        with postgres_errors("marking a run undone"):
            conn.execute(query, (run_id,))
