"""Verdicts: one item against one row, after both are brought to canonical form.

The pure heart of every checker (reconciler, stream consumer, replay re-checks). No I/O.

:func:`compare` first tries a *sure-equal* shortcut per column (:func:`surely_equal`): a cheap
test, specialised by column type, that answers True only when the two canonical forms are certainly
equal (``{"S": "x"}`` and ``"x"`` for a string column, equal instants for a timestamp, the same
JSON tree for a json column). Most checked pairs match, so most never build canonical forms; any
pair the shortcut is not sure about goes the canonical way, which alone decides mismatches and
their columns. The result is the same either way (tests/parity/test_compare_shortcut.py holds the
shortcut to the canonical answer).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from parity.canonical import Canon, display_value, is_uuid_text, timestamp_units
from parity.config import ColumnSpec, EntityConfig
from parity.dynamo_json import Item
from parity.mapping import Row, canonical_item, canonical_row


class Verdict(StrEnum):
    """How one key stands between the two stores (docs/reference.md, Verdicts)."""

    MATCH = "match"
    MISSING_IN_POSTGRES = "missing_in_postgres"
    MISSING_IN_DYNAMODB = "missing_in_dynamodb"
    MISMATCHED = "mismatched"


DISCREPANCY_KINDS: tuple[Verdict, ...] = (
    Verdict.MISSING_IN_POSTGRES,
    Verdict.MISSING_IN_DYNAMODB,
    Verdict.MISMATCHED,
)


@dataclass(frozen=True)
class Comparison:
    """A verdict and, for ``mismatched``, the columns that differ (in config order)."""

    verdict: Verdict
    columns: tuple[str, ...] = ()

    @property
    def is_match(self) -> bool:
        return self.verdict is Verdict.MATCH


MATCH = Comparison(Verdict.MATCH)


def diff_canonical(entity: EntityConfig, left: Mapping[str, Canon], right: Mapping[str, Canon]) -> tuple[str, ...]:
    """The compared non-key columns whose canonical values differ (after their normalize rules), in config order."""
    return tuple(
        column
        for column, spec in entity.columns.items()
        if spec.compare and left.get(column) != right.get(column) and not _normalized_equal(spec, left, right, column)
    )


def _normalized_equal(spec: ColumnSpec, left: Mapping[str, Canon], right: Mapping[str, Canon], column: str) -> bool:
    a, b = left.get(column), right.get(column)
    if not spec.normalize or not isinstance(a, str) or not isinstance(b, str):
        return False
    return normalize_text(spec.normalize, a) == normalize_text(spec.normalize, b)


def normalize_text(rules: tuple[str, ...], text: str) -> str:
    """A string after a column's ``normalize`` rules, in order: "trim" (surrounding whitespace), "casefold"."""
    for rule in rules:
        text = text.strip() if rule == "trim" else text.casefold()
    return text


def column_rules(entity: EntityConfig) -> dict[str, dict[str, Any]]:
    """The comparison rules in force on an entity's columns (only columns that have any), for reports."""
    rules: dict[str, dict[str, Any]] = {}
    for column, spec in entity.columns.items():
        rule: dict[str, Any] = {}
        if not spec.compare:
            rule["compare"] = False
        if spec.normalize:
            rule["normalize"] = list(spec.normalize)
        if spec.redact:
            rule["redact"] = True
        if rule:
            rules[column] = rule
    return rules


def rules_text(entities: Sequence[EntityConfig]) -> str | None:
    """One line naming every rule in force, or None when every column is compared exactly."""
    parts = []
    for entity in entities:
        for column, rule in column_rules(entity).items():
            said = []
            if rule.get("compare") is False:
                said.append("not compared")
            if rule.get("normalize"):
                said.append("normalized (" + ", ".join(rule["normalize"]) + ")")
            if rule.get("redact"):
                said.append("redacted")
            parts.append(f"{entity.name}.{column} {' and '.join(said)}")
    return "; ".join(parts) if parts else None


def compare_canonical(
    entity: EntityConfig, item: Mapping[str, Canon] | None, row: Mapping[str, Canon] | None
) -> Comparison:
    """Verdict for canonical forms; ``None`` stands for an absent item or row."""
    if item is None and row is None:
        return MATCH  # both absent: a delete that reached both stores
    if row is None:
        return Comparison(Verdict.MISSING_IN_POSTGRES)
    if item is None:
        return Comparison(Verdict.MISSING_IN_DYNAMODB)
    columns = diff_canonical(entity, item, row)
    return Comparison(Verdict.MISMATCHED, columns) if columns else MATCH


