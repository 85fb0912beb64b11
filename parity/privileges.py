"""What the connected PostgreSQL role may do on the mapped tables and the store, asked of the server.

``parity replay`` refuses early when its role cannot write (with the GRANT to run), and
``parity check-config --replay`` prints the role's rights before an incident needs them: both read
them here, with ``has_table_privilege``/``has_schema_privilege``, never by trying a write.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from psycopg import sql

from parity.config import EntityConfig
from parity.pg import Connection, postgres_errors

#: What replay needs on every mapped table (DELETE only to replay deletes or undo).
REPLAY_TABLE_RIGHTS = ("SELECT", "INSERT", "UPDATE")


@dataclass(frozen=True)
class Rights:
    """One object's wanted privileges, split into those the role has and those it lacks."""

    subject: str  # "table public.sessions", "store schema parity"
    exists: bool
    has: tuple[str, ...]
    lacks: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.exists and not self.lacks


def current_role(conn: Connection) -> str:
    with postgres_errors("reading the connected role"):
        row = conn.execute("SELECT current_user AS role").fetchone()
    assert row is not None
    return str(row["role"])


def table_rights(conn: Connection, entity: EntityConfig, wanted: Sequence[str]) -> Rights:
    """The wanted privileges on an entity's table (``exists`` False when the table is missing)."""
    name = sql.Identifier(entity.schema_name, entity.table_name).as_string(conn)
    with postgres_errors(f"checking privileges on {entity.table}"):
        found = conn.execute("SELECT to_regclass(%s) IS NOT NULL AS exists", (name,)).fetchone()
        if found is None or not found["exists"]:
            return Rights(f"table {entity.table}", False, (), tuple(wanted))
        granted = {
            r["p"]
            for r in conn.execute(
                "SELECT p FROM unnest(%s::text[]) AS p WHERE has_table_privilege(%s, p)", (list(wanted), name)
            )
        }
    return Rights(
        f"table {entity.table}",
        True,
        tuple(p for p in wanted if p in granted),
        tuple(p for p in wanted if p not in granted),
    )


def store_rights(conn: Connection, schema: str) -> Rights:
    """USAGE on the store schema and INSERT/UPDATE on every table in it (replay journals and resolves there).

    A store that does not exist yet needs CREATE on the database: the first command creates it.
    """
    with postgres_errors(f"checking privileges on the store schema {schema!r}"):
        if conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone() is None:
            row = conn.execute("SELECT has_database_privilege(current_database(), 'CREATE') AS ok").fetchone()
            may_create = {"CREATE"} if row and row["ok"] else set()
            return Rights(f"store schema {schema} (not created yet)", True, *_split(["CREATE"], may_create))
        row = conn.execute("SELECT has_schema_privilege(%s, 'USAGE') AS ok", (schema,)).fetchone()
        wanted = ["USAGE"]
        granted: set[str] = {"USAGE"} if row and row["ok"] else set()
        for table in conn.execute(
            "SELECT c.relname AS name, has_table_privilege(c.oid, 'INSERT') AND has_table_privilege(c.oid, 'UPDATE')"
            " AS ok FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s AND c.relkind = 'r' ORDER BY c.relname",
            (schema,),
        ):
            wanted.append(f"INSERT, UPDATE on {table['name']}")
            if table["ok"]:
                granted.add(wanted[-1])
    return Rights(f"store schema {schema}", True, *_split(wanted, granted))


def _split(wanted: Sequence[str], granted: set[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    return tuple(p for p in wanted if p in granted), tuple(p for p in wanted if p not in granted)
