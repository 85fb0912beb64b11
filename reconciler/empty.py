"""Refuse to reconcile an entity DynamoDB holds nothing of while PostgreSQL has its rows.

A config pointing at the wrong (or an empty) table would otherwise report 0 % and record one open
discrepancy per row, burying the real ones. Two checks, both before any discrepancy is written:

- before the run starts, one Scan page: when it holds the whole table (no LastEvaluatedKey), the
  entities it shows are all the table holds (cheap, and ends a wrong run at once);
- in the final phase, definitively: an entity none of whose keys any segment scanned.

``--allow-empty`` reconciles anyway (a table still being backfilled).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from psycopg import sql

from parity.config import EntityConfig, ParityConfig
from parity.errors import InputError
from parity.mapping import match_entity
from parity.pg import Connection, postgres_errors, table_identifier
from parity.reconciler.source import TableSource


def has_rows(conn: Connection, entity: EntityConfig) -> bool:
    """Whether the entity's PostgreSQL table holds any row (False when the table is missing too)."""
    query = sql.SQL("SELECT EXISTS (SELECT 1 FROM {}) AS any").format(table_identifier(entity))
    with postgres_errors(f"reading {entity.table}"):
        row = conn.execute(query).fetchone()
    return bool(row and row["any"])


def refusal(config: ParityConfig, entity: EntityConfig) -> InputError:
    return InputError(
        f"DynamoDB table '{config.dynamodb.table}' holds no item of entity '{entity.name}'"
        f" while {entity.table} has rows: nothing recorded",
        hint="check [dynamodb].table and the entity's match; --allow-empty reconciles anyway",
    )


def check_before_run(config: ParityConfig, conn: Connection, source: TableSource, page_size: int) -> None:
    """Raise :func:`refusal` when one Scan page holds the whole table and no item of an entity
    whose table has rows; a larger table is left to :func:`check_scanned`."""
    page = next(source.pages(0, 1, None, page_size))
    if page.last_evaluated_key is not None:
        return
    present = {e.name for item in page.items if (e := match_entity(config.entity, item)) is not None}
    _refuse_empty(config, conn, [e for e in config.entity if e.name not in present])


def check_scanned(config: ParityConfig, conn: Connection, scanned: Iterable[str]) -> None:
    """Raise :func:`refusal` for an entity with rows of which no segment scanned a key."""
    seen = set(scanned)
    _refuse_empty(config, conn, [e for e in config.entity if e.name not in seen])


def _refuse_empty(config: ParityConfig, conn: Connection, absent: Sequence[EntityConfig]) -> None:
    for entity in absent:
        if has_rows(conn, entity):
            raise refusal(config, entity)


__all__ = ["check_before_run", "check_scanned", "has_rows", "refusal"]
