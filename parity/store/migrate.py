"""Versioned SQL migrations of parity's own tables, applied on first use.

Each ``migrations/NNN_name.sql`` runs once, in its own transaction, with ``search_path`` set to the
store schema. A PostgreSQL advisory lock serialises concurrent first uses (several ECS tasks
starting together), so migrating is idempotent and safe to call at every start.
"""

from __future__ import annotations

import re
from importlib import resources

from psycopg import sql

from parity.errors import StoreError
from parity.pg import Connection, postgres_errors

_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")
_LOCK_ID = 0x70617269  # 'pari'


def migrations() -> list[tuple[int, str, str]]:
    """(version, file name, SQL) of every bundled migration, in order."""
    found = []
    for entry in resources.files("parity.store").joinpath("migrations").iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append((int(match[1]), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    versions = [v for v, _, _ in found]
    if len(set(versions)) != len(versions):
        raise StoreError(f"two migrations share a version number: {versions}")
    return found


def migrate(conn: Connection, schema: str) -> list[str]:
    """Create the store schema and apply pending migrations; returns the file names applied."""
    applied: list[str] = []
    schema_id = sql.Identifier(schema)
    with postgres_errors(f"migrating the store schema '{schema}'"):
        conn.commit()
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_ID,))
            # Only when missing: CREATE SCHEMA checks the database-level CREATE privilege even with
            # IF NOT EXISTS, and the least-privilege job roles (deploy/postgres-roles.sql) lack it.
            if conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone() is None:
                conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(schema_id))
            conn.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {}.schema_migrations ("
                    " version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
                ).format(schema_id)
            )
            done = {
                row["version"]
                for row in conn.execute(sql.SQL("SELECT version FROM {}.schema_migrations").format(schema_id))
            }
            for version, name, text in migrations():
                if version in done:
                    continue
                conn.execute(sql.SQL("SET LOCAL search_path TO {}, public").format(schema_id))
                conn.execute(text.encode())
                conn.execute(
                    sql.SQL("INSERT INTO {}.schema_migrations (version, name) VALUES (%s, %s)").format(schema_id),
                    (version, name),
                )
                applied.append(name)
    return applied
