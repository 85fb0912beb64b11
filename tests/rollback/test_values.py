"""Pure tests: converting an attribute to a column value round-trips through the canonical forms."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from parity.canonical import canon_dynamo, canon_postgres
from parity.config import ColumnSpec
from parity.errors import InputError
from rollback.values import to_postgres

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
