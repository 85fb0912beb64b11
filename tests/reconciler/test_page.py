"""The pure page step of a reconcile run, without any database: group, compare, decide."""

from __future__ import annotations

import json
import tomllib
from dataclasses import replace
from datetime import UTC, datetime

from parity.compare import Verdict
from parity.config import parse_config
from parity.local.example import config_toml
from parity.mapping import canonical_row
from parity.reconciler.page import (
    Pending,
    canon_item,
    compare_page,
    decide_missing,
    decide_recheck,
    group_page,
    storable_item,
    text,
)
from parity.reconciler.tally import Tally
from parity.versions import version_of

CONFIG = parse_config(tomllib.loads(config_toml(table="app")))
SESSION = CONFIG.entity_named("session")
ENTITIES = {e.name: e for e in CONFIG.entity}
KEY_ATTRIBUTES = ("pk", "sk")
ID = "4f1c2a3b-0000-4000-8000-00000000000a"
CAMPAIGN = "4f1c2a3b-0000-4000-8000-0000000000cc"
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _item(session_id: str = ID, **extra: dict[str, str]) -> dict[str, dict[str, str]]:
    return {
        "pk": {"S": f"$campaignapp#campaignid_{CAMPAIGN}"},
        "sk": {"S": f"$session_1#sessionid_{session_id}"},
        "__edb_e__": {"S": "session"},
        "sessionId": {"S": session_id},
        "campaignId": {"S": CAMPAIGN},
        "name": {"S": "n"},
        "createdAt": {"S": "2026-11-30T10:00:00+00:00"},
        "updatedAt": {"S": "2026-11-30T11:00:00+00:00"},
        **extra,
    }


def _row(**changes: object) -> dict[str, object]:
    row: dict[str, object] = {
        "id": ID,
        "campaign_id": CAMPAIGN,
        "name": "n",
        "summary": None,
        "metadata": None,
        "session_number": None,
        "tags": None,
        "created_at": datetime(2026, 11, 30, 10, tzinfo=UTC),
        "updated_at": datetime(2026, 11, 30, 11, tzinfo=UTC),
    }
    return {**row, **changes}


def test_a_page_groups_by_entity_skips_others_and_dead_letters_undecodable_keys() -> None:
    other = {"pk": {"S": "x"}, "sk": {"S": "y"}, "__edb_e__": {"S": "invoice"}}
    poison = [_item(""), _item("not-a-uuid"), _item(ID + "\x00"), _item(ID, sessionId={"N": "5"})]
    grouped = group_page(CONFIG.entity, KEY_ATTRIBUTES, [_item(), other, *poison])
    assert [k for k, _ in grouped.by_entity["session"]] == [(ID,)]
    assert grouped.skipped == 1
    assert len(grouped.dead) == 4
    reasons = [d.reason for d in grouped.dead]
    assert "'' is not a uuid" in reasons[0]
    assert "'not-a-uuid'" in reasons[1]
    assert "is not a uuid" in reasons[2]
    assert all(r.startswith("item of entity 'session' cannot be checked:") for r in reasons)
    # what the store keeps holds no U+0000 and reads back to the exact item
    raw = grouped.dead[2].raw
    assert "\x00" not in json.dumps(raw) and "\x00" not in grouped.dead[2].record_id
    assert json.loads(raw["item"])["sessionId"] == {"S": ID + "\x00"}


def test_a_text_key_with_nul_or_an_integer_beyond_bigint_is_a_dead_letter() -> None:
    data = tomllib.loads(config_toml(table="app"))
    data["entity"][0]["key"] = {"id": {"attribute": "sessionId", "type": "string"}}
    entities = parse_config(data).entity
    grouped = group_page(entities, KEY_ATTRIBUTES, [_item("a\x00b"), _item("fine")])
    assert [k for k, _ in grouped.by_entity["session"]] == [("fine",)]
    (dead,) = grouped.dead
    assert "U+0000, which PostgreSQL text cannot hold" in dead.reason
    data["entity"][0]["key"] = {"id": {"attribute": "sessionId", "type": "integer"}}
    entities = parse_config(data).entity
    big = _item(sessionId={"N": str(2**63)})
    grouped = group_page(entities, KEY_ATTRIBUTES, [big, _item(sessionId={"N": str(2**63 - 1)})])
    assert len(grouped.by_entity["session"]) == 1 and "beyond PostgreSQL's bigint" in grouped.dead[0].reason


