"""Pure tests of the per-key replay decision (insert, update with columns, equal, version guard, deletes)."""

from __future__ import annotations

from pathlib import Path

from parity.config import load_config
from parity.example import generate
from rollback.plan import Action, decide_delete, decide_upsert
from rollback.values import item_to_row

CONFIG = load_config(Path(__file__).parents[2] / "parity" / "example.toml")
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
    decision = decide_upsert(SESSION, item, row)
    assert decision.action is Action.UPDATE
    assert decision.columns == ("summary",)


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
