"""The reconciler's DynamoDB side: describe the table, Scan a segment's pages, re-read items.

:class:`TableShape` is plain values (the table, its key attributes, the projection), made once by
:func:`describe` in the parent and handed to every worker; :class:`TableSource` does the reads
with a worker's own client and the run's ``--max-rcu`` budget.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from parity.config import ParityConfig
from parity.dynamo import client, dynamodb_errors
from parity.dynamo_json import Item
from parity.dynamo_reads import batch_get, table_key_id
from parity.mapping import projected_attributes
from parity.reconciler import fast_scan
from parity.reconciler.budget import RcuBudget


@dataclass(frozen=True)
class TableShape:
    """What a worker needs to know of the table: its name, key attributes, projection, size."""

    table: str
    key_attributes: tuple[str, ...]
    names: tuple[tuple[str, str], ...]  # ("#a0", attribute name) pairs of the projection
    item_count: int

    @property
    def projection(self) -> str:
        return ", ".join(alias for alias, _ in self.names)

    @property
    def attribute_names(self) -> dict[str, str]:
        return dict(self.names)


@dataclass(frozen=True)
class ScanPage:
    items: list[Item]
    last_evaluated_key: dict[str, Any] | None
    consumed_rcu: float


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
        names=tuple((f"#a{i}", name) for i, name in enumerate(attributes)),
        item_count=int(described.get("ItemCount") or 0),
    )


class TableSource:
    """Scan pages and consistent re-reads of one table, through one client and one RCU budget."""

    def __init__(self, config: ParityConfig, shape: TableShape, dynamodb: Any, budget: RcuBudget) -> None:
        self.config = config
        self.shape = shape
        self.dynamodb = dynamodb
        self.budget = budget

    def scan(self, segment: int, total_segments: int, lek: dict[str, Any] | None, limit: int) -> ScanPage:
        """One page of a parallel Scan segment (waits while the RCU budget is in debt)."""
        self.budget.acquire()
        kwargs: dict[str, Any] = {
            "TableName": self.shape.table,
            "Segment": segment,
            "TotalSegments": total_segments,
            "ProjectionExpression": self.shape.projection,
            "ExpressionAttributeNames": self.shape.attribute_names,
            "Limit": limit,
            "ReturnConsumedCapacity": "TOTAL",
        }
        if lek:
            kwargs["ExclusiveStartKey"] = lek
        with dynamodb_errors(f"scanning {self.shape.table} segment {segment}", self.config.dynamodb):
            page: dict[str, Any] = self.dynamodb.scan(**kwargs)
        items: list[Item] = page.get("Items", [])
        consumed = float((page.get("ConsumedCapacity") or {}).get("CapacityUnits") or 0.0)
        if not consumed:
            consumed = max(0.5, len(items) * 0.5 * 0.25)  # estimate: ~1 KB items, eventual
        self.budget.spend(consumed)
        return ScanPage(items, page.get("LastEvaluatedKey"), consumed)

    def batch_get(self, table_keys: Sequence[dict[str, Any]]) -> dict[str, Item]:
        """Consistent BatchGetItem of table keys (100 at a time) -> items by :func:`table_key_id`."""
        items = batch_get(
            self.dynamodb,
            self.shape.table,
            table_keys,
            attributes=[name for _, name in self.shape.names],
            config=self.config.dynamodb,
        )
        return {table_key_id({a: item[a] for a in self.shape.key_attributes}): item for item in items}


__all__ = ["ScanPage", "TableShape", "TableSource", "describe", "new_client"]
