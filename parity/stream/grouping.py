"""Locate and coalesce a batch of change records: which entity and key each belongs to, newest first.

Pure, shared by the stream checker (:mod:`parity.consumer.judge`) and the rollback's reading of the
stream window (:mod:`parity.rollback.sources`):

- A record belongs to the entity whose ``match`` attributes hold in its new image (the old image,
  then the bare keys, for a REMOVE). A record no entity claims, or whose key attributes cannot be
  decoded, is *dead*: it goes to the dead-letter table with the reason.
- Several records of one key in a batch coalesce to the newest: by DynamoDB sequence number when
  both records carry one (they are numeric strings), else by ApproximateCreationDateTime.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from parity.config import EntityConfig
from parity.errors import DecodeError
from parity.mapping import Key, item_key, match_entity
from parity.stream.records import ChangeRecord, EventName, sequence_after


@dataclass(frozen=True)
class Located:
    """A decoded record with its entity and canonical key."""

    entity: EntityConfig
    key: Key
    record: ChangeRecord


@dataclass(frozen=True)
class Dead:
    """A record that cannot be checked, and why."""

    record_id: str
    reason: str
    raw: Any


@dataclass(frozen=True)
class Grouped:
    """A batch after locating and coalescing: entity name -> key -> newest record."""

    by_entity: dict[str, dict[Key, Located]]
    dead: list[Dead]
    coalesced: int  # records dropped because a newer record of the same key was in the batch


def is_newer_record(a: ChangeRecord, b: ChangeRecord) -> bool:
    """True when ``a`` is a strictly later change of the same key than ``b``."""
    if a.sequence_number is not None and b.sequence_number is not None:  # digits: parse_record's check
        return sequence_after(a.sequence_number, b.sequence_number)
    return a.approximate_created > b.approximate_created


def locate(entities: Sequence[EntityConfig], record: ChangeRecord) -> Located | Dead:
    """The entity and key of a record, or why it has none."""
    candidates = (
        [record.new_image, record.old_image, record.keys]
        if record.event_name is not EventName.REMOVE
        else [record.old_image, record.keys]
    )
    for item in candidates:
        if item is None:
            continue
        entity = match_entity(entities, item)
        if entity is None:
            continue
        try:
            return Located(entity, item_key(entity, item), record)
        except DecodeError as exc:
            return Dead(record.event_id, f"undecodable key: {exc.message}", record.raw)
    what = (
        "REMOVE without an old image" if record.event_name is EventName.REMOVE and record.old_image is None else "item"
    )
    names = ", ".join(repr(e.name) for e in entities)
    return Dead(
        record.event_id,
        f"{what} matches no entity ({names}); keys {_short(record.keys)}",
        record.raw,
    )


def group(entities: Sequence[EntityConfig], records: Sequence[ChangeRecord]) -> Grouped:
    """Locate every record and keep the newest record of each key."""
    by_entity: dict[str, dict[Key, Located]] = {}
    dead: list[Dead] = []
    coalesced = 0
    for record in records:
        try:
            found = locate(entities, record)
        except (TypeError, ValueError, AttributeError, RecursionError) as exc:  # a malformed Keys/image
            found = Dead(record.event_id, f"cannot locate the item: {type(exc).__name__}: {str(exc)[:200]}", record.raw)
        if isinstance(found, Dead):
            dead.append(found)
            continue
        keys = by_entity.setdefault(found.entity.name, {})
        previous = keys.get(found.key)
        if previous is not None:
            coalesced += 1
            if not is_newer_record(record, previous.record):
                continue
        keys[found.key] = found
    return Grouped(by_entity, dead, coalesced)


def _short(value: object) -> str:
    try:
        text = repr(dict(value)) if isinstance(value, dict) else repr(value)
    except RecursionError:
        return "(nested too deeply to show)"
    return text if len(text) <= 300 else text[:297] + "..."
