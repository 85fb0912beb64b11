"""DynamoDB's typed JSON (``{"S": "x"}``, ``{"N": "1.5"}``, ...) decoded without losing precision.

Numbers become :class:`~decimal.Decimal` under DynamoDB's own 38-digit context, never ``float``.
Binary values arrive base64-encoded in stream records and Kinesis payloads and as ``bytes`` from
boto3; both decode to ``bytes``. Pure functions, no I/O.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from decimal import Clamped, Context, Decimal, Inexact, InvalidOperation, Overflow, Rounded, Underflow
from typing import Any

from parity.errors import DecodeError

#: The context DynamoDB uses for numbers: 38 significant digits, exponent from -130 to 125.
DYNAMODB_CONTEXT = Context(Emin=-128, Emax=126, prec=38, traps=[Clamped, Overflow, Inexact, Rounded, Underflow])

AttributeValue = Mapping[str, Any]
Item = Mapping[str, AttributeValue]

TYPE_TAGS = frozenset({"S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS"})


def decode_number(text: str) -> Decimal:
    """An ``N`` value as an exact Decimal; raises DecodeError when DynamoDB could not hold it."""
    try:
        return DYNAMODB_CONTEXT.create_decimal(text)
    except (InvalidOperation, Inexact, Rounded, Overflow, Underflow, Clamped) as exc:
        raise DecodeError(f"number {text!r} is not a valid DynamoDB number") from exc


def decode_binary(value: str | bytes | bytearray | memoryview) -> bytes:
    """A ``B`` value: base64 text (stream JSON) or raw bytes (boto3)."""
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise DecodeError(f"binary value {value[:40]!r} is not valid base64") from exc
    return bytes(value)


def type_of(value: AttributeValue) -> str:
    """The single type tag of an attribute value (``"S"``, ``"N"``, ...)."""
    if type(value) is dict and len(value) == 1:  # the hot path: plain dicts from boto3 and json
        for tag in value:
            if tag in TYPE_TAGS:
                return str(tag)
    if not isinstance(value, Mapping) or len(value) != 1:
        raise DecodeError(f"not a DynamoDB attribute value: {_short(value)}")
    tag = next(iter(value))
    if tag not in TYPE_TAGS:
        raise DecodeError(f"unknown DynamoDB type tag {tag!r} in {_short(value)}")
    return str(tag)


def deserialize(value: AttributeValue) -> Any:
    """Plain Python for a typed value: str, Decimal, bytes, bool, None, dict, list, set/frozenset."""
    tag = type_of(value)
    inner = value[tag]
    if tag == "S":
        return str(inner)
    if tag == "N":
        return decode_number(str(inner))
    if tag == "B":
        return decode_binary(inner)
    if tag == "BOOL":
        return bool(inner)
    if tag == "NULL":
        return None
    if tag == "M":
        return {str(k): deserialize(v) for k, v in inner.items()}
    if tag == "L":
        return [deserialize(v) for v in inner]
    if tag == "SS":
        return frozenset(str(v) for v in inner)
    if tag == "NS":
        return frozenset(decode_number(str(v)) for v in inner)
    return frozenset(decode_binary(v) for v in inner)  # BS


def deserialize_item(item: Item) -> dict[str, Any]:
    """Every attribute of an item as plain Python."""
    return {name: deserialize(value) for name, value in item.items()}


def serialize(value: Any) -> dict[str, Any]:
    """Plain Python to a typed value (the inverse of :func:`deserialize`, for tests and the demo)."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, int | Decimal):
        return {"N": str(value)}
    if isinstance(value, float):
        return {"N": repr(value)}
    if isinstance(value, bytes | bytearray):
        return {"B": bytes(value)}
    if isinstance(value, Mapping):
        return {"M": {str(k): serialize(v) for k, v in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [serialize(v) for v in value]}
    if isinstance(value, set | frozenset):
        members = sorted(value)
        if all(isinstance(v, str) for v in members):
            return {"SS": members}
        if all(isinstance(v, int | Decimal) and not isinstance(v, bool) for v in members):
            return {"NS": [str(v) for v in members]}
        return {"BS": [bytes(v) for v in members]}
    raise TypeError(f"cannot serialize {type(value).__name__} to a DynamoDB attribute value")


def serialize_item(values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """A plain mapping as a typed item."""
    return {name: serialize(value) for name, value in values.items()}


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
