"""The DynamoDB JSON decoder: what DynamoDB can hold is decoded exactly, anything else is a DecodeError.

Explicit cases for each malformed shape seen in the wild, then property tests (hypothesis) against
boto3's ``TypeDeserializer`` (the reference for what a valid value decodes to) and DynamoDB's
documented number rules (38 significant digits, 1E-130 <= |n| <= 9.99...E+125, large values
spelled out with trailing zeros).
"""

from __future__ import annotations

import contextlib
from decimal import Context, Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import Binary, TypeDeserializer
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from parity.dynamo_json import MAX_DEPTH, decode_number, deserialize, deserialize_item
from parity.errors import DecodeError

BOTO3 = TypeDeserializer()


@pytest.mark.parametrize(
    "value",
    [
        {"S": None},
        {"S": 5},
        {"BOOL": "false"},
        {"BOOL": 0},
        {"N": None},
        {"N": 5},
        {"N": "NaN"},
        {"N": "Infinity"},
        {"N": "abc"},
        {"N": " 1"},
        {"N": "1_000"},
        {"N": "١٢"},  # Arabic-Indic digits: Decimal() takes them, DynamoDB does not
        {"B": 5},
        {"B": -1},
        {"B": None},
        {"B": "not base64!"},
        {"SS": "abc"},
        {"SS": [1, 2]},
        {"NS": "12"},
        {"NS": ["1", "x"]},
        {"BS": "AA=="},
        {"M": []},
        {"M": "x"},
        {"L": None},
        {"L": {"a": {"S": "x"}}},
        {"NULL": False},
        {"NULL": "yes"},
        {"X": "y"},
        {"S": "a", "N": "1"},
        {},
        [],
        "x",
        None,
    ],
    ids=repr,
)
def test_malformed_values_are_decode_errors_not_guesses(value: Any) -> None:
    with pytest.raises(DecodeError):
        deserialize(value)


def _nested(depth: int, tag: str = "M") -> dict[str, Any]:
    value: dict[str, Any] = {"S": "leaf"}
    for _ in range(depth):
        value = {"M": {"x": value}} if tag == "M" else {"L": [value]}
    return value


@pytest.mark.parametrize("tag", ["M", "L"])
def test_nesting_up_to_dynamodb_limit_decodes_and_deeper_is_a_decode_error(tag: str) -> None:
    assert deserialize(_nested(MAX_DEPTH, tag)) is not None
    with pytest.raises(DecodeError, match="32 levels"):
        deserialize(_nested(MAX_DEPTH + 1, tag))
    with pytest.raises(DecodeError, match="32 levels"):
        deserialize(_nested(3000, tag))  # never a RecursionError


def test_an_item_that_is_not_an_object_is_a_decode_error() -> None:
    for item in ([], "x", 5, None):
        with pytest.raises(DecodeError):
            deserialize_item(item)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1" + "0" * 39, Decimal("1E+39")),  # how DynamoDB returns 1E+39: a 40-digit string
        ("9" * 38 + "0" * 88, Decimal("9" * 38 + "E+88")),  # 9.99..E+125 spelled out (126 digits)
        ("0." + "0" * 129 + "1", Decimal("1E-130")),
        ("-0.00", Decimal(0)),
        ("1.50", Decimal("1.5")),
        ("1.2345678901234567890123456789012345678E-100", Decimal("1.2345678901234567890123456789012345678E-100")),
    ],
)
def test_every_number_dynamodb_returns_is_accepted_exactly(text: str, value: Decimal) -> None:
    assert decode_number(text) == value


@pytest.mark.parametrize(
    "text",
    [
        "1" * 39,  # 39 significant digits
        "1" * 38 + "0.1",
        "1E-131",
        "0." + "0" * 130 + "1",
        "1E+126",
        "1" + "0" * 126,
        "-1E+126",
    ],
)
def test_numbers_dynamodb_cannot_hold_are_refused(text: str) -> None:
    with pytest.raises(DecodeError):
        decode_number(text)


# --- properties --------------------------------------------------------------------------------

_exact = Context(prec=200)


