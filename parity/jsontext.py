"""JSON text with exact numbers, both ways: every number read is a ``Decimal``, every ``Decimal``
written is written digit for digit, never via float.

The standard encoder refuses Decimal (or, with ``default=float``, rounds it). Writing jsonb from
DynamoDB numbers must keep all 38 digits, so this small encoder handles the JSON types parity
produces: dict, list/tuple, str, bool, None, int and Decimal. :func:`loads_exact` is the one
decoder of JSON text parity uses (PostgreSQL json/jsonb values, JSON held in strings).
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

_encode_string = json.encoder.encode_basestring_ascii


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# made once: json.loads with hooks builds a new JSONDecoder per call (about 9 us, as much as parsing
# a small document); NaN and Infinity are not JSON, though Python's decoder accepts them
_EXACT = json.JSONDecoder(parse_float=Decimal, parse_int=Decimal, parse_constant=_no_constant)


def loads_exact(data: str | bytes | bytearray | memoryview) -> Any:
    """Python values of JSON text with every number an exact ``Decimal`` (ValueError when not JSON)."""
    return _EXACT.decode(data if isinstance(data, str) else bytes(data).decode("utf-8"))


def dumps_exact(
    value: Any,
    *,
    default: Callable[[Any], Any] | None = None,
    ensure_ascii: bool = True,
    separators: tuple[str, str] = (",", ":"),
) -> str:
    """JSON text of ``value`` with Decimals written exactly (compact unless ``separators`` say otherwise).

    ``default`` turns a value of another type into one this writes (as in :func:`json.dumps`);
    ``ensure_ascii=False`` writes non-ASCII characters as they are.
    """
    parts: list[str] = []
    _Writer(default, json.encoder.encode_basestring_ascii if ensure_ascii else _encode_unicode, separators).write(
        value, parts
    )
    return "".join(parts)


_encode_unicode = json.encoder.encode_basestring


class _Writer:
    def __init__(
        self, default: Callable[[Any], Any] | None, encode: Callable[[str], str], separators: tuple[str, str]
    ) -> None:
        self.default = default
        self.encode = encode
        self.item_separator, self.key_separator = separators

    def write(self, value: Any, out: list[str]) -> None:
        _write(value, out, self)


_PLAIN = _Writer(None, _encode_string, (",", ":"))


def _write(value: Any, out: list[str], how: _Writer = _PLAIN) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(how.encode(value))
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
                out.append(how.item_separator)
            out.append(how.encode(str(key)))
            out.append(how.key_separator)
            _write(item, out, how)
        out.append("}")
    elif isinstance(value, list | tuple | set | frozenset):
        out.append("[")
        for index, item in enumerate(sorted(value) if isinstance(value, set | frozenset) else value):
            if index:
                out.append(how.item_separator)
            _write(item, out, how)
        out.append("]")
    elif how.default is not None:
        _write(how.default(value), out, _Writer(None, how.encode, (how.item_separator, how.key_separator)))
    else:
        raise TypeError(f"{type(value).__name__} has no JSON form")


def _decimal_text(value: Decimal) -> str:
    text = str(value)
    if "E" in text or "e" in text:
        text = format(value, "f")  # JSON allows exponents, PostgreSQL too, but plain digits read best
    return text


def json_safe(value: Any) -> Any:
    """``value`` as JSON PostgreSQL's jsonb accepts: bytes as base64, datetimes ISO, Decimals text.

    PostgreSQL's text and jsonb cannot hold U+0000: in strings (and object keys) it is written as
    the six characters ``\\u0000``, so a record holding one can still be stored (dead letter, pending
    re-check, archive) instead of failing the batch's transaction. A float that is not finite (JSON
    has no NaN) becomes its text. Raises :class:`~parity.errors.DecodeError` when ``value`` is
    nested too deeply to walk.
    """
    try:
        return _safe(value)
    except RecursionError:
        from parity.errors import DecodeError

        raise DecodeError("value nested too deeply to store") from None


def _safe(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "\\u0000") if "\x00" in value else value
    if isinstance(value, Mapping):
        return {_safe(str(k)): _safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_safe(v) for v in value]
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def without_nul(value: Any) -> Any:
    """``value`` with U+0000 in its strings written as the text ``\\u0000`` (jsonb cannot hold it);
    nothing else changes (numbers stay Decimal for :func:`dumps_exact`)."""
    if isinstance(value, str):
        return value.replace("\x00", "\\u0000") if "\x00" in value else value
    if isinstance(value, Mapping):
        return {without_nul(str(k)): without_nul(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [without_nul(v) for v in value]
    return value
