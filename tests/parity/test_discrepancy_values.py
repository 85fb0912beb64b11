"""What each store holds, on a discrepancy (docs/reference.md §5): shapes per kind, exact values, redaction."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from decimal import Decimal

from parity.compare import Comparison, Verdict, compare_canonical, discrepancy_values
from parity.config import parse_config
from parity.mapping import canonical_item, canonical_row

CONFIG = parse_config(
    {
        "dynamodb": {"table": "app"},
        "entity": [
            {
                "name": "user",
                "table": "users",
                "match": {"__edb_e__": "user"},
                "key": {"id": {"attribute": "userId", "type": "uuid"}},
                "columns": {
                    "email": {"attribute": "email", "redact": True},
                    "score": {"attribute": "score", "type": "decimal"},
                    "tags": {"attribute": "tags", "type": "string_set"},
                    "seen": {"attribute": "seen", "type": "timestamp"},
                },
            }
        ],
    }
)
ENTITY = CONFIG.entity[0]
ID = "4F1C0000-0000-4000-8000-000000000001"
ITEM = {
    "__edb_e__": {"S": "user"},
    "userId": {"S": ID},
    "email": {"S": "ana@example.com"},
    "score": {"N": "1.50"},
    "tags": {"SS": ["b", "a"]},
    "seen": {"S": "2026-11-30T07:00:00+01:00"},
}
ROW = {
    "id": ID.lower(),
    "email": "ana@example.org",
    "score": Decimal("2"),
    "tags": ["a", "b"],
    "seen": datetime(2026, 11, 30, 6, 0, tzinfo=UTC),
}


def _hash(value: str) -> str:
    return "redacted:" + hashlib.sha256(f'"{value}"'.encode()).hexdigest()[:12]


def test_mismatched_shows_both_sides_of_each_differing_column_redacted_where_set() -> None:
    item, row = canonical_item(ENTITY, ITEM), canonical_row(ENTITY, ROW)
    result = compare_canonical(ENTITY, item, row)
    assert result == Comparison(Verdict.MISMATCHED, ("email", "score"))
    values = discrepancy_values(ENTITY, result, item, row)
    assert values == {
        "email": {"dynamodb": _hash("ana@example.com"), "postgres": _hash("ana@example.org")},
        "score": {"dynamodb": "1.5", "postgres": 2},
    }
    assert "ana@" not in repr(values)


def test_missing_ones_show_every_mapped_column_of_the_side_that_has_it() -> None:
    item, row = canonical_item(ENTITY, ITEM), canonical_row(ENTITY, ROW)
    in_ddb = discrepancy_values(ENTITY, Comparison(Verdict.MISSING_IN_POSTGRES), item, None)
    assert in_ddb == {
        "dynamodb": {
            "id": ID.lower(),
            "email": _hash("ana@example.com"),
            "score": "1.5",
            "tags": ["a", "b"],
            "seen": "2026-11-30T06:00:00Z",
        }
    }
    in_pg = discrepancy_values(ENTITY, Comparison(Verdict.MISSING_IN_DYNAMODB), None, row)
    assert in_pg["postgres"]["email"] == _hash("ana@example.org")
    assert in_pg["postgres"]["score"] == 2 and in_pg["postgres"]["tags"] == ["a", "b"]
    # equal values show the same marker: equality stays visible
    same = canonical_row(ENTITY, {**ROW, "email": "ana@example.com"})
    assert (
        discrepancy_values(ENTITY, Comparison(Verdict.MISSING_IN_DYNAMODB), None, same)["postgres"]["email"]
        == (in_ddb["dynamodb"]["email"])
    )
    assert discrepancy_values(ENTITY, Comparison(Verdict.MATCH), item, row) == {}
