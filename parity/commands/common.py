"""Shared plumbing of subcommands: load the config, open PostgreSQL, make sure the store exists."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from parity.config import ParityConfig, load_config
from parity.errors import ConfigError, InputError
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
    sys.stdout.write(dumps_exact(value, ensure_ascii=False, separators=(", ", ": ")))
    sys.stdout.write("\n")
    sys.stdout.flush()


def write_report(path: Path, value: Any) -> None:
    """``value`` as an indented JSON file (numbers exact, as :func:`print_json` writes them), replaced
    whole: a reader never sees half a report. InputError when it cannot be written."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(dumps_exact(value, indent=2, separators=(",", ": ")) + "\n", encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:  # the folder went away or filled up during the run
        raise InputError(f"--report {path}: cannot write it: {exc.strerror or exc}") from exc
