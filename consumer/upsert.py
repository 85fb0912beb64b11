"""``INSERT ... ON CONFLICT DO UPDATE`` statements for the consumer's own store tables.

The store's writers (``parity/store``) spell their upserts out; the consumer's tables need the same
shape with a guard (``WHERE``) that keeps a newer stored row, so the statement is built here from
column names once instead of by hand in each module.
"""

from __future__ import annotations

from collections.abc import Sequence

from psycopg import sql


def upsert_sql(
    table: sql.Composable,
    columns: Sequence[str],
    conflict: Sequence[str],
    *,
    alias: str = "t",
    where: str | None = None,
) -> sql.Composed:
    """One-row upsert with ``%s`` placeholders in ``columns`` order.

    On a conflict on ``conflict`` every other column takes the incoming value, only when ``where``
    (SQL over ``EXCLUDED`` and the stored row named ``alias``) holds; ``where`` is trusted SQL
    written in code, never user input.
    """
    names = sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    placeholders = sql.SQL(", ").join(sql.Placeholder() for _ in columns)
    keys = sql.SQL(", ").join(sql.Identifier(c) for c in conflict)
    updates = sql.SQL(", ").join(
        sql.SQL("{} = EXCLUDED.{}").format(sql.Identifier(c), sql.Identifier(c)) for c in columns if c not in conflict
    )
    query = sql.SQL("INSERT INTO {} AS {} ({}) VALUES ({}) ON CONFLICT ({}) DO UPDATE SET {}").format(
        table, sql.Identifier(alias), names, placeholders, keys, updates
    )
    return query if where is None else sql.Composed([query, sql.SQL(" WHERE " + where)])
