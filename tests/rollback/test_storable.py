"""Pure tests of which values a PostgreSQL column type cannot hold (parity.rollback.storable)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from parity.rollback.storable import why_unstorable


@pytest.mark.parametrize(
    ("sql_type", "value", "reason"),
    [
        ("text", "a\x00b", "text cannot hold U+0000"),
        ("character varying(20)", "\x00", "character varying cannot hold U+0000"),
        ("character varying(3)", "abcd", "4 characters exceed character varying(3)"),
        ("character(2)", "abc", "3 characters exceed character(2)"),
        ("text[]", ["ok", "no\x00"], "an element: text cannot hold U+0000"),
        ("jsonb", {"a": [1, {"b": "x\x00"}]}, "jsonb cannot hold U+0000 (\\u0000) in a string"),
        ("jsonb", {"k\x00": 1}, "jsonb cannot hold U+0000"),
        ("jsonb", "plain\x00string", "jsonb cannot hold U+0000"),
        ("smallint", 32768, "32768 is out of range for smallint"),
        ("integer", 2**31, "2147483648 is out of range for integer"),
        ("integer", -(2**31) - 1, "is out of range for integer"),
        ("bigint", 2**63, "9223372036854775808 is out of range for bigint"),
        ("bigint", Decimal("1E+37"), "is out of range for bigint"),
        ("numeric(14,2)", Decimal("1E+12"), "1E+12 overflows numeric(14,2)"),
        ("numeric(14, 2)", Decimal("999999999999.995"), "overflows numeric(14,2)"),  # rounds up to 10^12
        ("numeric(5,0)", 100000, "overflows numeric(5,0)"),
        ("numeric(3,5)", Decimal("0.01"), "overflows numeric(3,5)"),  # scale > precision: < 0.001 only
        ("real", Decimal("9.99E+125"), "out of range for real"),
    ],
)
def test_unstorable(sql_type: str, value: Any, reason: str) -> None:
    assert reason in why_unstorable(sql_type, value)


@pytest.mark.parametrize(
    ("sql_type", "value"),
    [
        ("text", "ordinary"),
        ("json", {"a": "x\x00"}),  # json keeps its text; the escape \u0000 is valid there
        ("text", None),
        ("character varying(3)", "abc"),
        ("text[]", ["a", "b"]),
        ("jsonb", {"a": [1, "ok"]}),
        ("smallint", -32768),
        ("integer", 2**31 - 1),
        ("bigint", -(2**63)),
        ("numeric(14,2)", Decimal("999999999999.99")),
        ("numeric(14,2)", Decimal("0.001")),  # rounds to 0.00
        ("numeric(14,2)", Decimal("1E-130")),
        ("numeric", Decimal("9.9999999999999999999999999999999999999E+125")),
        ("double precision", Decimal("9.99E+125")),
        ("real", Decimal("1.5")),
        ("boolean", True),
        ("uuid", "4f1c2d3e-0000-4000-8000-000000000001"),
        ("numeric(3,5)", Decimal("0.00999")),
        ("some_domain", 10**40),  # unknown types are PostgreSQL's to judge
    ],
)
def test_storable(sql_type: str, value: Any) -> None:
    assert why_unstorable(sql_type, value) == ""
