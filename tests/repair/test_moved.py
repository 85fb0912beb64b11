"""Pure: the old table key of a moved row's item from the checker's values, and whether the item
read there is the one the row left (no I/O)."""

from __future__ import annotations

import uuid
from typing import Any

from parity.config import EntityConfig, parse_config
from parity.mapping import canonical_row, row_key
from parity.repair.build import build_item, render_key, template_columns
from parity.repair.moved import left_behind, old_item_key, shown_key, still_behind

SCHEMA = ("pk", "sk")
ID = uuid.UUID("3b241101-e2bb-4255-8caf-4136c566a962")
OLD = "0f8fad5b-d9cb-469f-a165-70867728950e"
NEW = "7c9e6679-7425-40de-944b-e07fc1f90ae7"


def _entity(**columns: Any) -> EntityConfig:
    data = {
        "dynamodb": {"table": "app"},
        "entity": [
            {
                "name": "session",
                "table": "public.sessions",
                "match": {"__edb_e__": "session"},
                "key": {"id": {"attribute": "sessionId", "type": "uuid"}},
                "item_key": {"pk": "$app#campaignid_{campaign_id}#n_{number}", "sk": "$session_1#sessionid_{id}"},
                "columns": {
                    "campaign_id": {"attribute": "campaignId", "type": "uuid"},
                    "number": {"attribute": "number", "type": "integer"},
                    "name": "name",
                    **columns,
                },
            }
        ],
    }
    return parse_config(data).entity[0]


def _row(**values: Any) -> dict[str, Any]:
    return {"id": ID, "campaign_id": uuid.UUID(NEW), "number": 3, "name": "a", **values}


def _old(entity: EntityConfig, observed: dict[str, Any] | None) -> dict[str, Any] | None:
    return old_item_key(entity, canonical_row(entity, _row()), observed, SCHEMA)


def test_the_old_key_is_the_templates_rendered_with_the_template_columns_as_the_checker_saw_them() -> None:
    entity = _entity()
    observed = {
        "campaign_id": {"dynamodb": OLD, "postgres": NEW},
        "number": {"dynamodb": 2, "postgres": 3},
        "name": {"dynamodb": "b", "postgres": "a"},  # not in a template: does not matter
    }
    assert _old(entity, observed) == {
        "pk": {"S": f"$app#campaignid_{OLD}#n_2"},
        "sk": {"S": f"$session_1#sessionid_{ID}"},
    }
    # a column the checker did not report as differing keeps the row's value
    assert _old(entity, {"campaign_id": {"dynamodb": OLD, "postgres": NEW}}) == {
        "pk": {"S": f"$app#campaignid_{OLD}#n_3"},
        "sk": {"S": f"$session_1#sessionid_{ID}"},
    }


def test_no_old_key_is_guessed_from_values_not_kept_exactly() -> None:
    entity = _entity()
    assert _old(entity, None) is None
    assert _old(entity, {}) is None
    assert _old(entity, {"name": {"dynamodb": "b", "postgres": "a"}}) is None  # no template column moved
    assert _old(entity, {"campaign_id": {"dynamodb": None, "postgres": NEW}}) is None  # the item had none
    assert _old(entity, {"campaign_id": {"postgres": NEW}}) is None
    assert _old(entity, {"campaign_id": OLD}) is None  # not the stored shape
    assert _old(entity, {"number": {"dynamodb": {"wrong_type": "S for integer"}, "postgres": 3}}) is None
    assert _old(entity, {"number": {"dynamodb": "2", "postgres": 3}}) is None  # not as it was shown
    assert _old(entity, {"campaign_id": {"dynamodb": OLD.upper(), "postgres": NEW}}) is None
    redacted = _entity(campaign_id={"attribute": "campaignId", "type": "uuid", "redact": True})
    assert _old(redacted, {"campaign_id": {"dynamodb": "redacted:0123456789ab", "postgres": "x"}}) is None


def test_render_key_is_the_key_build_item_gives() -> None:
    entity = _entity()
    assert template_columns(entity) == ["campaign_id", "number", "id"]
    assert render_key(entity, canonical_row(entity, _row()), SCHEMA) == build_item(entity, _row(), SCHEMA).key


def test_the_item_read_at_the_old_key_is_the_rows_only_if_it_is_this_entitys_item_of_this_key_elsewhere() -> None:
    entity = _entity()
    key = row_key(entity, _row())
    old = build_item(entity, _row(campaign_id=uuid.UUID(OLD)), SCHEMA)
    new = build_item(entity, _row(), SCHEMA)
    assert left_behind(entity, key, old.key, new.key, old.item)
    assert not left_behind(entity, key, old.key, new.key, None)  # nothing there
    assert not left_behind(entity, key, old.key, old.key, old.item)  # the row's key now: not left behind
    assert not left_behind(entity, key, old.key, None, old.item)
    other = {**old.item, "__edb_e__": {"S": "campaign"}}
    assert not left_behind(entity, key, old.key, new.key, other)  # another entity's item
    someone = {**old.item, "sessionId": {"S": str(uuid.uuid4())}}
    assert not left_behind(entity, key, old.key, new.key, someone)  # another session's item
    keyless = {name: value for name, value in old.item.items() if name != "sessionId"}
    assert not left_behind(entity, key, old.key, new.key, keyless)


def test_at_write_time_the_old_item_is_still_deleted_unless_the_row_gives_its_key_again_or_cannot_be_built() -> None:
    entity = _entity()
    old = build_item(entity, _row(campaign_id=uuid.UUID(OLD)), SCHEMA).key
    assert still_behind(entity, old, _row(), SCHEMA)  # still moved
    assert still_behind(entity, old, _row(number=9), SCHEMA)  # moved on again: old is still not its key
    assert still_behind(entity, old, None, SCHEMA)  # the row is gone: its item goes too
    assert not still_behind(entity, old, _row(campaign_id=uuid.UUID(OLD)), SCHEMA)  # moved back
    assert not still_behind(entity, old, _row(campaign_id=None), SCHEMA)  # unbuildable: nothing would replace it


def test_a_table_key_as_people_read_it() -> None:
    assert shown_key({"sk": {"S": "b"}, "pk": {"S": "a"}}, SCHEMA) == "pk=a,sk=b"