@st.composite
def dynamodb_numbers(draw: st.DrawFn) -> tuple[Decimal, str]:
    """A number DynamoDB can hold, and one of the ways it may be spelled."""
    digits = draw(st.integers(min_value=1, max_value=38))
    coefficient = draw(st.integers(min_value=10 ** (digits - 1), max_value=10**digits - 1))
    adjusted = draw(st.integers(min_value=-130, max_value=125))
    sign = draw(st.sampled_from(["", "-"]))
    value = Decimal(f"{sign}{coefficient}E{adjusted - digits + 1}")
    spelling = draw(st.sampled_from(["str", "fixed", "sci", "trailing"]))
    if spelling == "str":
        text = str(value)
    elif spelling == "fixed":  # spelled out: trailing zeros for large values, leading zeros for small ones
        text = format(value, "f")
    elif spelling == "sci":
        text = format(value, "e")
    else:
        text = format(value, "f") + ("" if "." in format(value, "f") else ".") + "000"
    return value, text


@given(dynamodb_numbers())
def test_numbers_dynamodb_holds_decode_exactly_and_agree_with_boto3(case: tuple[Decimal, str]) -> None:
    value, text = case
    decoded = decode_number(text)
    assert decoded == value
    assert decoded.compare_total(_exact.create_decimal(text)) == 0  # digit for digit, not only equal
    try:
        reference = BOTO3.deserialize({"N": text})
    except Exception:  # boto3 refuses spelled-out values over 38 digits: DynamoDB's rules decide those
        return
    assert decoded == reference


@st.composite
def impossible_numbers(draw: st.DrawFn) -> str:
    """A number DynamoDB cannot hold: too many significant digits, or out of range."""
    if draw(st.booleans()):
        digits = draw(st.integers(min_value=39, max_value=60))
        coefficient = draw(st.integers(min_value=10 ** (digits - 1), max_value=10**digits - 1).filter(lambda c: c % 10))
        adjusted = draw(st.integers(min_value=-100, max_value=100))
    else:
        digits = draw(st.integers(min_value=1, max_value=38))
        coefficient = draw(st.integers(min_value=10 ** (digits - 1), max_value=10**digits - 1))
        adjusted = draw(st.one_of(st.integers(min_value=126, max_value=10**6), st.integers(-(10**6), -131)))
    text = str(Decimal(f"{coefficient}E{adjusted - digits + 1}"))
    return text if draw(st.booleans()) or abs(adjusted) > 400 else format(Decimal(text), "f")


@given(impossible_numbers())
def test_numbers_dynamodb_cannot_hold_are_always_refused(text: str) -> None:
    with pytest.raises(DecodeError):
        decode_number(text)


_names = st.text(min_size=1, max_size=5)
_scalars = st.one_of(
    st.builds(lambda s: {"S": s}, st.text(max_size=20)),
    st.builds(lambda n: {"N": str(n[0])}, dynamodb_numbers()),  # as DynamoDB writes it (boto3 takes <= 38 digits)
    st.builds(lambda b: {"B": b}, st.binary(max_size=20)),
    st.builds(lambda b: {"BOOL": b}, st.booleans()),
    st.just({"NULL": True}),
    st.builds(lambda s: {"SS": sorted(s)}, st.sets(st.text(max_size=8), min_size=1, max_size=4)),
    st.builds(lambda s: {"NS": [str(v) for v in s]}, st.sets(st.integers(-(10**12), 10**12), min_size=1, max_size=4)),
    st.builds(lambda s: {"BS": sorted(s)}, st.sets(st.binary(max_size=8), min_size=1, max_size=4)),
)
attribute_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.builds(lambda v: {"L": v}, st.lists(inner, max_size=4)),
        st.builds(lambda v: {"M": v}, st.dictionaries(_names, inner, max_size=4)),
    ),
    max_leaves=20,
)


def _plain(value: Any) -> Any:
    """boto3's result in parity's shapes: Binary -> bytes, set -> frozenset."""
    if isinstance(value, Binary):
        return value.value
    if isinstance(value, set):
        return frozenset(_plain(v) for v in value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


@given(attribute_values)
@settings(max_examples=300)
def test_valid_values_decode_like_boto3(value: dict[str, Any]) -> None:
    try:
        reference = BOTO3.deserialize(value)
    except ArithmeticError:  # boto3's context rounds some tiny numbers DynamoDB holds (1.0...0E-130)
        assume(False)
    assert deserialize(value) == _plain(reference)


json_like = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=10), st.binary(max_size=5)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=3)),
    max_leaves=15,
)
_tags = st.sampled_from(["S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS"])
anything = st.one_of(json_like, st.builds(lambda t, v: {t: v}, _tags, json_like))


@given(anything)
@settings(max_examples=500)
def test_anything_decodes_or_is_a_decode_error(value: Any) -> None:
    with contextlib.suppress(DecodeError):
        deserialize(value)  # anything else escaping fails the test
