"""Shared plumbing of subcommands: load the config, open PostgreSQL, make sure the store exists."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from parity.config import ParityConfig, load_config
from parity.errors import ConfigError
from parity.jsontext import dumps_exact
from parity.pg import Connection, connect, resolve_dsn, schema_tables, table_columns
from parity.store import Store


def config_from(args: argparse.Namespace) -> ParityConfig:
    return load_config(args.config)


@contextmanager
def store_connection(config: ParityConfig, *apps: str, migrate: bool = True) -> Iterator[tuple[Connection, Store]]:
    """A PostgreSQL connection with the store schema migrated (idempotent), closed afterwards.

    ``apps``: packages whose own tables the command needs (their migrations are applied too)."""
    conn = connect(resolve_dsn(config))
    try:
        store = Store(config.postgres.store_schema)
        if migrate:
            store.migrate(conn, *apps)
        yield conn, store
    finally:
        conn.close()


def require_tables(conn: Connection, config: ParityConfig, source: str) -> None:
    """Fail in one line naming the entity, the table and the config key when a mapped table or column is missing.

    Without it, the first query on a misspelt table ends the command with PostgreSQL's raw
    ``relation ... does not exist LINE 1: ...``; ``parity check-config`` reports every such problem.
    """
    import difflib

    for index, entity in enumerate(config.entity):
        columns = table_columns(conn, entity.schema_name, entity.table_name)
        if columns is None:
            tables = [f"{entity.schema_name}.{name}" for name in schema_tables(conn, entity.schema_name)]
            close = difflib.get_close_matches(entity.table, tables, n=1, cutoff=0.6)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise ConfigError(
                f"{source}: entity '{entity.name}': PostgreSQL table {entity.table} does not exist"
                f" (config key entity[{index}].table){hint}"
            )
        for name in entity.all_columns:
            if name not in columns:
                close = difflib.get_close_matches(name, list(columns), n=1, cutoff=0.6)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                section = "key" if name in entity.key else "columns"
                raise ConfigError(
                    f"{source}: entity '{entity.name}': column {name} does not exist in {entity.table}"
                    f" (config key entity[{index}].{section}.{name}){hint}"
                )


def print_json(value: Any) -> None:
    """One JSON document on stdout: Decimals written digit for digit (never via float), datetimes ISO."""
    sys.stdout.write(dumps_exact(value, default=_default, ensure_ascii=False, separators=(", ", ": ")))
    sys.stdout.write("\n")
    sys.stdout.flush()


def _default(value: Any) -> Any:
    """For :func:`json.dumps` callers (the reconcile report file); print_json writes Decimals exactly itself."""
    from datetime import date, datetime
    from decimal import Decimal

    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return sorted(value) if isinstance(value, set | frozenset) else list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
