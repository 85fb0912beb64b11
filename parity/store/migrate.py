"""Versioned SQL migrations of parity's store, applied on first use.

The core's tables come from ``parity/store/migrations``; an app that keeps tables of its own ships
them in its package's ``migrations`` folder (``parity/consumer/migrations``, ...), and the core
knows none of them: the caller names the packages whose migrations it needs. The CLI, which wires
every app, registers them all at start (:func:`register`), so every command sees the complete store
whatever command ran first; a library caller passes its own app's package to :func:`migrate`.

Each ``NNN_name.sql`` runs once, in its own transaction, with ``search_path`` set to the store
schema. Versions are unique across all packages (the ``schema_migrations`` table is shared). A
PostgreSQL advisory lock serialises concurrent first uses (several ECS tasks starting together),
so migrating is idempotent and safe to call at every start. Migrations run as the role that owns
the store schema (see :func:`migrate`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources

from psycopg import sql

from parity.errors import StoreError
from parity.pg import Connection, postgres_errors

CORE = "parity.store"
_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")
_LOCK_ID = 0x70617269  # 'pari'
_registered: list[str] = []


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str
    package: str


def register(*packages: str) -> None:
    """Apply these packages' migrations with the core's from now on (the wiring layer calls this)."""
    _registered.extend(p for p in packages if p not in _registered)


def registered() -> tuple[str, ...]:
    return tuple(_registered)


def migrations(packages: Iterable[str] = ()) -> list[Migration]:
    """Every migration of the core, the registered packages and ``packages``, by version."""
    chosen = list(dict.fromkeys([CORE, *_registered, *packages]))
    found = []
    for package in chosen:
        folder = resources.files(package).joinpath("migrations")
        if not folder.is_dir():
            raise StoreError(f"{package} has no migrations folder")
        for entry in folder.iterdir():
            match = _NAME.match(entry.name)
            if match:
                found.append(Migration(int(match[1]), entry.name, entry.read_text(encoding="utf-8"), package))
    found.sort(key=lambda m: m.version)
    seen: dict[int, Migration] = {}
    for m in found:
        if m.version in seen:
            other = seen[m.version]
            raise StoreError(
                f"two migrations share version {m.version}: {other.package} {other.name}, {m.package} {m.name}"
            )
        seen[m.version] = m
    return found


def migrate(conn: Connection, schema: str, packages: Iterable[str] = ()) -> list[str]:
    """Create the store schema and apply pending migrations (the core's, the registered packages'
    and ``packages``'); returns the file names applied.

    Migrations run as the role that owns the store schema, whichever job starts first, so every
    store table has one owner and the grants deploy/postgres-roles.sql sets up (the replay role's
    default privileges, given FOR ROLE parity_checker) apply to all of them. A job whose role may
    ``SET ROLE`` to the owner (a checker login user, a superuser) switches to it for the
    migrations; any other role (the replay role) is refused with what to run instead, before it
    creates anything that would be its own.
    """
    applied: list[str] = []
    schema_id = sql.Identifier(schema)
    known = migrations(packages)
    with postgres_errors(f"migrating the store schema '{schema}'"):
        conn.commit()
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_ID,))
            # Only when missing: CREATE SCHEMA checks the database-level CREATE privilege even with
            # IF NOT EXISTS, and the least-privilege job roles (deploy/postgres-roles.sql) lack it.
            if conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone() is None:
                conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(schema_id))
            done: set[int] = set()
            exists = conn.execute(
                "SELECT to_regclass(format('%%I.schema_migrations', %s::text)) AS t", (schema,)
            ).fetchone()
            if exists is not None and exists["t"] is not None:
                done = {
                    row["version"]
                    for row in conn.execute(sql.SQL("SELECT version FROM {}.schema_migrations").format(schema_id))
                }
            pending = [m for m in known if m.version not in done]
            if not pending:
                return applied
            _act_as_schema_owner(conn, schema, [m.name for m in pending])
            conn.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {}.schema_migrations ("
                    " version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
                ).format(schema_id)
            )
            for m in pending:
                conn.execute(sql.SQL("SET LOCAL search_path TO {}, public").format(schema_id))
                conn.execute(m.sql.encode())
                conn.execute(
                    sql.SQL("INSERT INTO {}.schema_migrations (version, name) VALUES (%s, %s)").format(schema_id),
                    (m.version, m.name),
                )
                applied.append(m.name)
    return applied


def _act_as_schema_owner(conn: Connection, schema: str, pending: list[str]) -> None:
    """``SET LOCAL ROLE`` to the schema's owner for this transaction, or refuse (StoreError).

    A schema a superuser owns (made by hand, then ``GRANT CREATE`` to the app's user) has no job
    role to protect: a role allowed to create there applies the migrations as itself, as before.
    """
    row = conn.execute(
        "SELECT pg_get_userbyid(n.nspowner) AS owner, current_user AS me,"
        " n.nspowner = (SELECT oid FROM pg_roles WHERE rolname = current_user) AS mine,"
        " pg_has_role(current_user, n.nspowner,"
        "  CASE WHEN current_setting('server_version_num')::int >= 160000 THEN 'SET' ELSE 'MEMBER' END) AS can_set,"
        " (SELECT rolsuper FROM pg_roles WHERE oid = n.nspowner) AS owner_is_superuser,"
        " has_schema_privilege(current_user, n.oid, 'CREATE') AS can_create"
        " FROM pg_namespace AS n WHERE n.nspname = %s",
        (schema,),
    ).fetchone()
    assert row is not None  # created above when missing
    if row["mine"]:
        return
    if row["can_set"]:
        conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(row["owner"])))
        return
    if row["owner_is_superuser"] and row["can_create"]:
        return
    owner, me = row["owner"], row["me"]
    raise StoreError(
        f"the store schema '{schema}' belongs to {owner}, and {me} may not apply its {len(pending)} pending"
        f" migration(s) ({', '.join(pending)}): tables it created would be its own and {owner}'s jobs would be"
        f" denied them; run a checker command first (parity check-config as {owner}), which applies them, or"
        f" let {me} act as the owner (as the database owner, PostgreSQL 16+):"
        f" GRANT {owner} TO {me} WITH INHERIT FALSE, SET TRUE"
    )
