"""The sure-equal shortcut of ``compare`` never disagrees with the canonical comparison.

For every column type, pairs of (DynamoDB attribute, PostgreSQL value) - the ordinary ones and the
awkward ones (NULLs, wrong types, 1.50 vs 1.5, offsets, NaN, 39-digit numbers, JSON kept as a
string, sets) - are judged both ways; the shortcut may only say "equal" where canonical forms are
equal, and must say so for the ordinary equal pairs (else it saves nothing).
"""

from __future__ import annotations

import itertools
import random
import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from parity.compare import MATCH, compare, compare_canonical, surely_equal
from parity.config import EntityConfig, parse_config
from parity.mapping import canonical_item, canonical_row

U = "4f1c2d3e-0000-4000-8000-000000000001"
MOMENT = datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=UTC)

# type -> (attribute values, row values); every combination is judged
CASES: dict[str, tuple[list[Any], list[Any]]] = {
    "string": (
        [None, {"NULL": True}, {"S": "x"}, {"S": ""}, {"S": "X"}, {"N": "1"}, {"S": "x", "N": "1"}, {"SS": ["x"]}],
        [None, "x", "", "X", " x", 1, ["x"]],
    ),
    "uuid": (
        [None, {"S": U}, {"S": U.upper()}, {"S": "not-a-uuid"}, {"N": "1"}, {"NULL": True}],
        [None, uuid.UUID(U), U, U.upper(), "not-a-uuid", "NOT-A-UUID", uuid.uuid4(), 5],
    ),
    "integer": (
        [None, {"N": "1"}, {"N": "1.0"}, {"N": "1.5"}, {"N": "-7"}, {"N": "1E+2"}, {"N": "1" * 39}, {"S": "1"}],
        [None, 1, -7, 100, Decimal("1"), Decimal("1.5"), Decimal("1.0"), int("1" * 39), True, 1.0, "1"],
    ),
    "decimal": (
        [
            None,
            {"N": "1.5"},
            {"N": "1.50"},
            {"N": "100"},
            {"N": "1E+2"},
            {"N": "NaN"},
            {"N": "Infinity"},
            {"N": "0"},
            {"N": "-0"},
            {"N": "1E-200"},
            {"N": "1" * 39},
            {"BOOL": True},
        ],
        [
            None,
            Decimal("1.5"),
            Decimal("1.50"),
            Decimal("1E+2"),
            Decimal("100"),
            Decimal("NaN"),
            Decimal("Infinity"),
            Decimal("-0"),
            Decimal("1E-200"),
            Decimal("1" * 39),
            100,
            0,
            1.5,
            True,
        ],
    ),
    "boolean": ([None, {"BOOL": True}, {"BOOL": False}, {"BOOL": 1}, {"N": "1"}], [None, True, False, 1, 0]),
    "timestamp": (
        [
            None,
            {"S": "2024-05-01T10:00:00.123456Z"},
            {"S": "2024-05-01T10:00:00.123Z"},
            {"S": "2024-05-01T12:00:00.123456+02:00"},
            {"S": "2024-05-01T10:00:00.123456"},
            {"S": "2024-05-01T10:00:00.124Z"},
            {"S": "yesterday"},
            {"N": "1714557600"},
        ],
        [
            None,
            MOMENT,
            MOMENT.replace(tzinfo=None),
            MOMENT.astimezone(timezone(timedelta(hours=-5))),
            MOMENT.replace(microsecond=123000),
            MOMENT + timedelta(milliseconds=1),
            "2024-05-01T10:00:00.123456Z",
        ],
    ),
    "json": (
        [
            None,
            {"NULL": True},
            {"M": {"a": {"N": "1"}, "b": {"L": [{"S": "x"}, {"BOOL": True}, {"NULL": True}]}}},
            {"M": {"b": {"L": [{"S": "x"}, {"BOOL": True}, {"NULL": True}]}, "a": {"N": "1.0"}}},
            {"M": {"a": {"BOOL": True}}},
            {"M": {"a": {"SS": ["y", "x"]}}},
            {"S": '{"a": 1}'},
            {"L": [{"N": "1"}, {"N": "2"}]},
            {"N": "3"},
            {"S": "plain"},
        ],
        [
            None,
            {"a": Decimal("1"), "b": ["x", True, None]},
            {"b": ["x", True, None], "a": Decimal("1")},
            {"a": Decimal("1"), "b": ["x", True]},
            {"a": True},
            {"a": Decimal("1")},
            {"a": ["x", "y"]},
            [Decimal("1"), Decimal("2")],
            [Decimal("2"), Decimal("1")],
            Decimal("3"),
            '{"a": 1}',
            "plain",
        ],
    ),
    "list": (
        [None, {"L": [{"S": "x"}, {"N": "2"}]}, {"L": []}, {"S": "[]"}, {"M": {}}],
        [None, ["x", Decimal("2")], ["x", 2], [], "[]", {}, ("x", Decimal("2"))],
    ),
    "string_set": (
        [None, {"SS": ["a", "b"]}, {"SS": ["b", "a"]}, {"SS": []}, {"SS": [1, 2]}, {"L": [{"S": "a"}, {"S": "b"}]}],
        [None, ["a", "b"], ["b", "a", "a"], [], [1, 2], ["a"], "a"],
    ),
    "binary": ([None, {"B": "AAE="}, {"B": b"\x00\x01"}], [None, b"\x00\x01", bytearray(b"\x00\x01"), b""]),
}


