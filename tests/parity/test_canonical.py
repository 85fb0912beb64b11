"""Every comparison rule of docs/reference.md §2, including the traps, on the pure core."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from parity.canonical import WrongType, canon_dynamo, canon_postgres, to_json_value
from parity.config import ColumnSpec


def same(spec: ColumnSpec, dynamo: dict | None, pg: object) -> bool:
    return canon_dynamo(spec, dynamo) == canon_postgres(spec, pg)


DEC = ColumnSpec(attribute="a", type="decimal")
INT = ColumnSpec(attribute="a", type="integer")
TS = ColumnSpec(attribute="a", type="timestamp")
TS_MS = ColumnSpec(attribute="a", type="timestamp", unit="ms")
JSON = ColumnSpec(attribute="a", type="json")
SET = ColumnSpec(attribute="a", type="string_set")
STR = ColumnSpec(attribute="a")
UUID = ColumnSpec(attribute="a", type="uuid")
BOOL = ColumnSpec(attribute="a", type="boolean")
BIN = ColumnSpec(attribute="a", type="binary")
LIST = ColumnSpec(attribute="a", type="list")


class TestNumbers:
    def test_trailing_zeros_are_equal(self) -> None:
        assert same(DEC, {"N": "1.50"}, Decimal("1.5"))
        assert same(DEC, {"N": "1.5"}, Decimal("1.50"))
        assert same(DEC, {"N": "100"}, Decimal("1E+2"))
        assert same(DEC, {"N": "0.0"}, Decimal("0"))
        assert same(DEC, {"N": "-0"}, 0)

    def test_different_numbers_differ(self) -> None:
        assert not same(DEC, {"N": "1.5"}, Decimal("1.51"))

    def test_38_digits_exact_never_float(self) -> None:
        digits = "1234567890123456789012345678901234567.8"
        assert same(DEC, {"N": digits}, Decimal(digits))
        assert not same(DEC, {"N": digits}, Decimal("1234567890123456789012345678901234567.9"))
        # 0.1 + 0.2 through float would be 0.30000000000000004
        assert same(DEC, {"N": "0.3"}, Decimal("0.3"))

    def test_float_from_postgres_uses_its_shortest_repr(self) -> None:
        assert same(DEC, {"N": "0.1"}, 0.1)

    def test_integer_column(self) -> None:
        assert same(INT, {"N": "42"}, 42)
        assert same(INT, {"N": "42.0"}, 42)
        assert isinstance(canon_dynamo(INT, {"N": "42.5"}), WrongType)

    def test_number_beyond_dynamodb_precision_is_wrong_type(self) -> None:
        assert isinstance(canon_dynamo(DEC, {"N": "1" * 39}), WrongType)


class TestTimestamps:
    def test_z_equals_other_zone(self) -> None:
        pg = datetime(2024, 5, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
        assert same(TS, {"S": "2024-05-01T10:00:00Z"}, pg)
        assert same(TS, {"S": "2024-05-01T05:00:00-05:00"}, pg)

    def test_naive_postgres_timestamp_is_utc(self) -> None:
        assert same(TS, {"S": "2024-05-01T10:00:00.000Z"}, datetime(2024, 5, 1, 10, 0))

    def test_microseconds_beyond_precision_are_ignored(self) -> None:
        pg = datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=UTC)
        assert same(TS, {"S": "2024-05-01T10:00:00.123Z"}, pg)
        assert not same(TS, {"S": "2024-05-01T10:00:00.124Z"}, pg)

    def test_precision_us_keeps_microseconds(self) -> None:
        spec = ColumnSpec(attribute="a", type="timestamp", precision="us")
        pg = datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=UTC)
        assert not same(spec, {"S": "2024-05-01T10:00:00.123Z"}, pg)
        assert same(spec, {"S": "2024-05-01T10:00:00.123456Z"}, pg)

    def test_precision_seconds(self) -> None:
        spec = ColumnSpec(attribute="a", type="timestamp", precision="s")
        assert same(spec, {"S": "2024-05-01T10:00:00.999Z"}, datetime(2024, 5, 1, 10, 0, tzinfo=UTC))

    def test_epoch_seconds_and_milliseconds(self) -> None:
        pg = datetime(2024, 5, 1, 10, 0, 0, 250000, tzinfo=UTC)
        seconds = Decimal(int(pg.timestamp())) + Decimal("0.25")
        assert same(TS, {"N": str(seconds)}, pg)
        assert same(TS_MS, {"N": str(int(seconds * 1000))}, pg)
        assert not same(TS, {"N": str(int(seconds * 1000))}, pg)

    def test_before_epoch(self) -> None:
        assert same(TS, {"S": "1969-12-31T23:59:59.999Z"}, datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC))

    def test_garbage_is_wrong_type_not_crash(self) -> None:
        assert isinstance(canon_dynamo(TS, {"S": "yesterday"}), WrongType)
        assert isinstance(canon_dynamo(TS, {"BOOL": True}), WrongType)

    def test_report_form(self) -> None:
        value = canon_dynamo(TS, {"S": "2024-05-01T12:00:00.5+02:00"})
        assert to_json_value(TS, value) == "2024-05-01T10:00:00.500000Z"


class TestJson:
    def test_key_order_never_matters(self) -> None:
        dynamo = {"M": {"b": {"N": "1"}, "a": {"S": "x"}}}
        assert same(JSON, dynamo, {"a": "x", "b": 1})

    def test_numbers_as_decimal(self) -> None:
        assert same(JSON, {"M": {"p": {"N": "1.50"}}}, {"p": Decimal("1.5")})
        assert same(JSON, {"L": [{"N": "2"}]}, [2.0])
        assert not same(JSON, {"M": {"p": {"N": "1.5"}}}, {"p": Decimal("1.6")})

    def test_bool_is_not_a_number(self) -> None:
        assert not same(JSON, {"M": {"p": {"BOOL": True}}}, {"p": 1})

    def test_nested_and_list_order_matters(self) -> None:
        assert same(JSON, {"L": [{"M": {"x": {"NULL": True}}}]}, [{"x": None}])
        assert not same(JSON, {"L": [{"S": "a"}, {"S": "b"}]}, ["b", "a"])

    def test_json_string_from_postgres_json_column(self) -> None:
        assert same(JSON, {"M": {"a": {"N": "1.0"}}}, '{"a": 1}')

    def test_json_kept_as_string_attribute(self) -> None:
        assert same(JSON, {"S": '{"b": 2, "a": 1}'}, {"a": 1, "b": 2})
        assert isinstance(canon_dynamo(JSON, {"S": "not json"}), WrongType)


class TestSetsAndLists:
    def test_set_order_never_matters(self) -> None:
        assert same(SET, {"SS": ["b", "a"]}, ["a", "b"])
        assert same(SET, {"L": [{"S": "b"}, {"S": "a"}]}, ["a", "b"])
        assert not same(SET, {"SS": ["a"]}, ["a", "b"])

    def test_empty_set_is_null(self) -> None:
        assert same(SET, None, [])
        assert same(SET, {"L": []}, None)

    def test_list_order_matters(self) -> None:
        assert same(LIST, {"L": [{"S": "a"}, {"N": "1"}]}, ["a", 1])
        assert not same(LIST, {"L": [{"S": "a"}, {"S": "b"}]}, ["b", "a"])
        assert isinstance(canon_dynamo(LIST, {"S": "a"}), WrongType)


class TestNulls:
    def test_missing_null_and_sql_null_are_equal(self) -> None:
        for spec in (STR, DEC, TS, JSON, SET, UUID, BOOL, BIN):
            assert same(spec, None, None)
            assert same(spec, {"NULL": True}, None)

    def test_empty_string_is_not_null(self) -> None:
        assert not same(STR, {"S": ""}, None)
        assert not same(STR, None, "")
        assert same(STR, {"S": ""}, "")

    def test_strings_exact(self) -> None:
        assert not same(STR, {"S": "Name "}, "Name")
        assert not same(STR, {"S": "name"}, "Name")
        assert same(STR, {"S": "Zoë"}, "Zoë")


class TestScalars:
    def test_uuid_case_insensitive(self) -> None:
        value = uuid.uuid4()
        assert same(UUID, {"S": str(value).upper()}, value)
        assert same(UUID, {"S": str(value)}, str(value).upper())

    def test_boolean(self) -> None:
        assert same(BOOL, {"BOOL": True}, True)
        assert not same(BOOL, {"BOOL": False}, True)
        assert isinstance(canon_dynamo(BOOL, {"S": "true"}), WrongType)

    def test_binary_base64_vs_bytea(self) -> None:
        assert same(BIN, {"B": "AAEC/w=="}, b"\x00\x01\x02\xff")
        assert same(BIN, {"B": b"\x00\x01"}, memoryview(b"\x00\x01"))
        assert isinstance(canon_dynamo(BIN, {"B": "not base64!"}), WrongType)

    def test_wrong_dynamodb_type_never_equals(self) -> None:
        assert not same(STR, {"N": "1"}, "1")
        wrong = canon_dynamo(STR, {"N": "1"})
        assert wrong != wrong

    @pytest.mark.parametrize("bad", [{"X": "1"}, {"S": "a", "N": "1"}, "plain"])
    def test_malformed_attribute_value(self, bad: object) -> None:
        assert isinstance(canon_dynamo(STR, bad), WrongType)  # type: ignore[arg-type]


def test_display_value_redacts_to_a_stable_hash_and_keeps_null() -> None:
    from parity.canonical import display_value

    secret = ColumnSpec(attribute="email", redact=True)
    plain = ColumnSpec(attribute="email")
    shown = display_value(secret, "ada@example.com")
    assert shown.startswith("redacted:") and len(shown) == len("redacted:") + 12
    assert "ada" not in shown
    assert shown == display_value(secret, "ada@example.com")
    assert shown != display_value(secret, "bob@example.com")
    assert display_value(secret, None) is None
    assert display_value(plain, "ada@example.com") == "ada@example.com"
