"""Pure planning: what replaying one DynamoDB image would do to the PostgreSQL row of its key.

No I/O: the caller reads the current item (or an archived/stream image) and the current row, and
this decides insert / update (with the columns that change) / skip (already equal, or the row's
version is newer than the image: the version guard) / delete (only when deletes are included and
the delete was not made by TTL).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from parity.compare import compare
from parity.config import EntityConfig
from parity.mapping import canonical_item, canonical_row, is_newer, version_value


class Action(StrEnum):
    """What replaying one key does."""

    INSERT = "insert"
    UPDATE = "update"
    DELETE = "delete"
    SKIP_EQUAL = "skip_equal"
    SKIP_NEWER_IN_POSTGRES = "skip_newer_in_postgres"
    SKIP_DELETE_EXCLUDED = "skip_delete_excluded"
    SKIP_TTL_DELETE = "skip_ttl_delete"


@dataclass(frozen=True)
class Decision:
    """One key's planned action and, for updates, the columns that change (config order)."""

    action: Action
    columns: tuple[str, ...] = ()


def decide_upsert(entity: EntityConfig, item: dict[str, Any], row: dict[str, Any] | None) -> Decision:
    """Replay of an item image over the current row (``None`` when the row is absent)."""
    if row is None:
        return Decision(Action.INSERT, tuple(entity.all_columns))
    comparison = compare(entity, item, row)
    if comparison.is_match:
        return Decision(Action.SKIP_EQUAL)
    if is_newer(version_value(entity, canonical_row(entity, row)), version_value(entity, canonical_item(entity, item))):
        return Decision(Action.SKIP_NEWER_IN_POSTGRES, comparison.columns)
    return Decision(Action.UPDATE, comparison.columns)


def decide_delete(row: dict[str, Any] | None, *, include_deletes: bool, ttl: bool) -> Decision:
    """Replay of a DynamoDB-only delete: TTL deletes never, others only with ``--include-deletes``."""
    if ttl:
        return Decision(Action.SKIP_TTL_DELETE)
    if not include_deletes:
        return Decision(Action.SKIP_DELETE_EXCLUDED)
    return Decision(Action.DELETE) if row is not None else Decision(Action.SKIP_EQUAL)
