"""The reconciler's DynamoDB side: describe the table, Scan a segment's pages, re-read items.

:class:`TableShape` is plain values (the table, its key attributes, the projection), made once by
:func:`describe` in the parent and handed to every worker; :class:`TableSource` does the reads
with a worker's own client and the run's ``--max-rcu`` budget.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from parity.config import ParityConfig
from parity.dynamo import client, dynamodb_errors
from parity.dynamo_json import Item
from parity.dynamo_reads import ScanPage, batch_get, scan_pages, table_key_id
from parity.mapping import projected_attributes
from parity.reconciler import fast_scan
from parity.reconciler.budget import RcuBudget


@dataclass(frozen=True)
class TableShape:
    """What a worker needs to know of the table: its name, key attributes, projection, size."""

    table: str
    key_attributes: tuple[str, ...]
    attributes: tuple[str, ...]  # the projection: the attributes a comparison reads
    item_count: int


def new_client(config: ParityConfig, pool: int) -> Any:
    """A DynamoDB client with the fast Scan parse (each worker process makes its own)."""
    return fast_scan.install(client(config.dynamodb, max_pool=pool))


def describe(config: ParityConfig, dynamodb: Any) -> TableShape:
    """DescribeTable: the key attributes and the item count (for the progress display's ETA)."""
    table = config.dynamodb.table
    with dynamodb_errors(f"describing table {table}", config.dynamodb):
        described = dynamodb.describe_table(TableName=table)["Table"]
    key_attributes = tuple(k["AttributeName"] for k in described["KeySchema"])
    attributes = projected_attributes(config.entity, key_attributes)
    return TableShape(
        table=table,
        key_attributes=key_attributes,
        attributes=tuple(attributes),
        item_count=int(described.get("ItemCount") or 0),
    )


class TableSource:
    """Scan pages and consistent re-reads of one table, through one client and one RCU budget."""

    def __init__(self, config: ParityConfig, shape: TableShape, dynamodb: Any, budget: RcuBudget) -> None:
        self.config = config
        self.shape = shape
        self.dynamodb = dynamodb
        self.budget = budget

    def pages(self, segment: int, total_segments: int, lek: dict[str, Any] | None, limit: int) -> Iterator[ScanPage]:
        """The pages of a parallel Scan segment from ``lek`` on (each waits while the RCU budget is in
        debt; a page whose capacity DynamoDB did not report is charged an estimate)."""
        for page in scan_pages(
            self.dynamodb,
            self.shape.table,
            self.shape.attributes,
            segment=(segment, total_segments),
            start=lek,
            limit=limit,
            config=self.config.dynamodb,
            before_request=self.budget.acquire,
            what=f"scanning {self.shape.table} segment {segment}",
        ):
            if not page.consumed_rcu:
                page = replace(page, consumed_rcu=max(0.5, len(page.items) * 0.5 * 0.25))  # ~1 KB items, eventual
            self.budget.spend(page.consumed_rcu)
            yield page

    def batch_get(self, table_keys: Sequence[dict[str, Any]]) -> dict[str, Item]:
        """Consistent BatchGetItem of table keys (100 at a time) -> items by :func:`table_key_id`."""
        items = batch_get(
            self.dynamodb,
            self.shape.table,
            table_keys,
            attributes=self.shape.attributes,
            config=self.config.dynamodb,
        )
        return {table_key_id({a: item[a] for a in self.shape.key_attributes}): item for item in items}


__all__ = ["ScanPage", "TableShape", "TableSource", "describe", "new_client"]
