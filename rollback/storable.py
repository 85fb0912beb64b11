"""Can a PostgreSQL column of a given declared type hold a value? Decided while planning a replay.

DynamoDB holds values its PostgreSQL twin cannot: a string with U+0000 (PostgreSQL's text and jsonb
refuse it), a 38-digit number where the column is ``bigint`` or ``numeric(14,2)``, a string longer
than a ``varchar(n)``. A replay that planned such an item as a normal write would fail at ``--apply``
inside a batch, without naming the key. :func:`why_unstorable` finds them first, so the dry run
lists them as ``unstorable`` with the key and the column. Pure: the declared type comes from
``format_type`` (``rollback.writer.describe``), the value from :func:`parity.rollback.values.to_postgres`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation
from typing import Any

_INTEGER_RANGES = {
    "smallint": (-(2**15), 2**15 - 1),
    "integer": (-(2**31), 2**31 - 1),
    "bigint": (-(2**63), 2**63 - 1),
}
_FLOAT_LIMITS = {"real": Decimal("3.4028235E+38"), "double precision": Decimal("1.7976931348623157E+308")}
_NUMERIC = re.compile(r"^numeric\((\d+),(-?\d+)\)$")
_LENGTH = re.compile(r"^(character varying|character|bit varying|bit)\((\d+)\)$")
_TEXT_TYPES = ("text", "character varying", "character", "name", "citext", "xml")


def why_unstorable(sql_type: str, value: Any) -> str:
    """Why a column declared ``sql_type`` cannot hold ``value`` ("" when it can, or when unknown)."""
    if value is None:
        return ""
    kind = sql_type.strip().lower().replace(", ", ",")
    if kind.endswith("[]"):
        if isinstance(value, list | tuple):
            for member in value:
                reason = why_unstorable(kind[:-2], member)
                if reason:
                    return f"an element: {reason}"
        return ""
    if kind == "jsonb":
        return "jsonb cannot hold U+0000 (\\u0000) in a string" if _has_nul(value) else ""
    if isinstance(value, str):
        return _text_problem(kind, value)
    if isinstance(value, bool):
        return ""
    if isinstance(value, int | Decimal):
        return _number_problem(kind, Decimal(value))
    return ""


def _text_problem(kind: str, value: str) -> str:
    base = kind.split("(", 1)[0]
    if base in _TEXT_TYPES and "\x00" in value:
        return f"{base} cannot hold U+0000"
    length = _LENGTH.match(kind)
    if length and length[1].startswith("character") and len(value) > int(length[2]):
        return f"{len(value)} characters exceed {kind}"
    return ""


def _number_problem(kind: str, number: Decimal) -> str:
    if not number.is_finite():
        return ""
    if kind in _INTEGER_RANGES:
        low, high = _INTEGER_RANGES[kind]
        if number != number.to_integral_value() or not low <= number <= high:
            return f"{number} is out of range for {kind}"
        return ""
    if kind in _FLOAT_LIMITS:
        return f"{number} is out of range for {kind}" if abs(number) > _FLOAT_LIMITS[kind] else ""
    numeric = _NUMERIC.match(kind)
    if numeric:
        precision, scale = int(numeric[1]), int(numeric[2])
        # PostgreSQL rounds to the scale (half away from zero), then needs < 10^(precision - scale)
        context = Context(prec=max(precision, 1) + abs(scale) + len(number.as_tuple().digits) + 10)
        try:
            rounded = number.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP, context=context)
        except InvalidOperation:
            return f"{number} overflows {kind}"
        if abs(rounded) >= Decimal(1).scaleb(precision - scale):
            return f"{number} overflows {kind}"
    return ""


def _has_nul(value: Any) -> bool:
    return any("\x00" in text for text in _strings(value))


def _strings(value: Any) -> Iterator[str]:
    """Every string in a JSON-like value (keys too), iteratively: depth is the decoder's concern."""
    stack = [value]
    while stack:
        current = stack.pop()
        if isinstance(current, str):
            yield current
        elif isinstance(current, dict):
            for key, member in current.items():
                if isinstance(key, str):
                    yield key
                stack.append(member)
        elif isinstance(current, list | tuple):
            stack.extend(current)
