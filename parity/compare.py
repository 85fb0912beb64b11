"""Verdicts: one item against one row, after both are brought to canonical form.

The pure heart of every checker (reconciler, stream consumer, replay re-checks). No I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from parity.canonical import Canon
from parity.config import EntityConfig
from parity.dynamo_json import Item
from parity.mapping import Row, canonical_item, canonical_row


class Verdict(StrEnum):
    """How one key stands between the two stores (shared/CONTRACT.md §3)."""

    MATCH = "match"
    MISSING_IN_POSTGRES = "missing_in_postgres"
    MISSING_IN_DYNAMODB = "missing_in_dynamodb"
    MISMATCHED = "mismatched"


DISCREPANCY_KINDS: tuple[Verdict, ...] = (
    Verdict.MISSING_IN_POSTGRES,
    Verdict.MISSING_IN_DYNAMODB,
    Verdict.MISMATCHED,
)


@dataclass(frozen=True)
class Comparison:
    """A verdict and, for ``mismatched``, the columns that differ (in config order)."""

    verdict: Verdict
    columns: tuple[str, ...] = ()

    @property
    def is_match(self) -> bool:
        return self.verdict is Verdict.MATCH


MATCH = Comparison(Verdict.MATCH)


def diff_canonical(entity: EntityConfig, left: Mapping[str, Canon], right: Mapping[str, Canon]) -> tuple[str, ...]:
    """The non-key columns whose canonical values differ, in config order."""
    return tuple(column for column in entity.columns if left.get(column) != right.get(column))


def compare_canonical(
    entity: EntityConfig, item: Mapping[str, Canon] | None, row: Mapping[str, Canon] | None
) -> Comparison:
    """Verdict for canonical forms; ``None`` stands for an absent item or row."""
    if item is None and row is None:
        return MATCH  # both absent: a delete that reached both stores
    if row is None:
        return Comparison(Verdict.MISSING_IN_POSTGRES)
    if item is None:
        return Comparison(Verdict.MISSING_IN_DYNAMODB)
    columns = diff_canonical(entity, item, row)
    return Comparison(Verdict.MISMATCHED, columns) if columns else MATCH


def compare(entity: EntityConfig, item: Item | None, row: Row | None) -> Comparison:
    """Verdict for a typed DynamoDB item and a psycopg row of the same key (either may be absent)."""
    return compare_canonical(
        entity,
        None if item is None else canonical_item(entity, item),
        None if row is None else canonical_row(entity, row),
    )


@dataclass(frozen=True)
class Discrepancy:
    """One key that does not match, as listed in reports and kept in the store."""

    entity: str
    key: dict[str, Any]
    kind: Verdict
    columns: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"entity": self.entity, "key": self.key, "kind": str(self.kind), "columns": list(self.columns)}
