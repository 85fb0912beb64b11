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
    """Create the store schema and apply pending migrations; returns the file names applied.

    Migrations run as the role that owns the store schema, whichever job starts first, so every
    store table has one owner and the grants deploy/postgres-roles.sql sets up (the replay role's
    default privileges, given FOR ROLE parity_checker) apply to all of them. A job whose role may
    ``SET ROLE`` to the owner (a checker login user, a superuser) switches to it for the
    migrations; any other role (the replay role) is refused with what to run instead, before it
    creates anything that would be its own.
    """
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
            done: set[int] = set()
            if conn.execute("SELECT to_regclass(%s) AS t", (f"{_quoted(schema)}.schema_migrations",)).fetchone() != {
                "t": None
            }:
                done = {
                    row["version"]
                    for row in conn.execute(sql.SQL("SELECT version FROM {}.schema_migrations").format(schema_id))
                }
            pending = [m for m in migrations() if m[0] not in done]
            if not pending:
                return applied
            _act_as_schema_owner(conn, schema, [name for _, name, _ in pending])
            conn.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {}.schema_migrations ("
                    " version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
                ).format(schema_id)
            )
            for version, name, text in pending:
                conn.execute(sql.SQL("SET LOCAL search_path TO {}, public").format(schema_id))
                conn.execute(text.encode())
                conn.execute(
                    sql.SQL("INSERT INTO {}.schema_migrations (version, name) VALUES (%s, %s)").format(schema_id),
                    (version, name),
                )
                applied.append(name)
    return applied


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _act_as_schema_owner(conn: Connection, schema: str, pending: list[str]) -> None:
    """``SET LOCAL ROLE`` to the schema's owner for this transaction, or refuse (StoreError)."""
    row = conn.execute(
        "SELECT pg_get_userbyid(n.nspowner) AS owner, current_user AS me,"
        " n.nspowner = (SELECT oid FROM pg_roles WHERE rolname = current_user) AS mine,"
        " pg_has_role(current_user, n.nspowner,"
        "  CASE WHEN current_setting('server_version_num')::int >= 160000 THEN 'SET' ELSE 'MEMBER' END) AS can_set"
        " FROM pg_namespace AS n WHERE n.nspname = %s",
        (schema,),
    ).fetchone()
    assert row is not None  # created above when missing
    if row["mine"]:
        return
    if row["can_set"]:
        conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(row["owner"])))
        return
    owner, me = row["owner"], row["me"]
    raise StoreError(
        f"the store schema '{schema}' belongs to {owner}, and {me} may not apply its {len(pending)} pending"
        f" migration(s) ({', '.join(pending)}): tables it created would be its own and {owner}'s jobs would be"
        f" denied them; run a checker command first (parity check-config as {owner}), which applies them, or"
        f" let {me} act as the owner (as the database owner, PostgreSQL 16+):"
        f" GRANT {owner} TO {me} WITH INHERIT FALSE, SET TRUE"
    )
