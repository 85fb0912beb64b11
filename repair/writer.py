"""The DynamoDB side of a repair: guarded writes, throttling retries and a write-capacity budget.

- a **put** (no item when planned) is conditional on the item still being absent; with
  ``--batch-puts`` (only when the app does not write these keys meanwhile) puts go 25 to a
  BatchWriteItem instead, unconditioned;
- an **update** changes only the differing mapped attributes (``SET``/``REMOVE``), so attributes
  parity does not map survive, and a **delete** removes the item of a row that is gone (or the one
  a row that moved to another table key left at its old key); both are
  conditional on the item still holding what the plan judged: the version attribute as read (or
  still absent), or, for an entity without a version column, every mapped attribute as read. A
  write the app made since fails the condition and is judged again (the old item of a moved row is
  left alone), never overwritten;
- an update or delete returns the whole item as it was (``ReturnValues=ALL_OLD``) for the journal;
  a put's before image is "no item", which its condition guarantees;
- undoing a journalled write (:mod:`parity.repair.undo`) writes only what the repair changed: an
  update is undone by an UpdateItem that sets back and removes just the attributes it changed, on
  condition that they (and the version attribute) still hold what it wrote; a put by deleting the
  item on condition that every attribute still holds what it wrote; a delete by putting the item
  back on condition that the key is still free;
- ``ProvisionedThroughputExceededException``, ``ThrottlingException`` and unprocessed batch items
  are retried with exponential backoff and full jitter; ``--max-wcu`` caps the write capacity
  units spent per second (estimated from item sizes, 1 WCU per started KB).
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

import botocore.exceptions

from parity.config import EntityConfig
from parity.dynamo import dynamodb_errors
from parity.dynamo_json import AttributeValue, Item
from parity.errors import ConditionFailed, Denied, DynamoDBError
from parity.telemetry import get_logger

log = get_logger("repair.writer")

THROTTLING_CODES = frozenset(
    {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded", "LimitExceededException"}
)
BATCH_WRITE = 25  # BatchWriteItem's limit
T = TypeVar("T")


@dataclass(frozen=True)
class Written:
    """One write that happened: the item before (None: there was none) and after (None: deleted)."""

    before: Item | None
    after: Item | None


class CapacityBudget:
    """A token bucket of write capacity units per second, shared by the writer threads."""

    def __init__(
        self,
        per_second: float | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate = per_second
        self._tokens = per_second or 0.0
        self._clock = clock
        self._sleep = sleep
        self._at = clock()
        self._lock = threading.Lock()

    def spend(self, units: int) -> None:
        """Wait until ``units`` may be spent (a write bigger than a second's budget waits for a full
        bucket and then overdraws it, so it still goes out)."""
        if self.rate is None:
            return
        while True:
            with self._lock:
                now = self._clock()
                self._tokens = min(self.rate, self._tokens + (now - self._at) * self.rate)
                self._at = now
                if self._tokens + 1e-9 >= min(units, self.rate):  # (float dust never waits)
                    self._tokens -= units
                    return
                wait = (min(units, self.rate) - self._tokens) / self.rate
            self._sleep(wait)


class Writer:
    """Writes one table's repairs; thread-safe (a boto3 client is)."""

    def __init__(
        self,
        dynamodb: Any,
        table: str,
        *,
        budget: CapacityBudget | None = None,
        attempts: int = 10,
        base_delay: float = 0.05,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.dynamodb = dynamodb
        self.table = table
        self.budget = budget or CapacityBudget(None)
        self.attempts = attempts
        self.base_delay = base_delay
        self._sleep = sleep
        self._lock = threading.Lock()
        self.throttled = 0  # retries after throttling (and unprocessed batch items)
        self.units = 0  # write capacity units spent (estimated)

    # --- writes ----------------------------------------------------------------------------------

    def put(self, item: Item, schema: Sequence[str]) -> Written:
        """Put ``item`` where no item is (ConditionFailed when one appeared). The before image is
        None by the condition itself, so nothing is asked back (``ReturnValues`` would only make the
        service read and send an answer the condition already gives)."""
        names = {"#k": schema[0]}
        self.call(
            "PutItem",
            item_units(item),
            lambda: self.dynamodb.put_item(
                TableName=self.table,
                Item=dict(item),
                ConditionExpression="attribute_not_exists(#k)",
                ExpressionAttributeNames=names,
            ),
        )
        return Written(None, dict(item))

    def update(
        self,
        entity: EntityConfig,
        key: Mapping[str, AttributeValue],
        seen: Item,
        changes: Mapping[str, AttributeValue | None],
    ) -> Written:
        """Set (value) or remove (None) the ``changes`` attributes of the item ``seen`` when planning."""
        names: dict[str, str] = {}
        values: dict[str, AttributeValue] = {}
        expression = update_expression(changes, names, values)
        request = self._guarded(entity, key, seen, names, values, UpdateExpression=expression)
        answer = self.call("UpdateItem", item_units(seen), lambda: self.dynamodb.update_item(**request))
        before = answer.get("Attributes") or {}
        after = dict(before)
        for name, value in changes.items():
            if value is None:
                after.pop(name, None)
            else:
                after[name] = value
        return Written(before, after)

    def delete(self, entity: EntityConfig, key: Mapping[str, AttributeValue], seen: Item) -> Written:
        request = self._guarded(entity, key, seen, {}, {})
        answer = self.call("DeleteItem", item_units(seen), lambda: self.dynamodb.delete_item(**request))
        return Written(answer.get("Attributes") or None, None)

    # --- undoing a journalled write ----------------------------------------------------------------

    def read(self, key: Mapping[str, AttributeValue]) -> Item | None:
        """The item at ``key`` now (a consistent GetItem; it spends no write units), None when absent."""
        answer = self.call(
            "GetItem", 0, lambda: self.dynamodb.get_item(TableName=self.table, Key=dict(key), ConsistentRead=True)
        )
        item: Item | None = answer.get("Item")
        return item

    def undo_put(self, key: Mapping[str, AttributeValue], after: Item) -> None:
        """Delete the item a put wrote, only while every attribute of it still is ``after``
        (ConditionFailed otherwise). That condition cannot see an attribute added since: the caller
        reads the item first (:meth:`read`); the condition guards the moment between."""
        names: dict[str, str] = {}
        values: dict[str, AttributeValue] = {}
        condition = " AND ".join(holds(after, names, values, "a"))
        kwargs = self._conditional(condition, names, values, Key=dict(key))
        self.call("DeleteItem", item_units(after), lambda: self.dynamodb.delete_item(**kwargs))

    def undo_update(
        self,
        key: Mapping[str, AttributeValue],
        changes: Mapping[str, AttributeValue | None],
        expected: Mapping[str, AttributeValue | None],
        item: Item,
    ) -> None:
        """Set (value) or remove (None) the ``changes`` attributes of the item at ``key``, only while
        it exists and each ``expected`` attribute holds its value (is absent for None);
        ConditionFailed otherwise. The item's other attributes are not written, so whatever the app
        added since survives. ``item`` (the item as the repair left it) sizes the write."""
        names: dict[str, str] = {"#k": next(iter(key))}
        values: dict[str, AttributeValue] = {}
        expression = update_expression(changes, names, values)
        condition = " AND ".join(["attribute_exists(#k)", *holds(expected, names, values, "e")])
        kwargs = self._conditional(condition, names, values, Key=dict(key), UpdateExpression=expression)
        self.call("UpdateItem", item_units(item), lambda: self.dynamodb.update_item(**kwargs))

    def undo_delete(self, before: Item, schema: Sequence[str]) -> None:
        """Put the item a delete removed back whole, only while no item is there (ConditionFailed
        otherwise: the app wrote the key since)."""
        names = {"#k": schema[0]}
        kwargs = self._conditional("attribute_not_exists(#k)", names, {}, Item=dict(before))
        self.call("PutItem", item_units(before), lambda: self.dynamodb.put_item(**kwargs))

    def batch_put(self, items: Sequence[Item]) -> None:
        """Unconditioned puts, 25 to a BatchWriteItem; unprocessed items retried with backoff."""
        for start in range(0, len(items), BATCH_WRITE):
            pending: list[dict[str, Any]] = [
                {"PutRequest": {"Item": dict(i)}} for i in items[start : start + BATCH_WRITE]
            ]
            for attempt in range(self.attempts):
                units = sum(item_units(r["PutRequest"]["Item"]) for r in pending)
                answer = self.call(
                    "BatchWriteItem",
                    units,
                    lambda pending=pending: self.dynamodb.batch_write_item(RequestItems={self.table: pending}),  # type: ignore[misc]
                )
                pending = (answer.get("UnprocessedItems") or {}).get(self.table, [])
                if not pending:
                    break
                self._backoff(attempt)
            else:
                raise DynamoDBError(
                    f"writing to {self.table!r}: {len(pending)} item(s) stayed unprocessed (throttled)",
                    hint="lower --max-wcu or --concurrency, or raise the table's write capacity",
                )

    # --- plumbing --------------------------------------------------------------------------------

    def _guarded(
        self,
        entity: EntityConfig,
        key: Mapping[str, AttributeValue],
        seen: Item,
        names: dict[str, str],
        values: dict[str, AttributeValue],
        **extra: Any,
    ) -> dict[str, Any]:
        """The arguments of a write to the item ``key`` on condition that it still holds what was
        judged (:func:`guard`), answering with the item it replaced; ``names``/``values`` are the
        write's own expression's, the guard's are added to them."""
        condition = guard(entity, key, seen, names, values)
        return self._conditional(condition, names, values, Key=dict(key), ReturnValues="ALL_OLD", **extra)

    def _conditional(
        self, condition: str, names: dict[str, str], values: dict[str, AttributeValue], **extra: Any
    ) -> dict[str, Any]:
        """A conditional write's arguments: the table, ``extra``, the condition and its names and
        values (DynamoDB refuses an empty ExpressionAttributeValues)."""
        request = {"TableName": self.table, "ConditionExpression": condition, "ExpressionAttributeNames": names}
        return request | extra | ({"ExpressionAttributeValues": values} if values else {})

    def call(self, action: str, units: int, call: Callable[[], T]) -> T:
        """Run one request with the budget (a read spends 0 units), backoff on throttling, and our errors."""
        for attempt in range(self.attempts):
            self.budget.spend(units)
            with self._lock:
                self.units += units
            try:
                return call()
            except botocore.exceptions.ClientError as exc:
                code = str(exc.response.get("Error", {}).get("Code", ""))
                if code == "ConditionalCheckFailedException":
                    raise ConditionFailed(action) from None
                if code in THROTTLING_CODES and attempt + 1 < self.attempts:
                    self._backoff(attempt)
                    continue
                if code in ("AccessDeniedException", "UnrecognizedClientException", "AccessDenied"):
                    raise Denied(self.table, action, code) from exc
                with dynamodb_errors(f"{action} on {self.table!r}"):
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _backoff(self, attempt: int) -> None:
        with self._lock:
            self.throttled += 1
        self._sleep(random.uniform(0, min(5.0, self.base_delay * 2**attempt)))


def guard(
    entity: EntityConfig,
    key: Mapping[str, AttributeValue],
    seen: Item,
    names: dict[str, str],
    values: dict[str, AttributeValue],
) -> str:
    """The condition that the item still holds what was judged: it exists, and its version attribute
    (every mapped attribute without a version column) is as read. Fills ``names``/``values``."""
    names["#gk"] = next(iter(key))
    expected = {name: seen.get(name) for name in watched(entity)}
    return " AND ".join(["attribute_exists(#gk)", *holds(expected, names, values, "g")])


def watched(entity: EntityConfig) -> list[str]:
    """The attributes whose values tell that the app wrote an item since it was read: the version
    attribute, or, for an entity without a version column, every mapped attribute."""
    if entity.version is not None:
        return [entity.all_columns[entity.version].attribute]
    return [spec.attribute for spec in entity.all_columns.values()]


def update_expression(
    changes: Mapping[str, AttributeValue | None], names: dict[str, str], values: dict[str, AttributeValue]
) -> str:
    """``SET``s the ``changes`` with a value, ``REMOVE``s those with None. Fills ``names``/``values``."""
    sets, removes = [], []
    for index, (name, value) in enumerate(changes.items()):
        names[f"#u{index}"] = name
        if value is None:
            removes.append(f"#u{index}")
        else:
            values[f":u{index}"] = value
            sets.append(f"#u{index} = :u{index}")
    parts = (f"SET {', '.join(sets)}" if sets else "", f"REMOVE {', '.join(removes)}" if removes else "")
    return " ".join(part for part in parts if part)


def holds(
    expected: Mapping[str, AttributeValue | None], names: dict[str, str], values: dict[str, AttributeValue], prefix: str
) -> list[str]:
    """The conditions that each ``expected`` attribute holds its value (is absent for None), their
    names and values ``#<prefix>N``/``:<prefix>N`` added to ``names``/``values``."""
    parts = []
    for index, (name, value) in enumerate(expected.items()):
        names[f"#{prefix}{index}"] = name
        if value is None:
            parts.append(f"attribute_not_exists(#{prefix}{index})")
        else:
            values[f":{prefix}{index}"] = value
            parts.append(f"#{prefix}{index} = :{prefix}{index}")
    return parts


def item_units(item: Mapping[str, Any]) -> int:
    """Write capacity units of an item: one per started KB of its size (names plus values)."""
    size = sum(len(name.encode("utf-8")) + _size(value) for name, value in item.items())
    return max(1, math.ceil(size / 1024))


def _size(value: Mapping[str, Any]) -> int:
    (tag, inner), *_ = value.items()
    if tag == "S":
        return len(str(inner).encode("utf-8"))
    if tag == "N":
        return len(str(Decimal(str(inner)).normalize())) // 2 + 1
    if tag == "B":
        return len(inner)
    if tag in ("BOOL", "NULL"):
        return 1
    if tag == "SS":
        return sum(len(str(v).encode("utf-8")) for v in inner)
    if tag in ("NS", "BS"):
        return sum(len(v) for v in inner)
    if tag == "M":
        return 3 + sum(len(k.encode("utf-8")) + _size(v) + 1 for k, v in inner.items())
    return 3 + sum(_size(v) + 1 for v in inner)  # L
