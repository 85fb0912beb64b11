"""Entity mapping: which entity an item belongs to, its key, and its columns in canonical form.

ElectroDB keeps several entities in one table and marks each item with attributes such as
``__edb_e__``; an entity's ``match`` names those values. Keys are tuples of canonical values in the
order of the entity's ``key`` columns, so an item and a row with the same key compare equal as
Python values and can be joined in memory. Pure functions, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from parity.canonical import Canon, WrongType, canon_dynamo, canon_postgres, to_json_value
from parity.config import EntityConfig
from parity.dynamo_json import AttributeValue, Item
from parity.errors import DecodeError, InputError
from parity.jsontext import dumps_exact

Key = tuple[Canon, ...]
Row = Mapping[str, Any]


def match_entity(entities: Sequence[EntityConfig], item: Item) -> EntityConfig | None:
    """The first entity whose ``match`` attributes all hold in ``item`` (as strings)."""
    for entity in entities:
        for attr, want in entity.match.items():
            if _string_value(item.get(attr)) != want:
                break
        else:
            return entity
    return None


def _string_value(value: AttributeValue | None) -> str | None:
    if (type(value) is not dict and not isinstance(value, Mapping)) or "S" not in value:
        return None
    inner = value["S"]
    return inner if isinstance(inner, str) else None


def item_key(entity: EntityConfig, item: Item) -> Key:
    """The key of an item; DecodeError when a key attribute is missing or of the wrong type."""
    parts: list[Canon] = []
    for spec in entity.key.values():
        canon = canon_dynamo(spec, item.get(spec.attribute))
        if canon is None:
            raise DecodeError(f"item of entity '{entity.name}' has no key attribute '{spec.attribute}'")
        if isinstance(canon, WrongType):
            raise DecodeError(f"key attribute '{spec.attribute}' of entity '{entity.name}': {canon.reason}")
        parts.append(canon)
    return tuple(parts)


def row_key(entity: EntityConfig, row: Row) -> Key:
    """The key of a PostgreSQL row, canonical like :func:`item_key`."""
    return tuple(canon_postgres(spec, row[column]) for column, spec in entity.key.items())


def canonical_item(entity: EntityConfig, item: Item) -> dict[str, Canon]:
    """Every mapped column of an item in canonical form (``None`` where missing)."""
    return {column: canon_dynamo(spec, item.get(spec.attribute)) for column, spec in entity.all_columns.items()}


def canonical_row(entity: EntityConfig, row: Row) -> dict[str, Canon]:
    """Every mapped column of a row in canonical form."""
    return {column: canon_postgres(spec, row.get(column)) for column, spec in entity.all_columns.items()}


def key_to_json(entity: EntityConfig, key: Key) -> dict[str, Any]:
    """The key object of the JSON output (docs/reference.md §5): ``{"id": "4f1c..."}`` (numbers for integer keys)."""
    return {column: to_json_value(spec, part) for (column, spec), part in zip(entity.key.items(), key, strict=True)}


def key_text(key: Mapping[str, Any]) -> str:
    """A key object as people read it in text output: ``id=4f1c...`` (``a=1,b=2`` for several columns)."""
    return ",".join(f"{column}={value}" for column, value in key.items())


def key_from_json(entity: EntityConfig, obj: Mapping[str, Any]) -> Key:
    """Parse a key object (from the store or a user) back into a canonical key."""
    missing = [c for c in entity.key if c not in obj]
    if missing:
        raise InputError(f"key {dict(obj)!r} of entity '{entity.name}' lacks column(s) {missing}")
    return tuple(canon_postgres(spec, _json_to_pg(spec.type, obj[column])) for column, spec in entity.key.items())


def _json_to_pg(kind: str, value: Any) -> Any:
    if kind in ("integer", "decimal") and isinstance(value, str):
        from decimal import Decimal

        return Decimal(value)
    return value


def key_id(entity: EntityConfig, key: Key) -> str:
    """A stable text id of a key (sorted JSON), unique per entity, used in the store."""
    return json_key_id(key_to_json(entity, key))


def json_key_id(key: Mapping[str, Any]) -> str:
    """The store's text id of a key object (docs/reference.md §5): compact JSON, sorted keys."""
    return dumps_exact(key, sort_keys=True)


def key_to_postgres(entity: EntityConfig, key: Key) -> tuple[Any, ...]:
    """Key parts as values PostgreSQL can bind for the key columns' types."""
    out: list[Any] = []
    for spec, part in zip(entity.key.values(), key, strict=True):
        out.append(to_json_value(spec, part) if spec.type == "timestamp" else part)
    return tuple(out)


def render_item_key(entity: EntityConfig, canon: Mapping[str, Canon]) -> dict[str, AttributeValue] | None:
    """The DynamoDB primary key of a row's item from the entity's ``item_key`` templates.

    ElectroDB composes ``pk``/``sk`` from attribute values (``$app#sessionid_{id}``); with the
    templates a row that has no item can still be looked up with GetItem. None without templates.
    """
    if entity.item_key is None:
        return None
    values = {column: _template_text(canon.get(column), entity, column) for column in entity.all_columns}
    return {attr: {"S": template.format_map(values)} for attr, template in entity.item_key.items()}


def _template_text(value: Canon, entity: EntityConfig, column: str) -> str:
    rendered = to_json_value(entity.all_columns[column], value)
    return "" if rendered is None else str(rendered)


def projected_attributes(entities: Iterable[EntityConfig], extra: Iterable[str] = ()) -> list[str]:
    """Every attribute the comparison reads: match, key and column attributes of all entities."""
    names: dict[str, None] = {}
    for entity in entities:
        for attr in entity.match:
            names[attr] = None
        for spec in entity.all_columns.values():
            names[spec.attribute] = None
    for attr in extra:
        names[attr] = None
    return list(names)
