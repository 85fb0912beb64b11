"""The canonical form of each column type (docs/reference.md §2), for both sides of a comparison.

A DynamoDB attribute value and a PostgreSQL value are equal exactly when their canonical forms are
equal. Canonical forms are hashable plain values:

======================  =====================================================================
type                    canonical form
======================  =====================================================================
string                  ``str``, exact (no trimming, no case folding)
integer, decimal        ``Decimal`` normalized (``1.50`` -> ``1.5``), never through ``float``
boolean                 ``bool``
json, list              tagged tuples: key order ignored, numbers as ``Decimal``
timestamp               ``int`` units since the epoch in UTC at the column's precision (floor)
uuid                    lower-case ``str``
string_set              ``frozenset`` of ``str`` (an empty set is NULL: DynamoDB cannot store one)
binary                  ``bytes``
missing / NULL          ``None``
======================  =====================================================================

A value of the wrong type (an ``N`` where a string is mapped), a malformed value (``{"S": null}``,
``{"BOOL": "false"}``, a timestamp ``{"N": "abc"}``, a uuid ``"not-a-uuid"``) or one that cannot be
compared (JSON nested too deep to parse, a timestamp outside years 1-9999) canonicalizes to
:class:`WrongType`, which equals nothing, so the column is reported as mismatched instead of crashing
the run or comparing a guessed value. Numbers are compared exactly, whatever their number of digits.
Pure functions, no I/O.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, Decimal
from typing import Any

from parity.config import ColumnSpec
from parity.dynamo_json import (
    AttributeValue,
    bool_of,
    decode_binary,
    decode_number,
    deserialize,
    members_of,
    string_of,
    type_of,
)
from parity.errors import DecodeError
from parity.jsontext import dumps_exact, loads_exact

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


_UNITS_PER_SECOND = {"s": 1, "ms": 1000, "us": 1_000_000}
# exact arithmetic for any finite number (no rounding, no signal trapped): normalizing a 40-digit
# spelled-out 1E+39 or a 39-digit PostgreSQL numeric must neither round nor raise
_EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN, traps=[])
_MICROS_MIN = -62_135_596_800_000_000  # 0001-01-01T00:00:00Z in microseconds since the epoch
_MICROS_MAX = 253_402_300_799_999_999  # 9999-12-31T23:59:59.999999Z
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_UUID_OTHER = re.compile(r"\{?[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}\}?")


@dataclass(frozen=True, eq=False)
class WrongType:
    """A value that cannot be brought to its column's canonical form; equal to nothing."""

    reason: str

    def __eq__(self, other: object) -> bool:
        return False

    def __hash__(self) -> int:
        return hash(self.reason)


Canon = Any  # None | str | Decimal | bool | int | bytes | frozenset[str] | tuple | WrongType


# --- helpers -----------------------------------------------------------------------------------


def normalize_decimal(value: Decimal) -> Decimal:
    """``1.50`` -> ``1.5``, ``100`` -> ``1E+2``: one representative per numeric value."""
    if value.is_zero():
        return Decimal(0)
    return value.normalize(_EXACT)


def _json_canon(value: Any) -> Any:
    """Tagged, hashable form of a JSON-like value; tags keep ``true`` apart from ``1``."""
    kind = type(value)
    if kind is str:  # the common cases first, by exact type (hot in every checker)
        return ("str", value)
    if kind is dict:
        return ("obj", tuple(sorted((str(k), _json_canon(v)) for k, v in value.items())))
    if kind is Decimal:
        return ("num", normalize_decimal(value))
    if kind is list:
        return ("arr", tuple(_json_canon(v) for v in value))
    if value is None:
        return ("null",)
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | Decimal):
        return ("num", normalize_decimal(Decimal(value)))
    if isinstance(value, float):
        return ("num", normalize_decimal(Decimal(repr(value))))
    if isinstance(value, str):
        return ("str", value)
    if isinstance(value, bytes | bytearray | memoryview):
        return ("bin", bytes(value))
    if isinstance(value, Mapping):
        return ("obj", tuple(sorted((str(k), _json_canon(v)) for k, v in value.items())))
    if isinstance(value, set | frozenset):
        members = [_json_canon(v) for v in value]
        return ("arr", tuple(sorted(members, key=repr)))
    if isinstance(value, list | tuple):
        return ("arr", tuple(_json_canon(v) for v in value))
    raise DecodeError(f"value of type {type(value).__name__} has no JSON form")


def attribute_to_json(value: AttributeValue) -> Any:
    """A DynamoDB attribute value as JSON-like Python; sets become sorted lists (JSON has no sets)."""
    return _sets_to_lists(deserialize(value))


