"""JSON text with exact numbers: ``Decimal`` values are written digit for digit, never via float.

The standard encoder refuses Decimal (or, with ``default=float``, rounds it). Writing jsonb from
DynamoDB numbers must keep all 38 digits, so this small encoder handles the JSON types parity
produces: dict, list/tuple, str, bool, None, int and Decimal.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

_encode_string = json.encoder.encode_basestring_ascii


def dumps_exact(value: Any) -> str:
    """Compact JSON text of ``value`` with Decimals written exactly."""
    parts: list[str] = []
    _write(value, parts)
    return "".join(parts)


def _write(value: Any, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(_encode_string(value))
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} has no JSON form")
        out.append(_decimal_text(value))
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, float):
        out.append(json.dumps(value))
    elif isinstance(value, Mapping):
        out.append("{")
        for index, (key, item) in enumerate(value.items()):
            if index:
                out.append(",")
            out.append(_encode_string(str(key)))
            out.append(":")
            _write(item, out)
        out.append("}")
    elif isinstance(value, list | tuple | set | frozenset):
        out.append("[")
        for index, item in enumerate(sorted(value) if isinstance(value, set | frozenset) else value):
            if index:
                out.append(",")
            _write(item, out)
        out.append("]")
    else:
        raise TypeError(f"{type(value).__name__} has no JSON form")


def _decimal_text(value: Decimal) -> str:
    text = str(value)
    if "E" in text or "e" in text:
        text = format(value, "f")  # JSON allows exponents, PostgreSQL too, but plain digits read best
    return text
