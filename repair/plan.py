"""Pure: what rewriting one key's DynamoDB item from its PostgreSQL row would do.

No I/O: the caller reads the current row and the current item (consistent read) and this decides.

- the row is there and its item cannot be built (a template names a NULL column, a number beyond
  38 digits, ...): **unbuildable**, found while planning so ``--apply`` refuses before writing;
- no item: **put** the whole item built from the row;
- the item equals the row under the canonical rules and carries the templated attributes:
  **skip_equal**;
- the item's version is newer than the row's: **skip_newer_in_dynamodb** (the app wrote since;
  repair never overwrites a newer write). Versions that cannot be ordered (:mod:`parity.versions`:
  no version on the item, a value of the wrong type) do not stop an update: until the cutover the
  row is the truth;
- otherwise **update**: only the differing mapped columns (and templated attributes), so the
  attributes parity does not map survive;
- the row is gone and the item is still there: **delete** with ``--include-deletes``, else
  **skip_delete_excluded**; both gone: **skip_equal**.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from parity.compare import compare
from parity.config import EntityConfig
from parity.dynamo_json import Item
from parity.mapping import canonical_item, canonical_row
from parity.plans import Decision
from parity.repair.build import Built
from parity.versions import order_states


class Action(StrEnum):
    """What repairing one key does."""

    PUT = "put"
    UPDATE = "update"
    DELETE = "delete"
    SKIP_EQUAL = "skip_equal"
    SKIP_NEWER_IN_DYNAMODB = "skip_newer_in_dynamodb"
    SKIP_DELETE_EXCLUDED = "skip_delete_excluded"
    UNBUILDABLE = "unbuildable"

    @property
    def writes(self) -> bool:
        return self in (Action.PUT, Action.UPDATE, Action.DELETE)


def decide(
    entity: EntityConfig,
    row: Mapping[str, Any] | None,
    item: Item | None,
    built: Built | str | None,
    *,
    include_deletes: bool,
) -> Decision[Action]:
    """Repair of the current item from the current row. ``built`` is the row's item, or the reason
    it cannot be built (a string), or None when there is no row."""
    if row is None:
        if item is None:
            return Decision(Action.SKIP_EQUAL)
        return Decision(Action.DELETE if include_deletes else Action.SKIP_DELETE_EXCLUDED)
    if isinstance(built, str):
        return Decision(Action.UNBUILDABLE, reason=built)
    assert built is not None
    if item is None:
        return Decision(Action.PUT)
    comparison = compare(entity, item, row)
    attributes = tuple(name for name, value in built.templated.items() if item.get(name) != value)
    if comparison.is_match and not attributes:
        return Decision(Action.SKIP_EQUAL)
    if order_states(entity, canonical_item(entity, item), canonical_row(entity, row)).newer:
        return Decision(Action.SKIP_NEWER_IN_DYNAMODB, comparison.columns, attributes)
    return Decision(Action.UPDATE, comparison.columns, attributes)
