"""Pure tests of the per-key replay decision (insert, update with columns, equal, version guard, deletes)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from parity.config import load_config
from parity.local.example import generate
from parity.rollback.plan import Action, Decision, decide_delete, decide_upsert
from parity.rollback.values import item_to_row

CONFIG = load_config(Path(__file__).parents[2] / "parity" / "local" / "example.toml")
SESSION = next(e for e in CONFIG.entity if e.name == "session")


def _item() -> dict:
    return generate(1, 1)[0].sessions[0].item()


def test_insert_when_row_absent() -> None:
    assert decide_upsert(SESSION, _item(), None).action is Action.INSERT


def test_equal_row_is_skipped() -> None:
    item = _item()
    assert decide_upsert(SESSION, item, item_to_row(SESSION, item)).action is Action.SKIP_EQUAL


def test_update_lists_changed_columns() -> None:
    item = _item()
    row = item_to_row(SESSION, item)
    row["summary"] = "stale"
    row["updated_at"] = row["updated_at"].replace(year=row["updated_at"].year - 1)
    decision = decide_upsert(SESSION, item, row)
    assert decision.action is Action.UPDATE
    assert decision.columns == ("summary", "updated_at")


def test_newer_postgres_row_is_left_alone() -> None:
    item = _item()
    row = item_to_row(SESSION, item)
    assert SESSION.version is not None
    row["summary"] = "newer in postgres"
    row[SESSION.version] = row[SESSION.version].replace(year=row[SESSION.version].year + 1)
    assert decide_upsert(SESSION, item, row).action is Action.SKIP_NEWER_IN_POSTGRES


def test_deletes() -> None:
    row = {"id": "x"}
    assert decide_delete(row, include_deletes=False, ttl=False).action is Action.SKIP_DELETE_EXCLUDED
    assert decide_delete(row, include_deletes=True, ttl=True).action is Action.SKIP_TTL_DELETE
    assert decide_delete(row, include_deletes=True, ttl=False).action is Action.DELETE
    assert decide_delete(None, include_deletes=True, ttl=False).action is Action.SKIP_EQUAL


def test_same_version_different_value_is_a_conflict_unless_included() -> None:
    item = _item()
    row = item_to_row(SESSION, item)
    row["name"] = row["name"] + " (typo)"
    assert decide_upsert(SESSION, item, row) == Decision(Action.SKIP_CONFLICT, ("name",))
    assert decide_upsert(SESSION, item, row, include_conflicts=True) == Decision(Action.UPDATE, ("name",))


def test_without_a_version_column_the_item_wins() -> None:
    unversioned = SESSION.model_copy(update={"version": None})
    item = _item()
    row = item_to_row(unversioned, item)
    row["name"] = "other"
    assert decide_upsert(unversioned, item, row).action is Action.UPDATE


def test_item_gone_without_a_record_of_the_delete_is_never_a_delete() -> None:
    assert decide_delete({"id": "x"}, include_deletes=True, ttl=None).action is Action.SKIP_GONE
    assert not Action.SKIP_GONE.writes
    assert Action.DELETE.writes


def test_integer_version_guard() -> None:
    """A counter version guards like a timestamp one (parity.versions orders both)."""
    entity = SESSION.model_copy(update={"version": "session_number"})
    item = _item()
    row = item_to_row(entity, item)
    row["summary"] = "newer in postgres"
    row["session_number"] = row["session_number"] + 1
    assert decide_upsert(entity, item, row).action is Action.SKIP_NEWER_IN_POSTGRES
    row["session_number"] = row["session_number"] - 2
    assert decide_upsert(entity, item, row).action is Action.UPDATE


def test_unorderable_versions_are_a_conflict_not_an_overwrite() -> None:
    """A row version that cannot be ordered (a numeric NaN) must not let the replay overwrite the row
    as if DynamoDB were newer; it is a conflict, with the reason, unless conflicts are included."""
    entity = SESSION.model_copy(update={"version": "session_number"})
    item = _item()
    row = item_to_row(entity, item)
    row["summary"] = "stale?"
    row["session_number"] = Decimal("NaN")
    decision = decide_upsert(entity, item, row)
    assert decision.action is Action.SKIP_CONFLICT
    assert decision.reason.startswith("versions cannot be ordered: b: version of the wrong type")
    assert decide_upsert(entity, item, row, include_conflicts=True).action is Action.UPDATE


def test_missing_version_is_updated() -> None:
    """No version to tell on one side: the documented rule is to restore DynamoDB's state."""
    item = _item()
    row = item_to_row(SESSION, item)
    row["summary"] = "stale"
    row["updated_at"] = None
    assert decide_upsert(SESSION, item, row).action is Action.UPDATE
