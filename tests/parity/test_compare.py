"""Verdicts and entity mapping on whole items and rows."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from parity.compare import Verdict, compare
from parity.config import parse_config
from parity.errors import DecodeError
from parity.mapping import item_key, key_from_json, key_id, key_to_json, match_entity, render_item_key, row_key

CONFIG = parse_config(
    {
        "dynamodb": {"table": "app"},
        "entity": [
            {
                "name": "session",
                "table": "public.sessions",
                "match": {"__edb_e__": "session"},
                "key": {"id": {"attribute": "sessionId", "type": "uuid"}},
                "item_key": {"pk": "$app#campaign_{campaign_id}", "sk": "$session_1#id_{id}"},
                "version": "updated_at",
                "columns": {
                    "campaign_id": {"attribute": "campaignId", "type": "uuid"},
                    "name": "name",
                    "score": {"attribute": "score", "type": "decimal"},
                    "updated_at": {"attribute": "updatedAt", "type": "timestamp"},
                },
            },
            {
                "name": "line",
                "table": "lines",
                "match": {"__edb_e__": "line"},
                "key": {"order_id": {"attribute": "orderId", "type": "integer"}, "sku": "sku"},
            },
        ],
    }
)
SESSION = CONFIG.entity[0]
SID = "4F1C2D3E-0000-4000-8000-000000000001"
ITEM = {
    "pk": {"S": "$app#campaign_x"},
    "__edb_e__": {"S": "session"},
    "sessionId": {"S": SID},
    "campaignId": {"S": "c0ffee00-0000-4000-8000-000000000000"},
    "name": {"S": "Kickoff"},
    "score": {"N": "1.50"},
    "updatedAt": {"S": "2024-05-01T10:00:00Z"},
}
ROW = {
    "id": SID.lower(),
    "campaign_id": "C0FFEE00-0000-4000-8000-000000000000",
    "name": "Kickoff",
    "score": Decimal("1.5"),
    "updated_at": datetime(2024, 5, 1, 10, 0, tzinfo=UTC),
}


def test_equal_after_canonical_forms() -> None:
    assert compare(SESSION, ITEM, ROW).verdict is Verdict.MATCH


def test_mismatched_lists_columns_in_config_order() -> None:
    row = {**ROW, "name": "Kick-off", "score": Decimal("2")}
    result = compare(SESSION, ITEM, row)
    assert result.verdict is Verdict.MISMATCHED
    assert result.columns == ("name", "score")


def test_missing_on_either_side() -> None:
    assert compare(SESSION, ITEM, None).verdict is Verdict.MISSING_IN_POSTGRES
    assert compare(SESSION, None, ROW).verdict is Verdict.MISSING_IN_DYNAMODB
    assert compare(SESSION, None, None).verdict is Verdict.MATCH


def test_wrong_dynamodb_type_is_a_named_mismatch() -> None:
    item = {**ITEM, "score": {"S": "1.5"}}
    result = compare(SESSION, item, ROW)
    assert (result.verdict, result.columns) == (Verdict.MISMATCHED, ("score",))


def test_unmapped_attributes_are_never_compared() -> None:
    item = {**ITEM, "pk": {"S": "different"}, "gsi1pk": {"S": "x"}, "__edb_v__": {"S": "2"}}
    assert compare(SESSION, item, ROW).verdict is Verdict.MATCH


def test_match_entity() -> None:
    assert match_entity(CONFIG.entity, ITEM) is SESSION
    assert match_entity(CONFIG.entity, {"__edb_e__": {"S": "other"}}) is None
    assert match_entity(CONFIG.entity, {"__edb_e__": {"N": "1"}}) is None


def test_keys_join_item_and_row() -> None:
    assert item_key(SESSION, ITEM) == row_key(SESSION, ROW)
    assert key_to_json(SESSION, item_key(SESSION, ITEM)) == {"id": SID.lower()}
    assert key_from_json(SESSION, {"id": SID}) == item_key(SESSION, ITEM)


def test_composite_integer_key() -> None:
    line = CONFIG.entity[1]
    key = item_key(line, {"orderId": {"N": "7"}, "sku": {"S": "A-1"}})
    assert key_to_json(line, key) == {"order_id": 7, "sku": "A-1"}
    assert key == row_key(line, {"order_id": 7, "sku": "A-1"})
    assert key_id(line, key) == '{"order_id":7,"sku":"A-1"}'


def test_missing_key_attribute_is_a_decode_error() -> None:
    with pytest.raises(DecodeError, match="sessionId"):
        item_key(SESSION, {"__edb_e__": {"S": "session"}})


def test_render_item_key_from_row_values() -> None:
    from parity.mapping import canonical_row

    rendered = render_item_key(SESSION, canonical_row(SESSION, ROW))
    assert rendered == {
        "pk": {"S": "$app#campaign_c0ffee00-0000-4000-8000-000000000000"},
        "sk": {"S": f"$session_1#id_{SID.lower()}"},
    }
