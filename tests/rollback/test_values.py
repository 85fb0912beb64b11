"""Pure tests: converting an attribute to a column value round-trips through the canonical forms."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from parity.canonical import canon_dynamo, canon_postgres
from parity.config import ColumnSpec
from parity.errors import InputError
from parity.rollback.values import item_to_row, to_postgres

CASES = [
    (ColumnSpec(attribute="a"), {"S": "hi "}),
    (ColumnSpec(attribute="a", type="uuid"), {"S": "4F1C0000-0000-0000-0000-000000000001"}),
    (ColumnSpec(attribute="a", type="integer"), {"N": "42"}),
    (ColumnSpec(attribute="a", type="decimal"), {"N": "1.50"}),
    (ColumnSpec(attribute="a", type="boolean"), {"BOOL": True}),
    (ColumnSpec(attribute="a", type="timestamp"), {"S": "2026-11-25T08:00:00.123+02:00"}),
    (ColumnSpec(attribute="a", type="timestamp", unit="ms"), {"N": "1764057600123"}),
    (ColumnSpec(attribute="a", type="json"), {"M": {"x": {"N": "1.5"}, "y": {"L": [{"S": "z"}]}}}),
    (ColumnSpec(attribute="a", type="string_set"), {"SS": ["b", "a"]}),
    (ColumnSpec(attribute="a", type="binary"), {"B": "aGVsbG8="}),
]


@pytest.mark.parametrize(("spec", "value"), CASES)
def test_round_trip_matches_canonical(spec: ColumnSpec, value: dict) -> None:
    assert canon_postgres(spec, to_postgres(spec, value)) == canon_dynamo(spec, value)


def test_types() -> None:
    assert isinstance(to_postgres(ColumnSpec(attribute="a", type="uuid"), {"S": str(uuid.uuid4())}), uuid.UUID)
    assert to_postgres(ColumnSpec(attribute="a", type="decimal"), {"N": "1.50"}) == Decimal("1.5")
    assert to_postgres(ColumnSpec(attribute="a"), {"NULL": True}) is None
    assert to_postgres(ColumnSpec(attribute="a"), None) is None


def test_wrong_type_is_refused() -> None:
    with pytest.raises(InputError, match="'a'"):
        to_postgres(ColumnSpec(attribute="a", type="integer"), {"S": "x"})


def test_item_to_row_matches_compare() -> None:
    """Every example item (all column types) turned into a row compares as a match."""
    from pathlib import Path

    from parity.compare import compare
    from parity.config import load_config
    from parity.local.example import generate

    config = load_config(Path(__file__).parents[2] / "parity" / "local" / "example.toml")
    checked = 0
    for campaign in generate(2, 3):
        for session in campaign.sessions:
            for entity in config.entity:
                if entity.name == "session":
                    item = session.item()
                    assert compare(entity, item, item_to_row(entity, item)).verdict.value == "match"
                    checked += 1
    assert checked == 6


def test_a_timestamp_beyond_year_9999_is_an_input_error_not_a_crash() -> None:
    spec = ColumnSpec(attribute="updatedAt", type="timestamp", unit="ms")
    with pytest.raises(
        InputError, match=r"attribute 'updatedAt': .*1E\+20 ms since the epoch is (beyond|outside) the years"
    ):
        to_postgres(spec, {"N": "1E+20"})