def test_compare_page_counts_matches_and_defers_first_discrepancies() -> None:
    items = [_item(), _item(ID.replace("a", "b"), summary={"S": "only here"})]
    grouped = group_page(CONFIG.entity, KEY_ATTRIBUTES, items)
    tally = Tally()
    result = compare_page(ENTITIES, KEY_ATTRIBUTES, grouped, {"session": {(ID,): _row()}}, tally, due=NOW)
    assert result.matched == {"session": [{"id": ID}]} and result.compared == 1
    assert result.keys["session"] == [{"id": ID}, {"id": ID.replace("a", "b")}]
    (pending,) = result.pending
    assert pending.kind == "missing_in_postgres" and pending.due_at == NOW
    assert pending.table_key == {a: items[1][a] for a in KEY_ATTRIBUTES}
    assert tally.entity("session").matched == 1 and tally.entity("session").compared == 1


def test_a_json_text_nested_thousands_deep_is_a_mismatched_column_not_a_crash() -> None:
    deep = {"S": "[" * 3000 + "]" * 3000}
    grouped = group_page(CONFIG.entity, KEY_ATTRIBUTES, [_item(metadata=deep)])
    result = compare_page(ENTITIES, KEY_ATTRIBUTES, grouped, {"session": {(ID,): _row()}}, Tally(), due=NOW)
    (pending,) = result.pending
    assert pending.kind == "mismatched" and pending.columns == ("metadata",)


def test_rechecks_clear_move_or_find() -> None:
    assert SESSION is not None
    pending = Pending("session", {"id": ID}, "id", "mismatched", ("name",), {}, "1", "1", NOW)
    same = canon_item(SESSION, _item())
    other = canon_item(SESSION, _item(name={"S": "other"}))
    row = canonical_row(SESSION, _row())
    assert decide_recheck(SESSION, pending, same, row).outcome == "cleared"
    assert decide_recheck(SESSION, pending, other, row).outcome == "in_flight"  # versions moved since "1"
    version = text(version_of(SESSION, row))
    unmoved = replace(pending, item_version=version, row_version=version)
    found = decide_recheck(SESSION, unmoved, other, row)
    assert found.outcome == "found" and found.comparison.columns == ("name",)
    missing = decide_missing(SESSION, NOW, None, row)
    assert missing.outcome == "found" and missing.comparison.verdict is Verdict.MISSING_IN_DYNAMODB
    assert missing.values is not None and missing.values["postgres"]["name"] == "n"
    assert decide_missing(SESSION, NOW.replace(hour=10), None, row).outcome == "in_flight"  # written after start


def test_a_row_with_an_integer_version_is_never_assumed_in_flight() -> None:
    """A counter cannot be compared with the run's start: such a row without item is found."""
    data = tomllib.loads(config_toml(table="app"))
    data["entity"][0]["version"] = "session_number"
    entity = parse_config(data).entity_named("session")
    assert entity is not None
    row = canonical_row(entity, _row(session_number=7))
    assert decide_missing(entity, NOW, None, row).outcome == "found"
    assert decide_missing(entity, datetime(1970, 1, 1, tzinfo=UTC), None, row).outcome == "found"


def test_storable_item_keeps_binary_and_nul_as_text() -> None:
    raw = storable_item({"b": {"B": b"\x00\xff"}, "s": {"S": "a\x00"}})
    assert json.loads(raw["item"]) == {"b": {"B": "AP8="}, "s": {"S": "a\x00"}}
