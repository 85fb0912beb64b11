"""Malformed and extreme attribute values: the canonical form is the wrong-type marker, never a guess or a crash.

A column holding a value that cannot be brought to its canonical form is reported as mismatched
(``WrongType``); numbers DynamoDB returns spelled out compare exactly with PostgreSQL's numeric.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parity.canonical import WrongType, canon_dynamo, canon_postgres, display_value, to_json_value
from parity.config import ColumnSpec

TYPES = ["string", "integer", "decimal", "boolean", "json", "timestamp", "uuid", "string_set", "list", "binary"]
SPECS = {t: ColumnSpec(attribute="a", type=t) for t in TYPES}  # type: ignore[arg-type]


def _deep_json(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("string", {"S": None}),
        ("string", {"S": 5}),
        ("boolean", {"BOOL": "false"}),
        ("boolean", {"BOOL": 1}),
        ("decimal", {"N": None}),
        ("decimal", {"N": "NaN"}),
        ("decimal", {"N": "1" * 39}),
        ("integer", {"N": "Infinity"}),
        ("binary", {"B": 5}),
        ("binary", {"B": -1}),
        ("string_set", {"SS": "abc"}),
        ("string_set", {"SS": [1]}),
        ("string_set", {"L": None}),
        ("json", {"M": []}),
        ("json", {"L": None}),
        ("json", {"NS": "12"}),
        ("json", {"S": _deep_json(3000)}),  # JSON text nested 3,000 deep
        ("json", {"S": "NaN"}),
        ("list", {"L": [{"B": 5}]}),
        ("timestamp", {"N": "abc"}),
        ("timestamp", {"N": "NaN"}),
        ("timestamp", {"S": "NaN"}),
        ("timestamp", {"N": "1e125"}),  # a number DynamoDB holds, but no year 1-9999
        ("uuid", {"S": ""}),
        ("uuid", {"S": "not-a-uuid"}),
        ("uuid", {"S": None}),
        ("string", {"NULL": False}),
    ],
    ids=repr,
)
def test_malformed_values_are_the_wrong_type_marker(kind: str, value: dict[str, Any]) -> None:
    canon = canon_dynamo(SPECS[kind], value)
    assert isinstance(canon, WrongType), canon
    assert canon != canon
    assert display_value(SPECS[kind], canon) == {"wrong_type": canon.reason}


def test_a_json_map_nested_deeper_than_dynamodb_allows_is_the_wrong_type_marker() -> None:
    value: dict[str, Any] = {"S": "x"}
    for _ in range(3000):
        value = {"M": {"x": value}}
    assert isinstance(canon_dynamo(SPECS["json"], value), WrongType)


def test_postgres_json_nested_too_deep_or_not_finite_is_the_wrong_type_marker() -> None:
    assert isinstance(canon_postgres(SPECS["json"], _deep_json(3000)), WrongType)
    assert isinstance(canon_postgres(SPECS["decimal"], Decimal("NaN")), WrongType)
    assert isinstance(canon_postgres(SPECS["timestamp"], Decimal("1e30")), WrongType)


def test_spelled_out_large_numbers_compare_exactly_with_postgres() -> None:
    spelled = "1" + "0" * 39  # DynamoDB's answer for 1E+39
    assert canon_dynamo(SPECS["decimal"], {"N": spelled}) == canon_postgres(SPECS["decimal"], Decimal("1E+39"))
    assert canon_dynamo(SPECS["integer"], {"N": spelled}) == canon_postgres(SPECS["integer"], 10**39)
    big = "9" * 38 + "0" * 88
    assert canon_dynamo(SPECS["decimal"], {"N": big}) == canon_postgres(SPECS["decimal"], Decimal(big))
    assert to_json_value(SPECS["decimal"], canon_dynamo(SPECS["decimal"], {"N": spelled})) == str(Decimal("1E+39"))


def test_numbers_compare_exactly_beyond_38_digits_on_the_postgres_side() -> None:
    dynamo = canon_dynamo(SPECS["decimal"], {"N": "1" * 38})
    assert dynamo == canon_postgres(SPECS["decimal"], Decimal("1" * 38))
    assert dynamo != canon_postgres(SPECS["decimal"], Decimal("1" * 38 + "1"))  # 39 digits: not rounded to equal
    assert dynamo != canon_postgres(SPECS["decimal"], Decimal("1" * 38 + ".4"))


def test_uuid_spellings_postgres_accepts_compare_equal() -> None:
    canonical = "4f1c2a3b-0000-4000-8000-00000000abcd"
    for spelled in (canonical.upper(), canonical.replace("-", ""), "{" + canonical + "}"):
        assert canon_dynamo(SPECS["uuid"], {"S": spelled}) == canonical


json_like = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=10)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=3)),
    max_leaves=12,
)
_tags = st.sampled_from(["S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS", "Q"])


@given(st.sampled_from(TYPES), st.one_of(json_like, st.builds(lambda t, v: {t: v}, _tags, json_like)))
@settings(max_examples=600)
def test_canon_dynamo_never_raises_and_its_result_can_be_shown(kind: str, value: Any) -> None:
    canon = canon_dynamo(SPECS[kind], value)
    json.dumps(display_value(SPECS[kind], canon), default=str)
