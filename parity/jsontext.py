"""JSON text with exact numbers, both ways: every number read is a ``Decimal``, every ``Decimal``
written is written digit for digit, never via float.

The standard encoder refuses Decimal (or, with ``default=float``, rounds it). Writing jsonb from
DynamoDB numbers must keep all 38 digits, so this small encoder handles the JSON types parity
produces: dict, list/tuple, str, bool, None, int and Decimal. :func:`loads_exact` is the one
decoder of JSON text parity uses (PostgreSQL json/jsonb values, JSON held in strings).
"""

from __future__ import annotations

import base64
import functools
import json
import math
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any


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
    indent: int | None = None,
    sort_keys: bool = False,
) -> str:
    """THE JSON writer of parity: text of ``value`` with Decimals written exactly, datetimes and dates
    as ISO text, sets sorted (compact unless ``separators`` / ``indent`` say otherwise).

    Every JSON parity writes goes through here: stdout (``print_json``), report files, jsonb and
    json parameters (``parity.pg.connect`` makes it psycopg's dumper). ``default`` turns a value of
    another type into one this writes (as in :func:`json.dumps`); ``ensure_ascii=False`` writes
    non-ASCII characters as they are; ``indent`` and ``sort_keys`` as in :func:`json.dumps`.

    A value without Decimals is written by the standard library's C encoder (the same text, several
    times faster: page commits and key sets are written this way); the first Decimal met hands the
    whole value to the exact writer below.
    """
    encoder = _encoder(default, ensure_ascii, separators, indent, sort_keys)
    try:
        return encoder.encode(value)
    except _NeedsExact:
        pass
    except TypeError:
        pass  # a key json refuses (a Decimal, a tuple): the writer below names it by its text
    parts: list[str] = []
    _Writer(
        default,
        json.encoder.encode_basestring_ascii if ensure_ascii else _encode_unicode,
        separators,
        indent,
        sort_keys,
    ).write(value, parts, 0)
    return "".join(parts)


_encode_unicode = json.encoder.encode_basestring


class _NeedsExact(Exception):
    """The C encoder met a Decimal: the value is written by :class:`_Writer` instead."""


def _plain(value: Any, default: Callable[[Any], Any] | None) -> Any:
    """What a value of a type JSON lacks is written as (one rule for both writers)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value)
    if isinstance(value, Mapping):
        return dict(value)
    if default is not None:
        return default(value)
    raise TypeError(f"{type(value).__name__} has no JSON form")


def _fast_default(default: Callable[[Any], Any] | None, value: Any) -> Any:
    if isinstance(value, Decimal):
        raise _NeedsExact
    return _plain(value, default)


@functools.lru_cache(maxsize=64)
def _encoder(
    default: Callable[[Any], Any] | None,
    ensure_ascii: bool,
    separators: tuple[str, str],
    indent: int | None,
    sort_keys: bool,
) -> json.JSONEncoder:
    # made once per set of options: json.dumps with options builds an encoder per call
    return json.JSONEncoder(
        default=functools.partial(_fast_default, default),
        ensure_ascii=ensure_ascii,
        separators=separators,
        indent=indent,
        sort_keys=sort_keys,
    )


class _Writer:
    def __init__(
        self,
        default: Callable[[Any], Any] | None,
        encode: Callable[[str], str],
        separators: tuple[str, str],
        indent: int | None = None,
        sort_keys: bool = False,
    ) -> None:
        self.default = default
        self.encode = encode
        self.item_separator, self.key_separator = separators
        self.indent = indent
        self.sort_keys = sort_keys

    def write(self, value: Any, out: list[str], level: int) -> None:
        """Append the JSON text of ``value`` (nested ``level`` deep) to ``out``."""
        if value is None:
            out.append("null")
        elif value is True:
            out.append("true")
        elif value is False:
            out.append("false")
        elif isinstance(value, str):
            out.append(self.encode(value))
        elif isinstance(value, Decimal):
            if not value.is_finite():
                raise ValueError(f"{value} has no JSON form")
            out.append(_decimal_text(value))
        elif isinstance(value, int):
            out.append(int.__repr__(value))
        elif isinstance(value, float):
            out.append(json.dumps(value))
        elif isinstance(value, dict):
            if not value:
                out.append("{}")
                return
            items = sorted(value.items()) if self.sort_keys else value.items()
            out.append("{")
            for index, (key, item) in enumerate(items):
                out.append(self._separator(index, level + 1))
                out.append(self.encode(self._key(key)))
                out.append(self.key_separator)
                self.write(item, out, level + 1)
            out.append(self._separator(-1, level))
            out.append("}")
        elif isinstance(value, list | tuple):
            if not value:
                out.append("[]")
                return
            out.append("[")
            for index, item in enumerate(value):
                out.append(self._separator(index, level + 1))
                self.write(item, out, level + 1)
            out.append(self._separator(-1, level))
            out.append("]")
        else:
            self.write(_plain(value, self.default), out, level)

    def _separator(self, index: int, level: int) -> str:
        """Before item ``index`` (0: the first; -1: before the closing bracket), as json.dumps does."""
        if self.indent is None:
            return self.item_separator if index > 0 else ""
        newline = "\n" + " " * (self.indent * level)
        return (self.item_separator + newline) if index > 0 else newline

    @staticmethod
    def _key(key: Any) -> str:
        """An object key as :func:`json.dumps` writes it (a Decimal exactly, anything else its text)."""
        if isinstance(key, str):
            return key
        if key is True or key is False or key is None:
            return json.dumps(key)
        if isinstance(key, Decimal):
            return _decimal_text(key)
        if isinstance(key, int):
            return int.__repr__(key)
        if isinstance(key, float):
            return json.dumps(key)
        return str(key)


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
