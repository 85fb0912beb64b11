"""The example app's two stores made ready: its tables in PostgreSQL and DynamoDB, and a config mapping them.

``parity demo`` and the benchmarks in bench/ start the embedded stack and then need the same thing
from it: the app's tables created on both sides, a config file pointing parity at them, and a
PostgreSQL connection and a DynamoDB client to seed them with dual writes. This is that step, once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from parity.config import ParityConfig, load_config
from parity.dynamo import client
from parity.local.example import (
    Campaign,
    Session,
    config_toml,
    create_dynamodb_table,
    create_postgres_tables,
    write_dynamodb,
    write_postgres,
)
from parity.pg import Connection, connect


@dataclass
class ExampleStores:
    """The example app's tables in both stores, the config that maps them, and a way in to each."""

    table: str
    config_path: Path
    config: ParityConfig
    conn: Connection
    dynamodb: Any
    #: the table's description as CreateTable answered it (``LatestStreamArn`` when it has a stream)
    description: dict[str, Any]

    def write(self, records: Sequence[Session | Campaign]) -> None:
        """A consistent dual write: the rows in PostgreSQL, then the items in DynamoDB."""
        write_postgres(self.conn, list(records))
        write_dynamodb(self.dynamodb, self.table, list(records))

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> ExampleStores:
        return self

    def __exit__(self, *exc: object | type[BaseException] | TracebackType | None) -> None:
        self.close()


def example_stores(
    dsn: str,
    endpoint_url: str,
    config_path: Path,
    *,
    table: str = "app",
    stream: bool = True,
    autocommit: bool = False,
    store_schema: str = "parity",
    consumer: str = "grace_seconds = 30",
) -> ExampleStores:
    """Write the example config for ``table`` at ``config_path`` (``store_schema`` and ``consumer``: see
    :func:`config_toml`), create the app's tables in both stores (the DynamoDB table with
    a stream unless ``stream`` is false) and open a connection and a client (parity's own) to them."""
    text = config_toml(table=table, dsn=dsn, endpoint_url=endpoint_url, store_schema=store_schema, consumer=consumer)
    config_path.write_text(text)
    config = load_config(config_path)
    conn = connect(dsn, autocommit=autocommit)
    try:
        dynamodb = client(config.dynamodb)
        create_postgres_tables(conn)
        description = create_dynamodb_table(dynamodb, table, stream=stream)
    except BaseException:
        conn.close()
        raise
    return ExampleStores(table, config_path, config, conn, dynamodb, description)