def _sets_to_lists(value: Any) -> Any:
    if isinstance(value, frozenset):
        return sorted(value)
    if isinstance(value, dict):
        return {k: _sets_to_lists(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_sets_to_lists(v) for v in value]
    return value


def parse_iso(text: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise DecodeError(f"{text!r} is not an ISO-8601 timestamp") from exc
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def timestamp_units(moment: datetime, precision: str) -> int:
    """An aware datetime as whole ``precision`` units since the epoch (floor): the canonical timestamp."""
    return _units(moment, precision)


def _units(moment: datetime, precision: str) -> int:
    delta = moment.astimezone(UTC) - _EPOCH
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return micros // (1_000_000 // _UNITS_PER_SECOND[precision])


def _epoch_units(number: Decimal, unit: str, precision: str) -> int:
    """Epoch ``number`` in ``unit`` as whole ``precision`` units (floor); DecodeError outside years 1-9999."""
    if not number.is_finite():
        raise DecodeError(f"{number} is not a point in time")
    micros = _EXACT.divide(_EXACT.multiply(number, Decimal(1_000_000)), Decimal(_UNITS_PER_SECOND[unit]))
    if not _MICROS_MIN <= micros <= _MICROS_MAX:
        raise DecodeError(f"{number} {unit} since the epoch is outside the years 1-9999")
    scaled = _EXACT.divide(_EXACT.multiply(number, Decimal(_UNITS_PER_SECOND[precision])), _UNITS_PER_SECOND[unit])
    return int(scaled.to_integral_value(rounding="ROUND_FLOOR"))


def is_uuid_text(text: str) -> bool:
    """Is ``text`` a uuid in PostgreSQL's text form (lower-case, hyphenated)?"""
    return _UUID.fullmatch(text) is not None


def canon_uuid(text: str) -> str:
    """A uuid in PostgreSQL's text form (lower-case, hyphenated); DecodeError when it is not a uuid."""
    if _UUID.fullmatch(text):
        return text
    if _UUID_OTHER.fullmatch(text) and (text[0] == "{") == (text[-1] == "}"):
        return str(uuid.UUID(text))
    raise DecodeError(f"{text[:60]!r} is not a uuid")


def render_timestamp(units: int, precision: str) -> str:
    """A canonical timestamp back as ISO-8601 UTC, for reports."""
    micros = units * (1_000_000 // _UNITS_PER_SECOND[precision])
    return (_EPOCH + timedelta(microseconds=micros)).isoformat().replace("+00:00", "Z")


# --- DynamoDB side -----------------------------------------------------------------------------


def canon_dynamo(spec: ColumnSpec, value: AttributeValue | None) -> Canon:
    """Canonical form of an item's attribute for a column; ``None`` for missing or NULL."""
    if value is None:
        return None
    try:
        tag = type_of(value)
        if tag == "NULL":
            if value[tag] is not True:
                raise DecodeError(f"NULL value {value[tag]!r} is not true")
            return None
        return _canon_dynamo(spec, tag, value[tag], value)
    except DecodeError as exc:
        return WrongType(exc.message)
    except RecursionError:  # JSON text nested deeper than Python's parser goes
        return WrongType(f"a value nested too deeply to compare where a {spec.type} is mapped")


def _wrong(spec: ColumnSpec, tag: str) -> WrongType:
    return WrongType(f"a {tag} attribute where a {spec.type} is mapped")


def _canon_dynamo(spec: ColumnSpec, tag: str, inner: Any, value: AttributeValue) -> Canon:
    kind = spec.type
    if kind == "string":
        return string_of(inner) if tag == "S" else _wrong(spec, tag)
    if kind in ("integer", "decimal"):
        if tag != "N":
            return _wrong(spec, tag)
        number = decode_number(inner)
        if kind == "integer" and number != number.to_integral_value():
            return WrongType(f"{inner} is not an integer")
        return normalize_decimal(number)
    if kind == "boolean":
        return bool_of(inner) if tag == "BOOL" else _wrong(spec, tag)
    if kind == "uuid":
        return canon_uuid(string_of(inner).lower()) if tag == "S" else _wrong(spec, tag)
    if kind == "binary":
        return decode_binary(inner) if tag == "B" else _wrong(spec, tag)
    if kind == "timestamp":
        if tag == "S":
            return _units(parse_iso(string_of(inner)), spec.precision)
        if tag == "N":
            return _epoch_units(decode_number(inner), spec.unit, spec.precision)
        return _wrong(spec, tag)
    if kind == "string_set":
        if tag == "SS":
            members = frozenset(string_of(v) for v in members_of(tag, inner))
        elif tag == "L" and all(type_of(v) == "S" for v in members_of(tag, inner)):
            members = frozenset(string_of(v["S"]) for v in inner)
        else:
            return _wrong(spec, tag)
        return members or None
    if kind == "json":
        if tag == "S":  # JSON kept as a string attribute
            try:
                return _json_canon(loads_exact(string_of(inner)))
            except ValueError:
                return WrongType("an S attribute that is not JSON where json is mapped")
        return _json_canon(attribute_to_json(value))
    if kind == "list":
        return _json_canon(attribute_to_json(value)) if tag == "L" else _wrong(spec, tag)
    raise AssertionError(f"unhandled column type {kind}")  # pragma: no cover - config forbids it


# --- PostgreSQL side ---------------------------------------------------------------------------


def canon_postgres(spec: ColumnSpec, value: Any) -> Canon:
    """Canonical form of a PostgreSQL value (as psycopg returns it) for a column."""
    if value is None:
        return None
    if isinstance(value, WrongType):  # what the row loader made of a value it could not read
        return value
    try:
        return _canon_postgres(spec, value)
    except RecursionError:  # json nested deeper than Python's parser goes
        return WrongType(f"PostgreSQL value nested too deeply to compare for a {spec.type} column")
    except (DecodeError, ArithmeticError, ValueError, TypeError) as exc:  # decimal's signals are ArithmeticErrors
        return WrongType(f"PostgreSQL value of type {type(value).__name__} for a {spec.type} column: {exc}")


def _canon_postgres(spec: ColumnSpec, value: Any) -> Canon:
    kind = spec.type
    if kind == "string":
        return value if isinstance(value, str) else WrongType(f"{type(value).__name__} for string")
    if kind in ("integer", "decimal"):
        if isinstance(value, bool):
            return WrongType("boolean for a number")
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        if not number.is_finite():  # numeric 'NaN' / 'Infinity': DynamoDB holds no such number
            return WrongType(f"{value} is not a finite number")
        if kind == "integer" and number != number.to_integral_value():
            return WrongType(f"{value} is not an integer")
        return normalize_decimal(number)
    if kind == "boolean":
        return value if isinstance(value, bool) else WrongType(f"{type(value).__name__} for boolean")
    if kind == "uuid":
        return str(value).lower() if isinstance(value, uuid.UUID | str) else WrongType("not a uuid")
    if kind == "binary":
        return bytes(value) if isinstance(value, bytes | bytearray | memoryview) else WrongType("not bytes")
    if kind == "timestamp":
        if isinstance(value, datetime):
            moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
            return _units(moment, spec.precision)
        if isinstance(value, date):
            return _units(datetime(value.year, value.month, value.day, tzinfo=UTC), spec.precision)
        if isinstance(value, str):
            return _units(parse_iso(value), spec.precision)
        if isinstance(value, int | Decimal) and not isinstance(value, bool):
            return _epoch_units(Decimal(value), spec.unit, spec.precision)
        return WrongType(f"{type(value).__name__} for timestamp")
    if kind == "string_set":
        if isinstance(value, list | tuple | set | frozenset) and all(isinstance(v, str) for v in value):
            return frozenset(value) or None
        return WrongType("not an array of text")
    if kind == "json":
        if isinstance(value, str):
            value = loads_exact(value)
        return _json_canon(value)
    if kind == "list":
        if isinstance(value, str):
            value = loads_exact(value)
        return _json_canon(value) if isinstance(value, list | tuple) else WrongType("not a list")
    raise AssertionError(f"unhandled column type {kind}")  # pragma: no cover


def to_json_value(spec: ColumnSpec, canon: Canon) -> Any:
    """A canonical value as JSON for reports and key objects (strings, numbers, lists)."""
    if canon is None or isinstance(canon, bool | str):
        return canon
    if isinstance(canon, WrongType):
        return {"wrong_type": canon.reason}
    if isinstance(canon, Decimal):
        return int(canon) if canon == canon.to_integral_value() and abs(canon) < 2**63 else str(canon)
    if isinstance(canon, int) and spec.type == "timestamp":
        return render_timestamp(canon, spec.precision)
    if isinstance(canon, bytes):
        import base64

        return base64.b64encode(canon).decode("ascii")
    if isinstance(canon, frozenset):
        return sorted(canon)
    if isinstance(canon, tuple):
        return _untag(canon)
    return canon


def display_value(spec: ColumnSpec, canon: Canon) -> Any:
    """A canonical value as users see it (discrepancies, plans, reports, logs): JSON, or a hash when redacted.

    A column with ``redact = true`` shows ``"redacted:<first 12 hex of sha256 of the canonical JSON>"``,
    so two equal values show the same marker and the value itself appears nowhere; NULL stays null.
    """
    shown = to_json_value(spec, canon)
    if not spec.redact or shown is None:
        return shown
    return "redacted:" + hashlib.sha256(dumps_exact(shown).encode("utf-8")).hexdigest()[:12]


def _untag(tagged: tuple[Any, ...]) -> Any:
    tag = tagged[0]
    if tag == "null":
        return None
    if tag in ("bool", "str"):
        return tagged[1]
    if tag == "num":
        number: Decimal = tagged[1]
        return int(number) if number == number.to_integral_value() else float(number)
    if tag == "bin":
        return tagged[1].hex()
    if tag == "obj":
        return {k: _untag(v) for k, v in tagged[1]}
    return [_untag(v) for v in tagged[1]]
