"""The pure half of the stream checker: group a batch by entity and key, coalesce, and judge.

No I/O here: :mod:`consumer.checker` reads rows and writes verdicts around these functions, and
the unit tests call them with plain records and rows.

- A record belongs to the entity whose ``match`` attributes hold in its new image (the old image,
  then the bare keys, for a REMOVE). A record no entity claims, or whose key attributes cannot be
  decoded, is *dead*: it goes to the dead-letter table with the reason.
- Several records of one key in a batch coalesce to the newest: by DynamoDB sequence number when
  both records carry one (they are numeric strings), else by ApproximateCreationDateTime.
- The verdict compares the PostgreSQL row with the record's NEW image (a REMOVE wants no row).
  A mismatch whose row carries a newer version than the image is *superseded*: PostgreSQL already
  moved past this change, and the later change will be checked on its own record.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from parity.compare import Comparison, Verdict, compare
from parity.config import EntityConfig
from parity.errors import DecodeError
from parity.mapping import Key, Row, canonical_item, canonical_row, is_newer, item_key, match_entity, version_value
from parity.stream.records import ChangeRecord, EventName


class Outcome(StrEnum):
    """What one check of one key concluded."""

    MATCH = "match"
    SUPERSEDED = "superseded"  # the row is newer than the image: not a discrepancy
    MISMATCH = "mismatch"  # a first mismatch: waits grace_seconds, or a discrepancy when re-read
    TTL_DELETE = "ttl_delete"  # a TTL expiry in DynamoDB: the app keeps such rows; never a fault


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
    if a.sequence_number is not None and b.sequence_number is not None:
        try:
            return int(a.sequence_number) > int(b.sequence_number)
        except ValueError:
            pass
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
            return Dead(record.event_id, f"undecodable key: {exc.message}", dict(record.raw))
    what = (
        "REMOVE without an old image" if record.event_name is EventName.REMOVE and record.old_image is None else "item"
    )
    names = ", ".join(repr(e.name) for e in entities)
    return Dead(
        record.event_id,
        f"{what} matches no entity ({names}); keys {dict(record.keys)!r}",
        dict(record.raw),
    )


def group(entities: Sequence[EntityConfig], records: Sequence[ChangeRecord]) -> Grouped:
    """Locate every record and keep the newest record of each key."""
    by_entity: dict[str, dict[Key, Located]] = {}
    dead: list[Dead] = []
    coalesced = 0
    for record in records:
        found = locate(entities, record)
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


@dataclass(frozen=True)
class Judgement:
    outcome: Outcome
    comparison: Comparison

    @property
    def dynamodb_only(self) -> bool:
        """The change reached DynamoDB but not PostgreSQL (archive it for replay)."""
        return self.outcome is Outcome.MISMATCH


def judge(entity: EntityConfig, record: ChangeRecord, row: Row | None, *, ttl_deletes_rows: bool = False) -> Judgement:
    """Verdict of one record against its row (None when PostgreSQL has no row)."""
    if record.is_ttl_delete and not ttl_deletes_rows:
        return Judgement(Outcome.TTL_DELETE, Comparison(Verdict.MATCH))
    image = record.image
    comparison = compare(entity, image, row)
    if comparison.is_match:
        return Judgement(Outcome.MATCH, comparison)
    if row is not None and entity.version is not None:
        reference = image if image is not None else record.old_image
        if reference is not None:
            item_version = version_value(entity, canonical_item(entity, reference))
            row_version = version_value(entity, canonical_row(entity, row))
            if is_newer(row_version, item_version):
                return Judgement(Outcome.SUPERSEDED, comparison)
    return Judgement(Outcome.MISMATCH, comparison)


def dynamodb_only(entity: EntityConfig, record: ChangeRecord, row: Row | None) -> bool:
    """Did this change reach DynamoDB only (so rollback must replay it)?

    True for a missing row, a delete the row did not get, and an image newer than the row (or when
    the entity has no version column to tell). False when both sides hold the same version but a
    column differs: PostgreSQL was written, with a wrong value; that is a discrepancy to fix, not a
    lost write.
    """
    if row is None or record.event_name is EventName.REMOVE:
        return True
    if entity.version is None or record.image is None:
        return True
    item_version = version_value(entity, canonical_item(entity, record.image))
    row_version = version_value(entity, canonical_row(entity, row))
    return is_newer(item_version, row_version) or item_version is None or row_version is None
