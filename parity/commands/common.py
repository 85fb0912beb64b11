"""Shared plumbing of subcommands: load the config, open PostgreSQL, make sure the store exists."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from parity.config import ParityConfig, load_config
from parity.pg import Connection, connect, resolve_dsn
from parity.store import Store


def config_from(args: argparse.Namespace) -> ParityConfig:
    return load_config(args.config)


@contextmanager
def store_connection(config: ParityConfig, *, migrate: bool = True) -> Iterator[tuple[Connection, Store]]:
    """A PostgreSQL connection with the store schema migrated (idempotent), closed afterwards."""
    conn = connect(resolve_dsn(config))
    try:
        store = Store(config.postgres.store_schema)
        if migrate:
            store.migrate(conn)
        yield conn, store
    finally:
        conn.close()


def print_json(value: Any) -> None:
    """One JSON document on stdout (Decimals as numbers, datetimes as ISO strings)."""
    json.dump(value, sys.stdout, default=_default, ensure_ascii=False)
    sys.stdout.write("\n")
    sys.stdout.flush()


def _default(value: Any) -> Any:
    from datetime import date, datetime
    from decimal import Decimal

    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return sorted(value) if isinstance(value, set | frozenset) else list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
