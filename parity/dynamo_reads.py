"""Reading items by key: the one BatchGetItem (:func:`batch_get`), the one identity of a table key
(:func:`table_key_id`), projections (:func:`projection`), the one paginated Scan (:func:`scan_pages`,
which the reconciler's segments also read through), and finding items by a Scan.

Replay, repair and the reconciler's re-checks re-read every key with consistent reads. A key's
DynamoDB primary key usually comes from an image or from the entity's ``item_key`` templates. When
neither can give it (a template needs a column only a missing row would have), one Scan of the
table's key attributes finds the keys still unresolved (:func:`scan_for_keys`).
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from parity.config import DynamoDBConfig, EntityConfig
from parity.dynamo import dynamodb_errors
from parity.dynamo_json import AttributeValue, Item
from parity.errors import DecodeError, DynamoDBError
from parity.mapping import Key, item_key, json_key_id, match_entity
from parity.telemetry import get_logger

log = get_logger("dynamo_reads")

BATCH_GET = 100  # BatchGetItem's limit
ATTEMPTS = 8  # tries of a request whose keys stay unprocessed (throttled), backing off 0.05 s doubling to 2 s


def projection(attributes: Iterable[str]) -> dict[str, Any]:
    """``ProjectionExpression`` and ``ExpressionAttributeNames`` of these attributes (always aliased:
    an attribute name may be a reserved word or hold any character)."""
    names = {f"#a{i}": name for i, name in enumerate(dict.fromkeys(attributes))}
    return {"ProjectionExpression": ", ".join(names), "ExpressionAttributeNames": names}


def table_key_id(key: Mapping[str, Any]) -> str:
    """THE identity of an item's table key, typed (``{"pk": {"S": "x"}}``) as sent or as read back in
    an item: sorted JSON of each attribute's value (binary as base64), for matching answers to keys."""
    plain: dict[str, Any] = {}
    for name, value in key.items():
        inner = next(iter(value.values())) if isinstance(value, Mapping) else value
        plain[name] = base64.b64encode(bytes(inner)).decode() if isinstance(inner, bytes | bytearray) else inner
    return json_key_id(plain)


def batch_get(
    dynamodb: Any,
    table: str,
    keys: Iterable[Mapping[str, AttributeValue]],
    *,
    attributes: Sequence[str] | None = None,
    config: DynamoDBConfig | None = None,
    before_request: Callable[[], object] | None = None,
    consumed: Callable[[float], None] | None = None,
) -> list[Item]:
    """Consistent BatchGetItem of ``keys`` (deduplicated, 100 a request): the items found.

    One retry policy: keys DynamoDB leaves unprocessed (throttling) are asked again after a pause of
    0.05 s doubling to 2 s, at most :data:`ATTEMPTS` times per request, then DynamoDBError.
    ``attributes``: project the items to these (the key attributes are always read). ``before_request``
    runs before every request (a read budget's wait); ``consumed`` receives each answer's capacity units.
    """
    unique = list({table_key_id(k): dict(k) for k in keys if k}.values())
    shape = {"ConsistentRead": True, **(projection(attributes) if attributes is not None else {})}
    extra = {"ReturnConsumedCapacity": "TOTAL"} if consumed is not None else {}
    found: list[Item] = []
    for start in range(0, len(unique), BATCH_GET):
        request: list[dict[str, AttributeValue]] = unique[start : start + BATCH_GET]
        for attempt in range(ATTEMPTS):
            if before_request is not None:
                before_request()
            with dynamodb_errors(f"reading {len(request)} item(s) of {table!r}", config):
                answer = dynamodb.batch_get_item(RequestItems={table: {"Keys": request, **shape}}, **extra)
            if consumed is not None:
                consumed(sum(float(c.get("CapacityUnits", 0.0)) for c in answer.get("ConsumedCapacity") or []))
            found += answer.get("Responses", {}).get(table, [])
            request = answer.get("UnprocessedKeys", {}).get(table, {}).get("Keys", [])
            if not request:
                break
            time.sleep(min(2.0, 0.05 * 2**attempt))
        else:
            raise DynamoDBError(f"reading items of {table!r}: {len(request)} key(s) stayed unprocessed (throttled)")
    return found