def compare(entity: EntityConfig, item: Item | None, row: Row | None) -> Comparison:
    """Verdict for a typed DynamoDB item and a psycopg row of the same key (either may be absent)."""
    if item is not None and row is not None and surely_equal(entity, item, row):
        return MATCH
    return compare_canonical(
        entity,
        None if item is None else canonical_item(entity, item),
        None if row is None else canonical_row(entity, row),
    )


@dataclass(frozen=True)
class Discrepancy:
    """One key that does not match, as listed in reports and kept in the store.

    ``values`` is what each store held when the check saw it (:func:`discrepancy_values`), or None
    when the checker had no values to give (the store then keeps the ones it has).
    """

    entity: str
    key: dict[str, Any]
    kind: Verdict
    columns: tuple[str, ...] = ()
    values: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {"entity": self.entity, "key": self.key, "kind": str(self.kind), "columns": list(self.columns)}


def discrepancy_values(
    entity: EntityConfig,
    result: Comparison,
    item: Mapping[str, Canon] | None,
    row: Mapping[str, Canon] | None,
) -> dict[str, Any]:
    """What each store holds, as ``values`` (docs/reference.md §5), redacted where the column says so.

    ``mismatched``: ``{column: {"dynamodb": V, "postgres": V}}`` for each differing column;
    ``missing_in_postgres``: ``{"dynamodb": {column: V, ...}}`` (every mapped column of the item);
    ``missing_in_dynamodb``: ``{"postgres": {column: V, ...}}``. V comes from
    :func:`~parity.canonical.display_value`, so a redacted value never leaves this function.
    """
    specs = entity.all_columns
    if result.verdict is Verdict.MISMATCHED and item is not None and row is not None:
        return {
            column: {
                "dynamodb": display_value(specs[column], item.get(column)),
                "postgres": display_value(specs[column], row.get(column)),
            }
            for column in result.columns
        }
    if result.verdict is Verdict.MISSING_IN_POSTGRES and item is not None:
        return {"dynamodb": {column: display_value(spec, item.get(column)) for column, spec in specs.items()}}
    if result.verdict is Verdict.MISSING_IN_DYNAMODB and row is not None:
        return {"postgres": {column: display_value(spec, row.get(column)) for column, spec in specs.items()}}
    return {}


# --- the sure-equal shortcut -------------------------------------------------------------------
#
# Each test takes the item's attribute value (``None`` when absent) and the row's value, and answers
# True only when canonical_item and canonical_row would give equal forms for them. False means "not
# sure": the caller then compares canonical forms. The tests look at exact types, so anything
# unusual (NULL attributes, sets, JSON kept as a string, 1.50 against 1.5) is simply not sure.

Same = Callable[[Any, Any], bool]


def _absent(av: Any, rv: Any) -> bool:
    return av is None and rv is None


def _same_string(av: Any, rv: Any) -> bool:
    if type(av) is dict and len(av) == 1:
        s = av.get("S")
        return type(s) is str and type(rv) is str and s == rv
    return av is None and rv is None


def _same_uuid(av: Any, rv: Any) -> bool:
    if type(av) is dict and len(av) == 1:
        s = av.get("S")
        if type(s) is not str:
            return False
        low = s.lower()
        if type(rv) is uuid.UUID:
            return low == str(rv)
        # the checker reads uuid columns as PostgreSQL's text (lower-case): one comparison, then the
        # check canon_dynamo makes (a text column mapped as uuid may hold anything)
        return type(rv) is str and (low == rv or low == rv.lower()) and is_uuid_text(low)
    return av is None and rv is None


def _same_number_text(n: Any, rv: Any, integer: bool) -> bool:
    """The N text is the row number's own text: one value, valid in DynamoDB's 38 digits."""
    if type(n) is not str or len(n) > 38:
        return False
    if type(rv) is int:
        return n == str(rv)
    if type(rv) is Decimal and not integer:
        return rv.is_finite() and -100 < rv.adjusted() < 100 and n == str(rv)
    return False


def _same_integer(av: Any, rv: Any) -> bool:
    if type(av) is dict and len(av) == 1:
        return _same_number_text(av.get("N"), rv, True)
    return av is None and rv is None


def _same_decimal(av: Any, rv: Any) -> bool:
    if type(av) is dict and len(av) == 1:
        return _same_number_text(av.get("N"), rv, False)
    return av is None and rv is None


def _same_boolean(av: Any, rv: Any) -> bool:
    if type(av) is dict and len(av) == 1:
        b = av.get("BOOL")
        return type(b) is bool and b is rv
    return av is None and rv is None


