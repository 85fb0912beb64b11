"""The pure half of the stream checker: group a batch by entity and key, coalesce, and judge.

No I/O here: :mod:`parity.consumer.checker` reads rows and writes verdicts around these functions, and
the unit tests call them with plain records and rows.

- Records are located and coalesced by :mod:`parity.stream.grouping` (shared with the rollback).
- The verdict compares the PostgreSQL row with the record's NEW image (a REMOVE wants no row).
  A mismatch whose row carries a newer version than the image is *superseded*: PostgreSQL already
  moved past this change, and the later change will be checked on its own record.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from parity.compare import Comparison, Verdict, compare
from parity.config import EntityConfig
from parity.mapping import Row, canonical_item, canonical_row
from parity.stream.records import ChangeRecord, EventName
from parity.versions import Order, order_states


class Outcome(StrEnum):
    """What one check of one key concluded."""

    MATCH = "match"
    SUPERSEDED = "superseded"  # the row is newer than the image: not a discrepancy
    MISMATCH = "mismatch"  # a first mismatch: waits grace_seconds, or a discrepancy when re-read
    TTL_DELETE = "ttl_delete"  # a TTL expiry in DynamoDB: the app keeps such rows; never a fault


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
            order = order_states(entity, canonical_row(entity, row), canonical_item(entity, reference))
            # only a row provably newer supersedes; same, older or unorderable stays a mismatch
            if order.newer:
                return Judgement(Outcome.SUPERSEDED, comparison)
    return Judgement(Outcome.MISMATCH, comparison)


def dynamodb_only(entity: EntityConfig, record: ChangeRecord, row: Row | None) -> bool:
    """Did this change reach DynamoDB only (so rollback must replay it)?

    True for a missing row, a delete the row did not get, and an image newer than the row (or when
    the versions cannot be ordered: no version column, a side without a version). False when both
    sides hold the same version but a column differs: PostgreSQL was written, with a wrong value;
    that is a discrepancy to fix, not a lost write (and when the row is newer).
    """
    if row is None or record.event_name is EventName.REMOVE:
        return True
    if entity.version is None or record.image is None:
        return True
    order = order_states(entity, canonical_item(entity, record.image), canonical_row(entity, row))
    match order.order:
        case Order.NEWER:
            return True
        case Order.SAME | Order.OLDER:  # PostgreSQL got this write (or a later one)
            return False
        case Order.UNORDERABLE:  # cannot tell: keep the change, so a replay can decide with a fresh read
            return True
