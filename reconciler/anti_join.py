"""The final phase's anti-join in SQL: rows of a mapped table whose key no segment scanned.

The scanned keys are stored as the JSON output's key objects (``{"id": "4f1c..."}``, built by
:func:`parity.mapping.key_to_json`). When every key column's PostgreSQL type renders to exactly the
same JSON on the server, the anti-join is one query (a hash anti-join inside PostgreSQL) that
returns only the unseen rows, instead of streaming every key through Python. Exact renderings:

- ``uuid`` columns (PostgreSQL ``uuid``, ``text`` or ``varchar``): ``lower(col::text)``, as the
  canonical form lower-cases UUIDs;
- ``string`` columns of type ``text`` or ``varchar``: the text itself (not ``char(n)``, whose cast
  drops trailing blanks);
- ``integer`` columns of type ``smallint``, ``integer`` or ``bigint``: the JSON number.

Any other key type (timestamps, decimals, ``char(n)``...) returns None and the caller keeps the
exact Python path. Pure SQL composition, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping

from psycopg import sql

from parity.config import EntityConfig
from parity.pg import table_identifier
from parity.store import Store

_TEXT_TYPES = {"text", "character varying"}
_UUID_TYPES = {"uuid", *_TEXT_TYPES}
_INTEGER_TYPES = {"smallint", "integer", "bigint"}


def key_object_sql(entity: EntityConfig, column_types: Mapping[str, str], alias: str = "t") -> sql.Composable | None:
    """``jsonb_build_object(...)`` equal to ``key_to_json(entity, row_key(entity, row))``, or None."""
    parts: list[sql.Composable] = []
    for column, spec in entity.key.items():
        pg_type = column_types.get(column)
        ref = sql.SQL("{}.{}").format(sql.Identifier(alias), sql.Identifier(column))
        if spec.type == "uuid" and pg_type in _UUID_TYPES:
            value: sql.Composable = sql.SQL("lower({}::text)").format(ref)
        elif spec.type == "string" and pg_type in _TEXT_TYPES:
            value = sql.SQL("{}::text").format(ref)
        elif spec.type == "integer" and pg_type in _INTEGER_TYPES:
            value = sql.SQL("to_jsonb({})").format(ref)
        else:
            return None
        parts += [sql.Literal(column), value]
    return sql.SQL("jsonb_build_object({})").format(sql.SQL(", ").join(parts))


def unseen_rows_sql(entity: EntityConfig, store: Store, key_object: sql.Composable) -> sql.Composed:
    """The mapped columns of every row whose key object is not in the run's key set.

    Parameters: ``(run_id, entity name)``.
    """
    columns = sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(c)) for c in entity.all_columns)
    return sql.SQL(
        "SELECT {columns} FROM {table} AS t WHERE NOT EXISTS"
        " (SELECT 1 FROM {keys} AS s WHERE s.run_id = %s AND s.entity = %s AND s.key = {key})"
    ).format(columns=columns, table=table_identifier(entity), keys=store.table("reconcile_keys"), key=key_object)


__all__ = ["key_object_sql", "unseen_rows_sql"]
