"""Finding items by key and reading them with consistent reads (replay and repair re-read every key).

A key's DynamoDB primary key usually comes from an image or from the entity's ``item_key``
templates. When neither can give it (a template needs a column only a missing row would have), one
Scan of the table's key attributes finds the keys still unresolved (:func:`scan_for_keys`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from parity.config import EntityConfig
from parity.dynamo import dynamodb_errors
from parity.dynamo_json import AttributeValue, Item
from parity.errors import DecodeError, DynamoDBError
from parity.mapping import Key, item_key, match_entity
from parity.telemetry import get_logger

log = get_logger("dynamo_reads")

_BATCH_GET = 100  # BatchGetItem's limit


def key_schema(dynamodb: Any, table: str) -> list[str]:
    """The table's primary key attribute names (partition key first)."""
    with dynamodb_errors(f"describing table {table!r}"):
        schema = dynamodb.describe_table(TableName=table)["Table"]["KeySchema"]
    return [entry["AttributeName"] for entry in sorted(schema, key=lambda e: e["KeyType"] != "HASH")]


def scan_for_keys(
    dynamodb: Any,
    table: str,
    schema: Sequence[str],
    entities: Sequence[EntityConfig],
    wanted: set[tuple[str, Key]],
) -> dict[tuple[str, Key], dict[str, AttributeValue]]:
    """One Scan of key, match and entity-key attributes that finds the items of ``wanted`` keys."""
    names: dict[str, None] = dict.fromkeys(schema)
    for entity in entities:
        names.update(dict.fromkeys(entity.match))
        names.update(dict.fromkeys(spec.attribute for spec in entity.key.values()))
    aliases = {f"#a{i}": name for i, name in enumerate(names)}
    kwargs: dict[str, Any] = {
        "TableName": table,
        "ProjectionExpression": ", ".join(aliases),
        "ExpressionAttributeNames": aliases,
    }
    found: dict[tuple[str, Key], dict[str, AttributeValue]] = {}
    while len(found) < len(wanted):
        with dynamodb_errors(f"scanning {table!r} for the items of {len(wanted) - len(found)} key(s)"):
            page = dynamodb.scan(**kwargs)
        for item in page.get("Items", []):
            owner = match_entity(entities, item)
            if owner is None:
                continue
            try:
                slot = (owner.name, item_key(owner, item))
            except DecodeError:
                continue
            if slot in wanted:
                found[slot] = {name: item[name] for name in schema}
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return found


def read_items(
    dynamodb: Any, table: str, keys: Iterable[Mapping[str, AttributeValue]], *, attempts: int = 8
) -> dict[tuple[tuple[str, str], ...], Item]:
    """Consistent BatchGetItem of ``keys``; returns the items found, by :func:`key_token`."""
    unique = {key_token(k): dict(k) for k in keys}
    pending = list(unique.values())
    found: dict[tuple[tuple[str, str], ...], Item] = {}
    for start in range(0, len(pending), _BATCH_GET):
        request: list[dict[str, AttributeValue]] = pending[start : start + _BATCH_GET]
        for attempt in range(attempts):
            with dynamodb_errors(f"reading {len(request)} item(s) of {table!r}"):
                answer = dynamodb.batch_get_item(RequestItems={table: {"Keys": request, "ConsistentRead": True}})
            names = list(request[0])
            for item in answer.get("Responses", {}).get(table, []):
                found[key_token({n: item[n] for n in names})] = item
            request = answer.get("UnprocessedKeys", {}).get(table, {}).get("Keys", [])
            if not request:
                break
            time.sleep(min(2.0, 0.05 * 2**attempt))
        else:
            raise DynamoDBError(f"reading items of {table!r}: {len(request)} key(s) stayed unprocessed (throttled)")
    return found


def key_token(key: Mapping[str, AttributeValue]) -> tuple[tuple[str, str], ...]:
    """A hashable form of a DynamoDB primary key."""
    return tuple(sorted((name, repr(sorted(value.items()))) for name, value in key.items()))
