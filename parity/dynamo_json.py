"""DynamoDB's typed JSON (``{"S": "x"}``, ``{"N": "1.5"}``, ...) decoded without losing or inventing anything.

Numbers become exact :class:`~decimal.Decimal` values, never ``float``. A number is valid when
DynamoDB can hold it: at most 38 significant digits and a magnitude from 1E-130 to 9.99...E+125
(or zero). DynamoDB returns large values spelled out with trailing zeros (``1E+39`` comes back as a
40-digit string); trailing zeros of an integer are not significant, so such a value is accepted.
Binary values arrive base64-encoded in stream records and Kinesis payloads and as ``bytes`` from
boto3; both decode to ``bytes``.

Every value is checked against its type tag: ``{"S": null}``, ``{"BOOL": "false"}``, ``{"B": 5}``,
``{"SS": "abc"}`` or ``{"M": []}`` raise :class:`~parity.errors.DecodeError` instead of becoming a
made-up value, and so does nesting deeper than DynamoDB's 32 levels (so no input can exhaust the
Python stack). boto3's ``TypeDeserializer`` is the reference for what a valid value decodes to.
Pure functions, no I/O.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping
from decimal import Clamped, Context, Decimal, Inexact, InvalidOperation, Overflow, Rounded, Underflow
from typing import Any

from parity.errors import DecodeError

#: The context DynamoDB uses for numbers: 38 significant digits, exponent from -130 to 125.
DYNAMODB_CONTEXT = Context(Emin=-128, Emax=126, prec=38, traps=[Clamped, Overflow, Inexact, Rounded, Underflow])

#: Limits of a DynamoDB number (documented): 38 significant digits, 1E-130 <= |n| < 1E+126.
MAX_DIGITS = 38
MIN_ADJUSTED_EXPONENT = -130
MAX_ADJUSTED_EXPONENT = 125

#: DynamoDB supports nested attributes up to 32 levels deep.
MAX_DEPTH = 32

AttributeValue = Mapping[str, Any]
Item = Mapping[str, AttributeValue]

TYPE_TAGS = frozenset({"S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS"})

# ASCII digits only: Python's \d and Decimal() also take other scripts' digits, DynamoDB does not
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_PLAIN_SHORT = re.compile(r"-?[0-9]{1,38}(?:\.[0-9]*)?|-?\.[0-9]{1,37}")


def decode_number(text: Any) -> Decimal:
    """An ``N`` value as an exact Decimal; raises DecodeError when DynamoDB could not hold it."""
    if not isinstance(text, str):
        raise DecodeError(f"number {_short(text)} is not a string (DynamoDB JSON spells numbers as text)")
    if len(text) <= MAX_DIGITS and _PLAIN_SHORT.fullmatch(text):
        # the hot path: no exponent and at most 38 characters, so at most 38 digits and a magnitude
        # between 1E-37 and 1E+38: always a number DynamoDB can hold
        return Decimal(text)
    if not _NUMBER.fullmatch(text):
        raise DecodeError(f"number {_short(text)} is not a valid DynamoDB number")
    try:
        number = Decimal(text)
    except (InvalidOperation, ValueError, OverflowError) as exc:  # pragma: no cover - the pattern excludes these
        raise DecodeError(f"number {_short(text)} is not a valid DynamoDB number") from exc
    check_number(number, text)
    return number


def check_number(number: Decimal, shown: str | None = None) -> None:
    """Raise DecodeError unless DynamoDB can hold ``number`` (finite, 38 digits, 1E-130..9.99E+125)."""
    label = _short(shown if shown is not None else str(number))
    if not number.is_finite():
        raise DecodeError(f"number {label} is not finite; DynamoDB holds only finite numbers")
    if number.is_zero():
        return
    _, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)
    significant = len(digits)
    while significant > 1 and digits[significant - 1] == 0:  # trailing zeros of the coefficient
        significant -= 1
        exponent += 1
    leading = 0
    while digits[leading] == 0:  # as_tuple keeps no leading zeros, except for zero itself
        leading += 1  # pragma: no cover
    significant -= leading
    if significant > MAX_DIGITS:
        raise DecodeError(f"number {label} has {significant} significant digits; DynamoDB holds at most {MAX_DIGITS}")
    adjusted = exponent + significant - 1
    if adjusted < MIN_ADJUSTED_EXPONENT:
        raise DecodeError(f"number {label} is smaller in magnitude than DynamoDB's 1E-130")
    if adjusted > MAX_ADJUSTED_EXPONENT:
        raise DecodeError(f"number {label} is larger in magnitude than DynamoDB's 9.99...E+125")


def decode_binary(value: Any) -> bytes:
    """A ``B`` value: base64 text (stream JSON) or raw bytes (boto3)."""
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise DecodeError(f"binary value {value[:40]!r} is not valid base64") from exc
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    raise DecodeError(f"binary value {_short(value)} is neither base64 text nor bytes")


def type_of(value: Any) -> str:
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


def string_of(inner: Any) -> str:
    """The payload of an ``S`` value; DecodeError when it is not text."""
    if type(inner) is str:
        return inner
    if isinstance(inner, str):
        return str(inner)
    raise DecodeError(f"S value {_short(inner)} is not a string")


def bool_of(inner: Any) -> bool:
    """The payload of a ``BOOL`` value; DecodeError unless it is ``true`` or ``false``."""
    if isinstance(inner, bool):
        return inner
    raise DecodeError(f"BOOL value {_short(inner)} is not true or false")


def members_of(tag: str, inner: Any) -> list[Any]:
    """The members of an ``L``/``SS``/``NS``/``BS`` value; DecodeError when it is not a list."""
    if isinstance(inner, list | tuple):
        return list(inner)
    raise DecodeError(f"{tag} value {_short(inner)} is not a list")


def deserialize(value: AttributeValue, *, _depth: int = 0) -> Any:
    """Plain Python for a typed value: str, Decimal, bytes, bool, None, dict, list, frozenset.

    DecodeError for anything DynamoDB could not hold (see the module docstring).
    """
    tag = type_of(value)
    inner = value[tag]
    if tag == "S":
        return string_of(inner)
    if tag == "N":
        return decode_number(inner)
    if tag == "B":
        return decode_binary(inner)
    if tag == "BOOL":
        return bool_of(inner)
    if tag == "NULL":
        if inner is not True:
            raise DecodeError(f"NULL value {_short(inner)} is not true")
        return None
    if tag in ("M", "L"):
        if _depth >= MAX_DEPTH:
            raise DecodeError(f"nested deeper than DynamoDB's {MAX_DEPTH} levels")
        if tag == "M":
            if not isinstance(inner, Mapping):
                raise DecodeError(f"M value {_short(inner)} is not an object")
            return {_name(k): deserialize(v, _depth=_depth + 1) for k, v in inner.items()}
        return [deserialize(v, _depth=_depth + 1) for v in members_of(tag, inner)]
    members = members_of(tag, inner)
    if tag == "SS":
        return frozenset(string_of(v) for v in members)
    if tag == "NS":
        return frozenset(decode_number(v) for v in members)
    return frozenset(decode_binary(v) for v in members)  # BS


def deserialize_item(item: Item) -> dict[str, Any]:
    """Every attribute of an item as plain Python."""
    if not isinstance(item, Mapping):
        raise DecodeError(f"item {_short(item)} is not an object")
    return {_name(name): deserialize(value) for name, value in item.items()}


def _name(name: Any) -> str:
    if not isinstance(name, str):
        raise DecodeError(f"attribute name {_short(name)} is not a string")
    return name


def serialize(value: Any, number: Callable[[Decimal], str] = str) -> dict[str, Any]:
    """Plain Python to a typed value (the inverse of :func:`deserialize`).

    ``number`` writes each number's text (a float by its shortest repr); a caller that must refuse
    what DynamoDB cannot hold (repair building an item) passes a checking one.
    """
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, int | Decimal):
        return {"N": number(Decimal(value))}
    if isinstance(value, float):
        return {"N": number(Decimal(repr(value)))}
    if isinstance(value, bytes | bytearray):
        return {"B": bytes(value)}
    if isinstance(value, Mapping):
        return {"M": {str(k): serialize(v, number) for k, v in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [serialize(v, number) for v in value]}
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