def key_schema(dynamodb: Any, table: str) -> list[str]:
    """The table's primary key attribute names (partition key first)."""
    with dynamodb_errors(f"describing table {table!r}"):
        schema = dynamodb.describe_table(TableName=table)["Table"]["KeySchema"]
    return [entry["AttributeName"] for entry in sorted(schema, key=lambda e: e["KeyType"] != "HASH")]


@dataclass(frozen=True)
class ScanPage:
    """One Scan answer: its items, where the next page starts (None: the scan is done), and the
    read capacity DynamoDB says it consumed (0.0 when it did not say)."""

    items: list[Item]
    last_evaluated_key: dict[str, AttributeValue] | None
    consumed_rcu: float


def scan_pages(
    dynamodb: Any,
    table: str,
    attributes: Iterable[str],
    *,
    segment: tuple[int, int] | None = None,
    start: Mapping[str, AttributeValue] | None = None,
    limit: int | None = None,
    config: DynamoDBConfig | None = None,
    before_request: Callable[[], object] | None = None,
    what: str | None = None,
) -> Iterator[ScanPage]:
    """THE paginated Scan: the pages of ``table`` projected to ``attributes``, following
    LastEvaluatedKey from ``start`` until the table (or the ``segment``, as ``(index, total)``) ends.

    Lazy: a page is asked for only when the previous one was taken, so a caller that stops (or
    saves each page's LastEvaluatedKey to resume from) reads no page more. Retries of throttled or
    failed requests are botocore's; its errors become DynamoDBError naming ``what`` (default: the
    table). ``before_request`` runs before every request (a read budget's wait).
    """
    request: dict[str, Any] = {"TableName": table, **projection(attributes), "ReturnConsumedCapacity": "TOTAL"}
    if segment is not None:
        request["Segment"], request["TotalSegments"] = segment
    if limit is not None:
        request["Limit"] = limit
    doing = what or f"scanning {table!r}"
    while True:
        if start:
            request["ExclusiveStartKey"] = start
        if before_request is not None:
            before_request()
        with dynamodb_errors(doing, config):
            answer: dict[str, Any] = dynamodb.scan(**request)
        start = answer.get("LastEvaluatedKey")
        consumed = float((answer.get("ConsumedCapacity") or {}).get("CapacityUnits") or 0.0)
        yield ScanPage(answer.get("Items", []), start, consumed)
        if not start:
            return


def scan_for_keys(
    dynamodb: Any,
    table: str,
    schema: Sequence[str],
    entities: Sequence[EntityConfig],
    wanted: set[tuple[str, Key]],
) -> dict[tuple[str, Key], dict[str, AttributeValue]]:
    """One Scan of key, match and entity-key attributes that finds the items of ``wanted`` keys
    (it stops at the page where the last one is found)."""
    names: dict[str, None] = dict.fromkeys(schema)
    for entity in entities:
        names.update(dict.fromkeys(entity.match))
        names.update(dict.fromkeys(spec.attribute for spec in entity.key.values()))
    found: dict[tuple[str, Key], dict[str, AttributeValue]] = {}
    if not wanted:
        return found
    for page in scan_pages(dynamodb, table, names, what=f"scanning {table!r} for the items of {len(wanted)} key(s)"):
        for item in page.items:
            owner = match_entity(entities, item)
            if owner is None:
                continue
            try:
                slot = (owner.name, item_key(owner, item))
            except DecodeError:
                continue
            if slot in wanted:
                found[slot] = {name: item[name] for name in schema}
        if len(found) >= len(wanted):
            break
    return found


def read_items(dynamodb: Any, table: str, keys: Iterable[Mapping[str, AttributeValue]]) -> dict[str, Item]:
    """Consistent reads of ``keys``; the items found, by :func:`table_key_id` of their key."""
    wanted = [dict(k) for k in keys]
    if not wanted:
        return {}
    names = list(wanted[0])
    return {table_key_id({n: item[n] for n in names}): item for item in batch_get(dynamodb, table, wanted)}