def _same_timestamp(spec: ColumnSpec) -> Same:
    precision = spec.precision

    def same(av: Any, rv: Any) -> bool:
        if type(av) is dict and len(av) == 1:
            s = av.get("S")
            if type(s) is not str or type(rv) is not datetime:
                return False
            try:
                moment = datetime.fromisoformat(s)
            except ValueError:
                return False
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            other = rv if rv.tzinfo is not None else rv.replace(tzinfo=UTC)
            if moment == other:  # the same instant: the same units at any precision
                return True
            return timestamp_units(moment, precision) == timestamp_units(other, precision)
        return av is None and rv is None

    return same


def _same_json_tree(av: Any, rv: Any) -> bool:
    """A typed DynamoDB value and a JSON value (as psycopg decodes jsonb) are the same tree.

    Dispatches on the JSON value's exact type, so each node costs one lookup in the typed value.
    """
    if type(av) is not dict or len(av) != 1:
        return False
    kind = type(rv)
    if kind is str:
        return av.get("S") == rv and type(av["S"]) is str
    if kind is dict:
        inner = av.get("M")
        if type(inner) is not dict or len(inner) != len(rv):
            return False
        for name, value in inner.items():
            if type(name) is not str or name not in rv or not _same_json_tree(value, rv[name]):
                return False
        return True
    if kind is list:
        items = av.get("L")
        if type(items) is not list or len(items) != len(rv):
            return False
        for a, b in zip(items, rv, strict=True):  # noqa: SIM110 - faster than all(genexpr)
            if not _same_json_tree(a, b):
                return False
        return True
    if kind is Decimal or kind is int:
        return _same_number_text(av.get("N"), rv, False)
    if kind is bool:
        b = av.get("BOOL")
        return type(b) is bool and b is rv
    if rv is None:
        return "NULL" in av
    return False


def _same_json(av: Any, rv: Any) -> bool:
    if type(av) is dict and len(av) == 1:
        if "S" in av:  # a json column kept as a string attribute: parsed on the canonical path
            return False
        return _same_json_tree(av, rv)
    return av is None and rv is None


def _same_list(av: Any, rv: Any) -> bool:
    if type(av) is dict and len(av) == 1:
        return "L" in av and _same_json_tree(av, rv)
    return av is None and rv is None


def _same_string_set(av: Any, rv: Any) -> bool:
    if type(av) is dict and len(av) == 1:
        members = av.get("SS")
        if type(members) is not list or not members or type(rv) is not list:
            return False
        return all(type(m) is str for m in members) and frozenset(members) == frozenset(rv)
    return av is None and (rv is None or (type(rv) is list and not rv))  # an empty array is NULL


def _same_binary(av: Any, rv: Any) -> bool:
    if type(av) is dict and len(av) == 1:
        b = av.get("B")  # bytes from boto3; base64 text from stream JSON goes the canonical way
        return type(b) is bytes and type(rv) is bytes and b == rv
    return av is None and rv is None


_SAME: dict[str, Same] = {
    "string": _same_string,
    "uuid": _same_uuid,
    "integer": _same_integer,
    "decimal": _same_decimal,
    "boolean": _same_boolean,
    "json": _same_json,
    "list": _same_list,
    "string_set": _same_string_set,
    "binary": _same_binary,
}

Plan = tuple[tuple[str, str, Same], ...]
_plans: dict[int, tuple[EntityConfig, Plan]] = {}


def _plan(entity: EntityConfig) -> Plan:
    """(column, attribute, test) for every mapped column, built once per entity config."""
    cached = _plans.get(id(entity))
    if cached is not None and cached[0] is entity:
        return cached[1]
    plan = tuple(
        (
            column,
            spec.attribute,
            _same_timestamp(spec) if spec.type == "timestamp" else _SAME.get(spec.type, _absent),
        )
        for column, spec in entity.all_columns.items()
        if spec.compare  # a column that is never compared cannot make a pair unequal
    )
    if len(_plans) > 256:  # configs are few; tests build many
        _plans.clear()
    _plans[id(entity)] = (entity, plan)
    return plan


def surely_equal(entity: EntityConfig, item: Item, row: Row) -> bool:
    """True when every mapped column is certainly equal in canonical form (False: not sure)."""
    for column, attribute, same in _plan(entity):  # noqa: SIM110 - a plain loop is faster than all(genexpr)
        if not same(item.get(attribute), row.get(column)):
            return False
    return True
