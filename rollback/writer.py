"""SQL for writing replayed rows: typed binds, locked reads of the current rows, and the checks that
the role may write at all. Shared by apply and undo."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from psycopg import sql
from psycopg.types.json import Json, Jsonb

from parity.config import EntityConfig
from parity.errors import InputError
from parity.jsontext import dumps_exact
from parity.mapping import Key, key_to_postgres, row_key
from parity.pg import Connection, postgres_errors, table_identifier
from parity.privileges import REPLAY_TABLE_RIGHTS, current_role, table_rights
from parity.rollback.storable import why_unstorable

ROW = "__parity_row"  # the alias of to_jsonb(row) in locked reads


@dataclass(frozen=True)
class TableInfo:
    """A replayed table's columns as PostgreSQL declares them."""

    entity: EntityConfig
    types: dict[str, str]  # column -> SQL type (format_type), every column of the table
    writable: tuple[str, ...]  # columns an INSERT may set (no generated / identity-always columns)
    not_null: frozenset[str] = frozenset()  # NOT NULL columns
    required: frozenset[str] = frozenset()  # NOT NULL columns without a default: an INSERT must set them

    def missing_values(self, values: dict[str, Any], *, insert: bool) -> list[str]:
        """The columns a write of ``values`` (mapped column -> value) would leave NULL against a
        NOT NULL constraint: mapped ones with no value, and on an insert unmapped ones without a default."""
        empty = [c for c, v in values.items() if v is None and c in self.not_null]
        unmapped = sorted(self.required - set(values)) if insert else []
        return empty + unmapped

    def unstorable_values(self, values: dict[str, Any]) -> list[str]:
        """``column: why`` for each mapped value its declared column type cannot hold (U+0000 in
        text or jsonb, a number beyond bigint or numeric(p,s), ...): found while planning, so the
        dry run names them instead of ``--apply`` failing mid-batch."""
        return [
            f"column {column}: {reason}"
            for column, value in values.items()
            if (reason := why_unstorable(self.types.get(column, ""), value))
        ]

    @property
    def ident(self) -> sql.Composed:
        return table_identifier(self.entity)


def describe(conn: Connection, entity: EntityConfig) -> TableInfo:
    """Read the table's column types; InputError when the table or a mapped column is missing."""
    query = (
        "SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,"
        " a.attgenerated <> '' OR a.attidentity = 'a' AS fixed, a.attnotnull AS not_null,"
        " a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> '' AS has_default"
        " FROM pg_attribute a WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped"
        " ORDER BY a.attnum"
    )
    with postgres_errors(f"describing {entity.table}"):
        qualified = sql.Identifier(entity.schema_name, entity.table_name).as_string(conn)
        rows = conn.execute(query, (qualified,)).fetchall()
    if not rows:
        raise InputError(f"entity '{entity.name}': table {entity.table} does not exist in PostgreSQL")
    types = {r["name"]: r["type"] for r in rows}
    missing = [c for c in entity.all_columns if c not in types]
    if missing:
        raise InputError(f"entity '{entity.name}': table {entity.table} has no column(s) {missing} (schema drift?)")
    return TableInfo(
        entity,
        types,
        tuple(r["name"] for r in rows if not r["fixed"]),
        frozenset(r["name"] for r in rows if r["not_null"]),
        frozenset(r["name"] for r in rows if r["not_null"] and not r["has_default"]),
    )


def check_privileges(conn: Connection, entities: Sequence[EntityConfig], *, deletes: bool) -> None:
    """Refuse early, with the GRANT to run, when the role cannot write a replayed table."""
    wanted = [*REPLAY_TABLE_RIGHTS, *(["DELETE"] if deletes else [])]
    for entity in entities:
        rights = table_rights(conn, entity, wanted)
        if not rights.exists:
            raise InputError(f"entity '{entity.name}': table {entity.table} does not exist in PostgreSQL")
        if rights.lacks:
            role = current_role(conn)
            lacking = ", ".join(rights.lacks)
            raise InputError(
                f"PostgreSQL role '{role}' lacks {lacking} on {entity.table}; replay writes rows there."
                f" Connect as a role that may write (GRANT {lacking} ON {entity.table} TO {role})"
            )


def bind(info: TableInfo, column: str, value: Any) -> Any:
    """A value psycopg binds into ``column``: JSON values wrapped for json/jsonb columns, or text."""
    if not isinstance(value, dict | list) and info.entity.all_columns[column].type not in ("json", "list"):
        return value
    kind = info.types[column]
    if kind == "jsonb":
        return Jsonb(value, dumps=dumps_exact)
    if kind == "json":
        return Json(value, dumps=dumps_exact)
    if kind.endswith("[]"):
        return value
    return dumps_exact(value)


def exact_jsonb(value: Any) -> Jsonb | None:
    """A jsonb parameter with numbers written digit for digit (journalled rows hold Decimals)."""
    return None if value is None else Jsonb(value, dumps=dumps_exact)


def key_condition(info: TableInfo, alias: str = "t") -> sql.Composed:
    """``t.k1 = %s::type AND ...`` for one key."""
    return sql.SQL(" AND ").join(
        sql.SQL("{}.{} = %s::{}").format(sql.Identifier(alias), sql.Identifier(c), sql.SQL(info.types[c]))
        for c in info.entity.key
    )


def key_values(info: TableInfo, key: Key) -> list[Any]:
    return list(key_to_postgres(info.entity, key))


def lock_rows(conn: Connection, info: TableInfo, keys: Sequence[Key]) -> dict[Key, dict[str, Any]]:
    """``SELECT ... FOR UPDATE`` of the keys' rows: to_jsonb of the whole row under :data:`ROW`,
    plus the mapped columns, by key. The lock holds until the batch's transaction ends."""
    if not keys:
        return {}
    entity = info.entity
    key_cols = list(entity.key)
    arrays = sql.SQL(", ").join(sql.SQL("%s::{}[]").format(sql.SQL(info.types[c])) for c in key_cols)
    query = sql.SQL(
        "SELECT to_jsonb(t.*) AS {row}, {cols} FROM {table} AS t WHERE ({keys}) IN (SELECT * FROM unnest({arrays}))"
        " FOR UPDATE"
    ).format(
        row=sql.Identifier(ROW),
        cols=sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(c)) for c in entity.all_columns),
        table=info.ident,
        keys=sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(c)) for c in key_cols),
        arrays=arrays,
    )
    converted = [key_to_postgres(entity, k) for k in keys]
    params = [[parts[i] for parts in converted] for i in range(len(key_cols))]
    with postgres_errors(f"locking rows of {entity.table}"), conn.cursor() as cur:
        cur.execute(query, params)
        return {row_key(entity, r): dict(r) for r in cur.fetchall()}
