"""Pure: the keys a replay should look at, and what each source knows about them.

Three sources name keys whose latest write may have reached DynamoDB only: open discrepancies
(``missing_in_postgres`` / ``mismatched``), the consumer's archive of DynamoDB-only images, and the
stream window still retained (``--from-stream``). None of them is trusted for the *value*: the
planner re-reads the current item with a consistent read. They contribute the key, the item's
DynamoDB primary key when they know it (so no Scan is needed to find it), and, for a delete, whether
DynamoDB's TTL made it (never replayed) or a user did.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from parity.canonical import Canon
from parity.config import EntityConfig
from parity.dynamo_json import AttributeValue
from parity.mapping import Key, key_to_json, render_item_key


class SourceName:
    """Where a candidate came from (shown in the plan)."""

    DISCREPANCY = "discrepancy"
    ARCHIVE = "archive"
    STREAM = "stream"


@dataclass(frozen=True)
class Removal:
    """A delete of the item seen on the stream: when, and whether TTL made it."""

    at: datetime
    ttl: bool


@dataclass(frozen=True)
class Candidate:
    """One key to plan, with what the sources know about it."""

    entity: str
    key: Key
    key_json: dict[str, Any]
    sources: frozenset[str]
    item_key: dict[str, AttributeValue] | None = None
    removal: Removal | None = None


def candidate(
    entity: EntityConfig,
    key: Key,
    source: str,
    *,
    item_key: dict[str, AttributeValue] | None = None,
    removal: Removal | None = None,
) -> Candidate:
    return Candidate(entity.name, key, key_to_json(entity, key), frozenset({source}), item_key, removal)


def merge(a: Candidate, b: Candidate) -> Candidate:
    """One candidate from two sources' views of the same key: the newest delete wins; a TTL delete
    wins a tie (never replaying a TTL delete is the safe side)."""
    removal = a.removal
    if b.removal is not None and (removal is None or (b.removal.at, b.removal.ttl) > (removal.at, removal.ttl)):
        removal = b.removal
    return replace(a, sources=a.sources | b.sources, item_key=a.item_key or b.item_key, removal=removal)


def gather(groups: Iterable[Iterable[Candidate]]) -> dict[tuple[str, Key], Candidate]:
    """Merge every source's candidates by (entity, key)."""
    merged: dict[tuple[str, Key], Candidate] = {}
    for group in groups:
        for found in group:
            slot = (found.entity, found.key)
            merged[slot] = merge(merged[slot], found) if slot in merged else found
    return merged


def table_key_of(
    image: Mapping[str, AttributeValue] | None, key_schema: Iterable[str]
) -> dict[str, AttributeValue] | None:
    """The table's primary key attributes taken from an item image, or None when one is missing."""
    if image is None:
        return None
    names = list(key_schema)
    if not names or any(name not in image for name in names):
        return None
    return {name: dict(image[name]) for name in names}


def template_fields(entity: EntityConfig) -> set[str]:
    """The columns the entity's ``item_key`` templates need."""
    fields: set[str] = set()
    for template in (entity.item_key or {}).values():
        fields.update(name for _, name, _, _ in string.Formatter().parse(template) if name)
    return fields


def render_from(entity: EntityConfig, canon: Mapping[str, Canon]) -> dict[str, AttributeValue] | None:
    """The item's DynamoDB key from the ``item_key`` templates when every column they need is known."""
    if entity.item_key is None or any(canon.get(name) is None for name in template_fields(entity)):
        return None
    return render_item_key(entity, canon)
