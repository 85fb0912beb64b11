"""The store schema's name and how its tables are named in SQL (always through ``sql.Identifier``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg import sql

from parity.pg import Connection, postgres_errors


@dataclass(frozen=True)
class StoreSchema:
    """Names the store schema; the table groups of :class:`parity.store.Store` build on it."""

    schema: str

    def table(self, name: str) -> sql.Composed:
        """``"schema"."name"``, quoted by psycopg whatever the names hold."""
        return sql.SQL("{}.{}").format(sql.Identifier(self.schema), sql.Identifier(name))

    def has_table(self, conn: Connection, name: str) -> bool:
        """Whether the store holds this table (an app's table exists once that app's migrations ran)."""
        with postgres_errors(f"looking for the store table {name}"):
            row = conn.execute(
                "SELECT to_regclass(format('%%I.%%I', %s::text, %s::text)) AS t", (self.schema, name)
            ).fetchone()
        return row is not None and row["t"] is not None

    def rows_if_present(self, conn: Connection, name: str, query: str) -> list[dict[str, Any]]:
        """Rows of ``query`` (``{}`` stands for the table), none when the table does not exist."""
        if not self.has_table(conn, name):
            return []
        with postgres_errors(f"reading the store table {name}"):
            return [dict(r) for r in conn.execute(sql.SQL(query).format(self.table(name)))]
