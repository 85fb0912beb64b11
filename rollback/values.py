"""Typed DynamoDB attribute values to PostgreSQL column values: the inverse of the canonical forms.

Pure (no I/O). ``to_postgres(spec, value)`` gives the Python value psycopg should bind for a column,
so that ``parity.canonical.canon_postgres`` of the stored value equals ``canon_dynamo`` of the item's.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from parity.canonical import WrongType, attribute_to_json, canon_dynamo, parse_iso
from parity.config import ColumnSpec, EntityConfig
from parity.dynamo_json import AttributeValue, decode_binary, decode_number, type_of
from parity.errors import InputError
from parity.jsontext import loads_exact

_UNITS = {"s": 1, "ms": 1_000, "us": 1_000_000}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_postgres(spec: ColumnSpec, value: AttributeValue | None) -> Any:
    """The column value for an attribute; ``None`` for a missing or NULL attribute.

    Raises InputError when the attribute's type cannot be stored in the column (schema drift).
    """
    if value is None:
        return None
    tag = type_of(value)
    if tag == "NULL":
        return None
    canon = canon_dynamo(spec, value)
    if isinstance(canon, WrongType):
        raise InputError(
            f"attribute {spec.attribute!r}: a {tag} value cannot be stored as {spec.type} ({canon.reason})"
        )
    inner = value[tag]
    kind = spec.type
    if kind in ("string", "boolean"):
        return inner if kind == "string" else bool(inner)
    if kind == "uuid":
        return uuid.UUID(str(inner))
    if kind in ("integer", "decimal"):
        number = decode_number(str(inner))
        return int(number) if kind == "integer" else number
    if kind == "binary":
        return decode_binary(inner)
    if kind == "timestamp":
        if tag == "S":
            return parse_iso(str(inner)).astimezone(UTC)
        number = decode_number(str(inner))
        micros = int((number * 1_000_000 / _UNITS.get(spec.unit, 1)).to_integral_value(rounding="ROUND_FLOOR"))
        try:
            return _EPOCH + timedelta(microseconds=micros)
        except OverflowError:
            raise InputError(
                f"attribute {spec.attribute!r}: {number} {spec.unit or 's'} since the epoch is beyond the years"
                " 1-9999 a replay can write"
            ) from None
    if kind == "string_set":
        members = [str(v) for v in inner] if tag == "SS" else [str(v["S"]) for v in inner]
        return sorted(members)
    if kind == "json" and tag == "S":
        return loads_exact(str(inner))
    return attribute_to_json(value)  # json from M/L, list


def item_to_row(entity: EntityConfig, item: Mapping[str, AttributeValue]) -> dict[str, Any]:
    """Every mapped column's value for an item (key columns first); missing attributes become NULL."""
    return {column: to_postgres(spec, item.get(spec.attribute)) for column, spec in entity.all_columns.items()}
