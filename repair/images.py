"""Pure: what two images of one DynamoDB item have in common, for undoing a repair's write.

Values are compared as DynamoDB holds them, not as they are spelled: ``{"N": "1.50"}`` equals
``{"N": "1.5"}``, a set equals itself in any order, and a value never equals one of another type
(``{"BOOL": true}`` is not ``{"N": "1"}``, also inside maps and lists). No I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from parity.dynamo_json import AttributeValue, Item, deserialize, type_of


def same_value(a: AttributeValue, b: AttributeValue) -> bool:
    """Whether DynamoDB holds the two typed values as one value."""
    return _canonical(a) == _canonical(b)


def same_item(a: Item, b: Item) -> bool:
    """Whether the two items have the same attributes, each with the same value."""
    return a.keys() == b.keys() and all(same_value(value, b[name]) for name, value in a.items())


def difference(before: Item, after: Item) -> dict[str, tuple[AttributeValue | None, AttributeValue | None]]:
    """The attributes a write changed, from the item before it and after it: name -> (value before,
    value after), None where the attribute was absent. Attributes equal in both are not listed."""
    changed: dict[str, tuple[AttributeValue | None, AttributeValue | None]] = {}
    for name in [*before, *(name for name in after if name not in before)]:
        old, new = before.get(name), after.get(name)
        if old is None or new is None or not same_value(old, new):
            changed[name] = (old, new)
    return changed


def _canonical(value: Mapping[str, Any]) -> tuple[str, Any]:
    tag = type_of(value)
    if tag == "M":
        return tag, {name: _canonical(inner) for name, inner in value[tag].items()}
    if tag == "L":
        return tag, [_canonical(inner) for inner in value[tag]]
    return tag, deserialize(value)  # sets are frozensets of one type's members
