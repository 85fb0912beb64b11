"""Pure: the app's DynamoDB item for a PostgreSQL row, built the way the app writes it.

An item is the entity's ``match`` attributes, its ``item_key`` templates (the table's key), its
``item_attributes`` templates (index keys, ElectroDB's ``__edb_v__``) and every mapped column in
its configured type: numbers exact (never through float), timestamps in the column's ``format``
and ``unit``, ``string_set`` as SS, ``json`` as a map, ``binary`` as B. A NULL column is left out
(missing, NULL and absent are equal under the comparison rules), and so is an empty set, which
DynamoDB cannot store (and which the rules treat as NULL).

A row whose item DynamoDB could not hold is *unbuildable*, with the reason: a template that names
a NULL column (or renders an empty key), a number beyond DynamoDB's 38 digits, a value of the wrong
type for its column. The planner finds these so that ``--apply`` refuses before writing anything.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from parity.canonical import WrongType, canon_postgres, to_json_value
from parity.config import ColumnSpec, EntityConfig
from parity.dynamo_json import DYNAMODB_CONTEXT, AttributeValue, decode_number, serialize
from parity.errors import DecodeError, Unbuildable
from parity.jsontext import dumps_exact, loads_exact
from parity.mapping import Row, canonical_row

_FIELD = re.compile(r"{([^{}]*)}")
_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000}


@dataclass(frozen=True)
class Built:
    """A row's item: the table key, the attributes parity owns, and which of them come from columns."""

    key: dict[str, AttributeValue]
    item: dict[str, AttributeValue]  # the whole item a put writes (key included)
    mapped: dict[str, AttributeValue | None] = field(default_factory=dict)  # attribute -> value (None: absent)
    templated: dict[str, AttributeValue] = field(default_factory=dict)  # match and item_attributes

    def owned(self) -> dict[str, AttributeValue | None]:
        """Every non-key attribute parity sets on an existing item (None: to be removed)."""
        return {**self.templated, **self.mapped}


def build_item(entity: EntityConfig, row: Row, key_schema: tuple[str, ...]) -> Built:
    """The item of ``row``; raises :class:`Unbuildable`."""
    if entity.item_key is None:
        raise Unbuildable(f"entity {entity.name!r} has no item_key templates: the item's table key is unknown")
    canon = canonical_row(entity, row)
    key = render_key(entity, canon, key_schema)
    templated: dict[str, AttributeValue] = {name: {"S": value} for name, value in entity.match.items()}
    for name, template in (entity.item_attributes or {}).items():
        templated[name] = {"S": _render(entity, "item_attributes", name, template, canon)}
    mapped = {
        spec.attribute: attribute_for(column, spec, row.get(column)) for column, spec in entity.all_columns.items()
    }
    item: dict[str, AttributeValue] = {**key, **templated}
    item.update({name: value for name, value in mapped.items() if value is not None})
    return Built(key, item, mapped, templated)


def render_key(
    entity: EntityConfig, canon: Mapping[str, Any], key_schema: tuple[str, ...]
) -> dict[str, AttributeValue]:
    """The table key the ``item_key`` templates give for canonical column values (the row's, or
    the values a checker saw on an item); raises :class:`Unbuildable`."""
    templates = entity.item_key or {}
    missing = [name for name in key_schema if name not in templates]
    if missing:
        raise Unbuildable(f"item_key of entity {entity.name!r} lacks the table key attribute(s) {missing}")
    key: dict[str, AttributeValue] = {
        name: {"S": _render(entity, "item_key", name, templates[name], canon)} for name in key_schema
    }
    for name, value in key.items():
        if value["S"] == "":
            raise Unbuildable(f"item_key.{name} renders an empty string, which DynamoDB refuses as a key")
    return key


def template_columns(entity: EntityConfig) -> list[str]:
    """The columns the ``item_key`` templates name, in template order."""
    names: dict[str, None] = {}
    for template in (entity.item_key or {}).values():
        names.update(dict.fromkeys(_FIELD.findall(template)))
    return list(names)


def _render(entity: EntityConfig, option: str, attr: str, template: str, canon: Mapping[str, Any]) -> str:
    values: dict[str, str] = {}
    for name in _FIELD.findall(template):
        value = canon.get(name)
        if value is None:
            raise Unbuildable(f"{option}.{attr} names column {name!r}, which is NULL in the row")
        if isinstance(value, WrongType):
            raise Unbuildable(f"{option}.{attr} names column {name!r}, whose value cannot be read: {value.reason}")
        values[name] = str(to_json_value(entity.all_columns[name], value))
    return template.format_map(values)


