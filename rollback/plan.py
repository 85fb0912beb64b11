"""Pure planning: what replaying one key's DynamoDB state would do to its PostgreSQL row.

No I/O: the caller reads the current item (consistent read) and the current row, and this decides.

- no row: **insert**;
- row equal under the canonical rules: **skip_equal**;
- the row's version is newer than the item's: **skip_newer_in_postgres** (the version guard:
  PostgreSQL moved past this write, and a rollback must never overwrite it);
- the item's version is newer, or either side has no version at all to tell: **update**, listing
  the columns that change;
- both sides carry the *same* version but differ, or versions that cannot be ordered (a NaN, a
  value of the wrong type; :mod:`parity.versions`): **skip_conflict** unless conflicts are included.
  This is not a write that reached DynamoDB only: PostgreSQL got the same write with a different
  value (an app bug or schema drift), and which side is right is a human decision
  (``--include-conflicts`` takes DynamoDB's);
- an insert or update whose item a column cannot hold (a string where the column is an integer:
  schema drift) is **unstorable**, found while planning so that a dry run shows it and an apply
  refuses before writing anything;
- the item is gone: a **delete** only when a stream record says a user (not TTL) deleted it and
  deletes are included; a TTL delete never (**skip_ttl_delete**); with no record of how it went,
  **skip_gone** (deleting a row because an item is missing would destroy data that was never
  migrated).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from parity.canonical import display_value
from parity.compare import compare
from parity.config import EntityConfig
from parity.dynamo_json import Item
from parity.mapping import canonical_item, canonical_row
from parity.plans import Decision
from parity.versions import Order, order_states


class Action(StrEnum):
    """What replaying one key does."""

    INSERT = "insert"
    UPDATE = "update"
    DELETE = "delete"
    SKIP_EQUAL = "skip_equal"
    SKIP_NEWER_IN_POSTGRES = "skip_newer_in_postgres"
    SKIP_CONFLICT = "skip_conflict"
    SKIP_DELETE_EXCLUDED = "skip_delete_excluded"
    SKIP_TTL_DELETE = "skip_ttl_delete"
    SKIP_GONE = "skip_gone"
    UNSTORABLE = "unstorable"  # an insert or update whose item PostgreSQL's columns cannot hold

    @property
    def writes(self) -> bool:
        return self in (Action.INSERT, Action.UPDATE, Action.DELETE)


def decide_upsert(
    entity: EntityConfig, item: Item, row: Mapping[str, Any] | None, *, include_conflicts: bool = False
) -> Decision[Action]:
    """Replay of the current item over the current row (``None`` when the row is absent)."""
    if row is None:
        return Decision(Action.INSERT)
    comparison = compare(entity, item, row)
    if comparison.is_match:
        return Decision(Action.SKIP_EQUAL)
    order = order_states(entity, canonical_item(entity, item), canonical_row(entity, row))
    match order.order:
        case Order.OLDER:
            return Decision(Action.SKIP_NEWER_IN_POSTGRES, comparison.columns)
        case Order.SAME:
            action = Action.UPDATE if include_conflicts else Action.SKIP_CONFLICT
            return Decision(action, comparison.columns)
        case Order.NEWER:
            return Decision(Action.UPDATE, comparison.columns)
        case Order.UNORDERABLE if order.absent:  # nothing to guard with: DynamoDB's state is the one to restore
            return Decision(Action.UPDATE, comparison.columns)
        case Order.UNORDERABLE:  # versions that cannot be ordered (a NaN, a wrong type): a human decides
            action = Action.UPDATE if include_conflicts else Action.SKIP_CONFLICT
            return Decision(action, comparison.columns, reason=f"versions cannot be ordered: {order.reason}")


def decide_delete(row: Mapping[str, Any] | None, *, include_deletes: bool, ttl: bool | None) -> Decision[Action]:
    """The item is gone: ``ttl`` is True/False from the delete's stream record, None without one."""
    if row is None:
        return Decision(Action.SKIP_EQUAL)
    if ttl is None:
        return Decision(Action.SKIP_GONE)
    if ttl:
        return Decision(Action.SKIP_TTL_DELETE)
    if not include_deletes:
        return Decision(Action.SKIP_DELETE_EXCLUDED)
    return Decision(Action.DELETE)


def change_values(
    entity: EntityConfig, action: Action, columns: tuple[str, ...], item: Item | None, row: Mapping[str, Any] | None
) -> dict[str, dict[str, Any]]:
    """What a write changes, column by column, as a reviewer reads it: ``{column: {"old": V, "new": V}}``.

    Values are shown as users see them everywhere (:func:`~parity.canonical.display_value`: redacted
    columns stay redacted). An update lists its changing columns, an insert every column it writes
    (old null), a delete every column it removes (new null); skips change nothing.
    """
    if action not in (Action.INSERT, Action.UPDATE, Action.DELETE):
        return {}
    new = canonical_item(entity, item) if item is not None and action is not Action.DELETE else {}
    old = canonical_row(entity, dict(row)) if row is not None and action is not Action.INSERT else {}
    shown = columns if action is Action.UPDATE else tuple(entity.all_columns)
    specs = entity.all_columns
    return {
        column: {
            "old": display_value(specs[column], old.get(column)),
            "new": display_value(specs[column], new.get(column)),
        }
        for column in shown
    }
