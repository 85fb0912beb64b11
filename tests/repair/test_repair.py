"""``parity repair`` against the real local stack: moto's DynamoDB and PostgreSQL.

The workload (tests/repair/conftest.py) leaves items missing, items with wrong columns (and an
attribute parity does not map), and items the app rewrote newer; ``parity reconcile`` records the
discrepancies, and repair rewrites the items from the rows.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from parity.cli import main
from tests.conftest import ExampleEnv
from tests.repair.conftest import Broken


def _parity(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _json(capsys: pytest.CaptureFixture[str], env: ExampleEnv, command: str, *extra: str) -> Any:
    code, out, err = _parity(capsys, command, "--config", str(env.config_path), "--json", *extra)
    assert code == 0, err
    return json.loads(out)


def _items(env: ExampleEnv) -> dict[tuple[str, str], dict[str, Any]]:
    pages = env.dynamodb.get_paginator("scan").paginate(TableName=env.table, ConsistentRead=True)
    return {(i["pk"]["S"], i["sk"]["S"]): i for page in pages for i in page["Items"]}


def test_repair_apply_reconciles_to_100_percent_but_newer_items_and_undo_restores(
    example_env: ExampleEnv, broken: Broken, capsys: pytest.CaptureFixture[str]
) -> None:
    env = example_env
    first = _json(capsys, env, "reconcile")
    assert first["missing_in_dynamodb"] == len(broken.missing)
    assert first["mismatched"] == len(broken.wrong) + len(broken.newer)
    damaged = _items(env)

    dry = _json(capsys, env, "repair")
    actions = {p["key"]["id"]: p["action"] for p in dry["plan"]}
    assert actions == {
        **{r.id: "put" for r in broken.missing},
        **{s.id: "update" for s in broken.wrong},
        **{s.id: "skip_newer_in_dynamodb" for s in broken.newer},
    }
    columns = {p["key"]["id"]: p["columns"] for p in dry["plan"] if p["action"] == "update"}
    assert set(map(tuple, columns.values())) == {("name", "session_number")}
    assert (dry["run_id"], dry["planned"], dry["applied"], dry["skipped_newer_in_dynamodb"], dry["deletes"]) == (
        None,
        len(broken.missing) + len(broken.wrong),
        0,
        len(broken.newer),
        0,
    )
    assert _items(env) == damaged  # a dry run writes nothing

    applied = _json(capsys, env, "repair", "--apply")
    assert applied["applied"] == len(broken.missing) + len(broken.wrong)
    assert applied["skipped_newer_in_dynamodb"] == len(broken.newer)
    assert applied["run_id"] and applied["unverified"] == []
    assert applied["resolved"] == len(broken.missing) + len(broken.wrong)

    after = _items(env)
    for session in broken.wrong:  # the attribute parity does not map survived the update
        assert after[(session.key()["pk"]["S"], session.key()["sk"]["S"])]["gsi9"] == broken.unmapped[session.id]
    for record in broken.missing:  # a put writes the app's whole item, as the app would
        item = record.item()
        assert after[(item["pk"]["S"], item["sk"]["S"])] == item
    for session in broken.newer:  # untouched
        key = (session.key()["pk"]["S"], session.key()["sk"]["S"])
        assert after[key] == damaged[key]

    report = _json(capsys, env, "reconcile")
    assert report["compared"] == len(broken.records)
    assert report["matched"] == len(broken.records) - len(broken.newer)
    assert {d["key"]["id"] for d in report["discrepancies"]} == {s.id for s in broken.newer}

    again = _json(capsys, env, "repair", "--apply")
    assert (again["planned"], again["applied"], again["run_id"]) == (0, 0, None)
    assert _items(env) == after

    runs = _json(capsys, env, "repair", "--runs")
    assert [r["run_id"] for r in runs] == [applied["run_id"]]
    assert runs[0]["status"] == "applied"

    undone = _json(capsys, env, "repair", "--undo", applied["run_id"])
    assert (undone["restored"], undone["skipped_changed_since"]) == (applied["applied"], 0)
    assert _items(env) == damaged  # whole items, exactly as before the repair
    twice = _json(capsys, env, "repair", "--undo", applied["run_id"])
    assert (twice["restored"], twice["already_undone"]) == (0, applied["applied"])