def attribute_for(column: str, spec: ColumnSpec, value: Any) -> AttributeValue | None:
    """The attribute value the app stores for a column value; None when the attribute is left out."""
    if value is None:
        return None
    if spec.type in ("integer", "decimal", "json", "list") and not isinstance(value, bool):
        _numbers_fit(column, value)  # a clear reason before the canonical form's
    canon = canon_postgres(spec, value)
    if isinstance(canon, WrongType):
        raise Unbuildable(f"column {column!r}: {canon.reason}")
    if canon is None:
        return None
    kind = spec.type
    if kind == "string":
        return {"S": canon}
    if kind == "uuid":
        return {"S": str(value) if isinstance(value, uuid.UUID) else canon}
    if kind in ("integer", "decimal"):
        return {"N": number_text(column, Decimal(value) if not isinstance(value, float) else Decimal(repr(value)))}
    if kind == "boolean":
        return {"BOOL": canon}
    if kind == "binary":
        return {"B": canon}
    if kind == "string_set":
        return {"SS": sorted(canon)}
    if kind == "timestamp":
        return _timestamp(spec, value, canon)
    if kind == "list":
        return _json_attribute(column, list(value) if isinstance(value, tuple) else _loaded(value))
    loaded = _loaded(value)
    if isinstance(loaded, str):  # a JSON string scalar is kept as JSON text (an S attribute is read as JSON)
        return {"S": dumps_exact(loaded)}
    return _json_attribute(column, loaded)


def number_text(column: str, number: Decimal) -> str:
    """A number as DynamoDB takes it, digit for digit; Unbuildable beyond its 38 digits or range."""
    if not number.is_finite():
        raise Unbuildable(f"column {column!r}: {number} is not a number DynamoDB can hold")
    try:
        text = format(number.normalize(DYNAMODB_CONTEXT) if not number.is_zero() else Decimal(0), "f")
        decode_number(text)
    except (DecodeError, ArithmeticError):
        raise Unbuildable(
            f"column {column!r}: {number} has more than DynamoDB's 38 significant digits or is out of its range"
        ) from None
    return text


def _timestamp(spec: ColumnSpec, value: Any, units: int) -> AttributeValue:
    """The column's ``format``: ISO-8601 UTC text (millisecond digits, microseconds at ``us``
    precision) or an epoch number in ``unit``, both at the column's precision."""
    if spec.time_format == "epoch":
        number = Decimal(units) * _PER_SECOND[spec.unit] / _PER_SECOND[spec.precision]
        return {"N": number_text(spec.attribute, number)}
    if isinstance(value, datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day, tzinfo=UTC)
    else:  # text or epoch numbers in the column: the canonical instant
        moment = datetime.fromtimestamp(units / _PER_SECOND[spec.precision], UTC)
    moment = moment.astimezone(UTC)
    if spec.precision == "s":
        moment = moment.replace(microsecond=0)
    elif spec.precision == "ms":
        moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
    timespec = "microseconds" if spec.precision == "us" else "milliseconds"
    return {"S": moment.isoformat(timespec=timespec).replace("+00:00", "Z")}


def _numbers_fit(column: str, value: Any) -> None:
    """Unbuildable when a number in ``value`` (a number, or one inside JSON) is beyond DynamoDB's."""
    if isinstance(value, int | Decimal | float) and not isinstance(value, bool):
        number_text(column, Decimal(repr(value)) if isinstance(value, float) else Decimal(value))
    elif isinstance(value, Mapping):
        for inner in value.values():
            _numbers_fit(column, inner)
    elif isinstance(value, list | tuple):
        for inner in value:
            _numbers_fit(column, inner)


def _loaded(value: Any) -> Any:
    if isinstance(value, str | bytes):
        return loads_exact(value)
    return value


def _json_attribute(column: str, value: Any) -> AttributeValue:
    """JSON-like Python as a typed value: objects as M, arrays as L, numbers exact and within DynamoDB's range."""
    try:
        return serialize(value, lambda number: number_text(column, number))
    except TypeError:
        raise Unbuildable(f"column {column!r}: a value of its JSON has no DynamoDB form") from None
