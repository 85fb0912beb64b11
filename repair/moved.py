"""Pure: where the item of a row whose key-template column changed still sits, and whether it is that item.

A session moved to another campaign: its item's ``pk`` comes from ``campaign_id``, so the row's
templates now give another table key, and a put writes the item there while the old item stays
at the old key (the app's query of the old campaign still finds it). The checker that reported the
key ``mismatched`` kept what it saw on the DynamoDB side for each differing column; the old key is
the ``item_key`` templates rendered from the row's values with those columns as the checker saw
them. Only values kept exactly (not redacted, read back as they were shown) are used: a key is
never guessed, and the item found there is the old item only if it is this entity's item with this
row's key (:func:`left_behind`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from parity.canonical import Canon, WrongType, canon_postgres, to_json_value
from parity.config import EntityConfig
from parity.dynamo_json import AttributeValue, Item
from parity.dynamo_reads import table_key_id
from parity.errors import DecodeError, Unbuildable
from parity.mapping import Key, Row, item_key, key_text, match_entity
from parity.repair.build import build_item, render_key, template_columns

#: the reason of a put whose row's old item stays (no --include-deletes)
LEFT_THERE = (
    "the row moved (a key-template column changed): its old item is still at {old}, and this put"
    " leaves it there; rerun with --include-deletes to delete it"
)
#: the reason of a put whose row's old item is deleted in the same run
DELETED_THERE = "the row moved (a key-template column changed): its old item at {old} is deleted by this run"
#: the reason of the delete of that old item
LEFT_BEHIND = "the item the moved row left at its old key {old}"


def old_item_key(
    entity: EntityConfig,
    canon: Mapping[str, Canon],
    observed: Mapping[str, Any] | None,
    key_schema: tuple[str, ...],
) -> dict[str, AttributeValue] | None:
    """The table key of the item a checker saw for this row, from the row's canonical values
    ``canon`` and the discrepancy's ``observed`` values (``{column: {"dynamodb": V, "postgres":
    V}}``, V as shown); None unless a template column differed and every such value was kept exactly."""
    if not observed:
        return None
    moved = [column for column in template_columns(entity) if column in observed]
    if not moved:
        return None
    values = dict(canon)
    for column in moved:
        seen = observed[column]
        spec = entity.all_columns.get(column)
        if spec is None or spec.redact or not isinstance(seen, Mapping):
            return None
        shown = seen.get("dynamodb")
        if shown is None or isinstance(shown, Mapping | list):
            return None
        value = canon_postgres(spec, shown)
        if value is None or isinstance(value, WrongType) or to_json_value(spec, value) != shown:
            return None
        values[column] = value
    try:
        return render_key(entity, values, key_schema)
    except Unbuildable:
        return None


def left_behind(
    entity: EntityConfig,
    key: Key,
    old_key: Mapping[str, AttributeValue],
    new_key: Mapping[str, AttributeValue] | None,
    item: Item | None,
) -> bool:
    """Whether ``item``, read at ``old_key``, is the item this row left there: this entity's item,
    of this row's key, at another table key than the row's templates give now (``new_key``)."""
    if item is None or new_key is None or table_key_id(old_key) == table_key_id(new_key):
        return False
    if match_entity([entity], item) is not entity:
        return False
    try:
        return item_key(entity, item) == key
    except DecodeError:
        return False


def still_behind(
    entity: EntityConfig, old_key: Mapping[str, AttributeValue], row: Row | None, key_schema: tuple[str, ...]
) -> bool:
    """At write time, on the row read again: whether the old item is still to be deleted. It is
    while the row is gone (its item goes, with --include-deletes) or builds to another table key;
    not when the row gives the old key again, nor when its item cannot be built (no item would
    stand for it)."""
    if row is None:
        return True
    try:
        built = build_item(entity, row, key_schema)
    except Unbuildable:
        return False
    return table_key_id(built.key) != table_key_id(old_key)


def shown_key(key: Mapping[str, AttributeValue], key_schema: Sequence[str]) -> str:
    """A table key as people read it: ``pk=…,sk=…``."""
    return key_text({name: next(iter(key[name].values())) for name in key_schema if name in key})