def _entity(kind: str) -> EntityConfig:
    spec: dict[str, Any] = {"attribute": "v", "type": kind}
    config = parse_config(
        {
            "dynamodb": {"table": "app"},
            "entity": [{"name": "e", "table": "t", "match": {"t": "e"}, "key": {"id": "id"}, "columns": {"v": spec}}],
        }
    )
    return config.entity[0]


def _canonical_verdict(entity: EntityConfig, item: dict[str, Any], row: dict[str, Any]) -> Any:
    return compare_canonical(entity, canonical_item(entity, item), canonical_row(entity, row))


@pytest.mark.parametrize("kind", sorted(CASES))
def test_shortcut_agrees_with_canonical_forms(kind: str) -> None:
    entity = _entity(kind)
    attributes, values = CASES[kind]
    shortcuts = 0
    for av, rv in itertools.product(attributes, values):
        item = {"id": {"S": "k"}} if av is None else {"id": {"S": "k"}, "v": av}
        row = {"id": "k", "v": rv}
        canonical = _canonical_verdict(entity, item, row)
        if surely_equal(entity, item, row):
            shortcuts += 1
            assert canonical == MATCH, (kind, av, rv)
        assert compare(entity, item, row) == canonical, (kind, av, rv)
    assert shortcuts >= 2, f"the {kind} shortcut never fired"


def test_ordinary_equal_values_take_the_shortcut() -> None:
    equal = {
        "string": ({"S": "x"}, "x"),
        "uuid": ({"S": U.upper()}, uuid.UUID(U)),
        "integer": ({"N": "42"}, 42),
        "decimal": ({"N": "1.5"}, Decimal("1.5")),
        "boolean": ({"BOOL": False}, False),
        "timestamp": ({"S": "2024-05-01T10:00:00.123456Z"}, MOMENT),
        "json": ({"M": {"a": {"L": [{"N": "1"}, {"S": "x"}]}}}, {"a": [Decimal("1"), "x"]}),
        "list": ({"L": [{"S": "x"}]}, ["x"]),
        "string_set": ({"SS": ["b", "a"]}, ["a", "b"]),
    }
    for kind, (av, rv) in equal.items():
        entity = _entity(kind)
        assert surely_equal(entity, {"id": {"S": "k"}, "v": av}, {"id": "k", "v": rv}), kind


def _random_json(rng: random.Random, depth: int = 0) -> Any:
    choice = rng.randrange(7 if depth < 3 else 4)
    if choice == 0:
        return rng.choice(["a", "b", "", "A"])
    if choice == 1:
        return Decimal(rng.choice(["1", "1.0", "2", "-3.5", "1E+2", "100"]))
    if choice == 2:
        return rng.choice([True, False])
    if choice == 3:
        return None
    if choice in (4, 5):
        return {rng.choice("abc"): _random_json(rng, depth + 1) for _ in range(rng.randrange(3))}
    return [_random_json(rng, depth + 1) for _ in range(rng.randrange(3))]


def _typed(value: Any) -> dict[str, Any]:
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, Decimal):
        return {"N": str(value)}
    if isinstance(value, dict):
        return {"M": {k: _typed(v) for k, v in value.items()}}
    return {"L": [_typed(v) for v in value]}


def test_random_json_trees_agree() -> None:
    rng = random.Random(7)
    entity = _entity("json")
    fired = 0
    for _ in range(3000):
        left, right = _random_json(rng), _random_json(rng)
        for av, rv in ((_typed(left), left), (_typed(left), right)):
            item, row = {"id": {"S": "k"}, "v": av}, {"id": "k", "v": rv}
            canonical = _canonical_verdict(entity, item, row)
            if surely_equal(entity, item, row):
                fired += 1
                assert canonical == MATCH, (av, rv)
            assert compare(entity, item, row) == canonical
    assert fired > 1000
