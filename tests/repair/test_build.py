"""Pure: the item built from a row, and the decision for one key (no I/O)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from parity.compare import compare
from parity.config import EntityConfig, parse_config
from parity.errors import ConfigError, Unbuildable
from parity.repair.build import build_item
from parity.repair.plan import Action, decide

SCHEMA = ("pk", "sk")


def _entity(columns: dict[str, Any], **extra: Any) -> EntityConfig:
    data = {
        "dynamodb": {"table": "app"},
        "entity": [
            {
                "name": "thing",
                "table": "public.things",
                "match": {"__edb_e__": "thing"},
                "key": {"id": {"attribute": "thingId", "type": "uuid"}},
                "version": "updated_at",
                "item_key": {"pk": "$app#thing_{id}", "sk": "$thing_1"},
                "item_attributes": {"gsi1pk": "$app#owner_{owner}", "__edb_v__": "1"},
                "columns": {"owner": "owner", "updated_at": {"attribute": "updatedAt", "type": "timestamp"}, **columns},
                **extra,
            }
        ],
    }
    return parse_config(data).entity[0]


ID = uuid.UUID("3b241101-e2bb-4255-8caf-4136c566a962")
WHEN = datetime(2026, 3, 4, 5, 6, 7, 891234, tzinfo=UTC)


def _row(**values: Any) -> dict[str, Any]:
    return {"id": ID, "owner": "ann", "updated_at": WHEN, **values}


def test_an_item_has_the_match_key_templated_and_mapped_attributes_in_their_types() -> None:
    entity = _entity(
        {
            "amount": {"attribute": "amount", "type": "decimal"},
            "count": {"attribute": "count", "type": "integer"},
            "flags": {"attribute": "flags", "type": "string_set"},
            "meta": {"attribute": "meta", "type": "json"},
            "seen": {"attribute": "seen", "type": "timestamp", "unit": "ms"},
            "blob": {"attribute": "blob", "type": "binary"},
            "on": {"attribute": "on", "type": "boolean"},
            "note": "note",
        }
    )
    row = _row(
        amount=Decimal("12345678901234567890.123456789012345678"),
        count=7,
        flags=["b", "a"],
        meta={"n": Decimal("1.50"), "deep": [True, None, "x"]},
        seen=WHEN,
        blob=b"\x00\x01",
        on=False,
        note=None,
    )
    built = build_item(entity, row, SCHEMA)
    assert built.item == {
        "pk": {"S": f"$app#thing_{ID}"},
        "sk": {"S": "$thing_1"},
        "__edb_e__": {"S": "thing"},
        "__edb_v__": {"S": "1"},
        "gsi1pk": {"S": "$app#owner_ann"},
        "thingId": {"S": str(ID)},
        "owner": {"S": "ann"},
        "updatedAt": {"S": "2026-03-04T05:06:07.891Z"},  # iso by default, at the column's precision
        "amount": {"N": "12345678901234567890.123456789012345678"},  # 38 digits, exact
        "count": {"N": "7"},
        "flags": {"SS": ["a", "b"]},
        "meta": {"M": {"n": {"N": "1.5"}, "deep": {"L": [{"BOOL": True}, {"NULL": True}, {"S": "x"}]}}},
        "seen": {"N": str(int(WHEN.timestamp() * 1000))},  # unit = "ms": epoch milliseconds
        "blob": {"B": b"\x00\x01"},
        "on": {"BOOL": False},
    }  # the NULL note is left out
    assert compare(entity, built.item, row).is_match


def test_format_epoch_in_seconds_keeps_the_precision_and_an_empty_set_is_left_out() -> None:
    entity = _entity(
        {
            "seen": {"attribute": "seen", "type": "timestamp", "format": "epoch"},
            "flags": {"attribute": "flags", "type": "string_set"},
        }
    )
    built = build_item(entity, _row(seen=WHEN, flags=[]), SCHEMA)
    assert built.item["seen"] == {"N": f"{int(WHEN.timestamp())}.891"}
    assert "flags" not in built.item and built.mapped["flags"] is None


@pytest.mark.parametrize(
    ("values", "why"),
    [
        ({"owner": None}, "item_attributes.gsi1pk names column 'owner', which is NULL"),
        ({"amount": Decimal("1" * 39)}, "column 'amount'"),
        ({"meta": {"n": Decimal("1" * 39)}}, "38 significant digits"),
        ({"amount": Decimal("NaN")}, "column 'amount'"),
    ],
)
def test_rows_dynamodb_cannot_hold_are_unbuildable(values: dict[str, Any], why: str) -> None:
    entity = _entity(
        {"amount": {"attribute": "amount", "type": "decimal"}, "meta": {"attribute": "meta", "type": "json"}}
    )
    with pytest.raises(Unbuildable, match=why.replace("(", r"\(")):
        build_item(entity, _row(**values), SCHEMA)
    row = _row(**values)
    reason = "x"
    assert decide(entity, row, None, reason, include_deletes=False).action is Action.UNBUILDABLE


def test_item_attributes_are_validated_like_item_key() -> None:
    with pytest.raises(ConfigError, match=r"item_attributes.gsi1pk names '\{ownr\}'.*did you mean 'owner'"):
        _entity({}, item_attributes={"gsi1pk": "$app#owner_{ownr}"})
    with pytest.raises(ConfigError, match=r"item_attributes\.__edb_e__ is already a match attribute"):
        _entity({}, item_attributes={"__edb_e__": "thing"})
    with pytest.raises(ConfigError, match="'format' applies only to columns of type 'timestamp'"):
        _entity({"note": {"attribute": "note", "format": "iso"}})


def test_decisions() -> None:
    entity = _entity({"note": "note"})
    row = _row(note="right")
    built = build_item(entity, row, SCHEMA)
    item = dict(built.item)
    assert decide(entity, row, None, built, include_deletes=False).action is Action.PUT
    assert decide(entity, row, item, built, include_deletes=False).action is Action.SKIP_EQUAL
    wrong = {**item, "note": {"S": "wrong"}, "extra": {"S": "kept"}}
    decision = decide(entity, row, wrong, built, include_deletes=False)
    assert (decision.action, decision.columns, decision.attributes) == (Action.UPDATE, ("note",), ())
    no_marker = {k: v for k, v in item.items() if k != "__edb_v__"}
    decision = decide(entity, row, no_marker, built, include_deletes=False)
    assert (decision.action, decision.columns, decision.attributes) == (Action.UPDATE, (), ("__edb_v__",))
    newer = {**wrong, "updatedAt": {"S": "2026-03-04T05:06:08.000Z"}}
    assert decide(entity, row, newer, built, include_deletes=False).action is Action.SKIP_NEWER_IN_DYNAMODB
    older = {**wrong, "updatedAt": {"S": "2026-03-04T05:06:06.000Z"}}
    assert decide(entity, row, older, built, include_deletes=False).action is Action.UPDATE
    assert decide(entity, None, item, None, include_deletes=False).action is Action.SKIP_DELETE_EXCLUDED
    assert decide(entity, None, item, None, include_deletes=True).action is Action.DELETE
    assert decide(entity, None, None, None, include_deletes=True).action is Action.SKIP_EQUAL


def test_the_write_capacity_budget_spends_at_most_its_rate() -> None:
    from parity.repair.writer import CapacityBudget, item_units

    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    budget = CapacityBudget(10, clock=lambda: now[0], sleep=sleep)
    for _ in range(40):
        budget.spend(1)
    # 10 units at once (a full bucket), then 30 more at 10 a second
    assert now[0] == pytest.approx(3.0)
    budget.spend(25)  # bigger than a second's budget: waits for a full bucket, then goes
    assert now[0] == pytest.approx(4.0)
    unlimited = CapacityBudget(None, sleep=sleep)
    slept.clear()
    unlimited.spend(1000)
    assert slept == []
    assert item_units({"pk": {"S": "x" * 1000}}) == 1
    assert item_units({"pk": {"S": "x" * 1030}}) == 2
