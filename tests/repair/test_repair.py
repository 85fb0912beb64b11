"""``parity repair`` against the real local stack: moto's DynamoDB and PostgreSQL.

The workload (tests/repair/conftest.py) leaves items missing, items with wrong columns (and an
attribute parity does not map), and items the app rewrote newer; ``parity reconcile`` records the
discrepancies, and repair rewrites the items from the rows.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from parity.cli import main
from parity.repair.undo import ADDED, CHANGED
from tests.conftest import ExampleEnv
from tests.repair.conftest import Broken, move_a_session


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

    assert {d["key"]["id"] for d in _json(capsys, env, "discrepancies")} == {s.id for s in broken.newer}
    undone = _json(capsys, env, "repair", "--undo", applied["run_id"])
    assert (undone["restored"], undone["skipped_changed_since"], undone["left_alone"]) == (applied["applied"], 0, [])
    assert _items(env) == damaged  # whole items, exactly as before the repair
    # the damage is back, so are the discrepancies the repair had resolved: the gate sees them
    assert undone["reopened"] == applied["resolved"]
    still_open = {d["key"]["id"] for d in _json(capsys, env, "discrepancies")}
    assert still_open == {r.id for r in [*broken.missing, *broken.wrong, *broken.newer]}
    twice = _json(capsys, env, "repair", "--undo", applied["run_id"])
    assert (twice["restored"], twice["already_undone"]) == (0, applied["applied"])


def test_unbuildable_refuses_apply_keys_exclude_accepted_and_deletes(
    example_env: ExampleEnv, broken: Broken, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    env = example_env
    config = str(env.config_path)
    unbuildable = broken.missing[1]  # a session whose item_key template names a NULL column
    env.conn.execute("ALTER TABLE public.sessions ALTER COLUMN campaign_id DROP NOT NULL")
    env.conn.execute("UPDATE public.sessions SET campaign_id = NULL WHERE id = %s", (unbuildable.id,))
    gone = broken.records[-1]  # a row deleted; its item stays
    env.conn.execute("DELETE FROM public.sessions WHERE id = %s", (gone.id,))
    env.conn.commit()
    _json(capsys, env, "reconcile")
    accepted = broken.wrong[0]
    code, _, err = _parity(
        capsys, "discrepancies", "accept", "--config", config, "--entity", "session",
        "--key", json.dumps({"id": accepted.id}), "--note", "known: renamed on purpose",
    )  # fmt: skip
    assert code == 0, err
    before = _items(env)

    code, out, err = _parity(capsys, "repair", "--config", config, "--apply")
    assert code == 2 and out == ""
    assert "1 key(s) cannot be written to DynamoDB" in err and "'campaign_id', which is NULL" in err
    assert _items(env) == before  # refused before writing anything

    dry = _json(capsys, env, "repair")
    actions = {p["key"]["id"]: p["action"] for p in dry["plan"]}
    assert actions[unbuildable.id] == "unbuildable"
    assert accepted.id not in actions  # accepted: never repaired
    assert gone.id not in actions  # missing_in_postgres only with --include-deletes
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(dry))  # a reviewed dry run: its unbuildable entries left out
    exclude = tmp_path / "exclude.jsonl"
    exclude.write_text("".join(json.dumps(p) + "\n" for p in dry["plan"] if p["action"] == "unbuildable"))

    one = broken.missing[0]
    keys = tmp_path / "keys.jsonl"
    keys.write_text(json.dumps({"entity": "campaign", "key": {"id": one.id}}) + "\n")
    only = _json(capsys, env, "repair", "--apply", "--keys", str(keys))
    assert (only["planned"], only["applied"]) == (1, 1)

    rest = _json(capsys, env, "repair", "--apply", "--exclude", str(exclude), "--include-deletes")
    assert rest["deletes"] == 1
    assert rest["applied"] == len(broken.missing) - 2 + len(broken.wrong) - 1 + 1
    after = _items(env)
    gone_key = (gone.item()["pk"]["S"], gone.item()["sk"]["S"])
    assert gone_key not in after
    accepted_key = (accepted.key()["pk"]["S"], accepted.key()["sk"]["S"])
    assert after[accepted_key] == before[accepted_key]  # the accepted difference is untouched

    later = broken.wrong[1].touched(name="the app wrote this after the repair")
    env.dynamodb.put_item(TableName=env.table, Item=later.item())
    undone = _json(capsys, env, "repair", "--undo", rest["run_id"])
    assert (undone["restored"], undone["skipped_changed_since"]) == (rest["applied"] - 1, 1)
    restored = _items(env)
    assert restored[gone_key] == before[gone_key]  # the deleted item is back, whole
    assert restored[(later.item()["pk"]["S"], later.item()["sk"]["S"])] == later.item()  # the app's write stays


def test_a_row_moved_to_another_key_template_value_is_put_at_its_new_key_and_its_old_item_deleted(
    example_env: ExampleEnv, broken: Broken, capsys: pytest.CaptureFixture[str]
) -> None:
    """A session moved to another campaign (its item's pk comes from campaign_id): the checker sees
    the item at the old pk as mismatched. Without --include-deletes the plan names the old key and
    deletes nothing; with it, the item is put at the new pk and the old one deleted (guarded,
    journalled), reconcile finds the key matched, a second apply writes nothing, and undo puts back
    exactly the items before the repair."""
    env = example_env
    config = str(env.config_path)
    moved, other = move_a_session(env, broken)
    _json(capsys, env, "reconcile")
    damaged = _items(env)
    old = (moved.key()["pk"]["S"], moved.key()["sk"]["S"])
    new = (f"$campaignapp#campaignid_{other.id}", moved.key()["sk"]["S"])
    shown = f"pk={old[0]},sk={old[1]}"

    dry = _json(capsys, env, "repair")
    entries = [p for p in dry["plan"] if p["key"] == {"id": moved.id}]
    assert [(p["kind"], p["action"]) for p in entries] == [("mismatched", "put")]
    assert shown in entries[0]["reason"] and "rerun with --include-deletes" in entries[0]["reason"]
    code, out, err = _parity(capsys, "repair", "--config", config)
    assert code == 0, err
    assert f"id={moved.id}" in out
    assert f"note: the row moved (a key-template column changed): its old item is still at {shown}" in out
    assert _items(env) == damaged  # a dry run writes nothing

    dry = _json(capsys, env, "repair", "--include-deletes")
    entries = [p for p in dry["plan"] if p["key"] == {"id": moved.id}]
    assert [p["action"] for p in entries] == ["put", "delete"]
    assert entries[1]["reason"] == f"the item the moved row left at its old key {shown}"
    assert entries[1]["item_key"] == {"pk": {"S": old[0]}, "sk": {"S": old[1]}}
    assert dry["deletes"] == 1 and dry["planned"] == len(broken.missing) + len(broken.wrong) + 2
    code, out, err = _parity(capsys, "repair", "--config", config, "--include-deletes")
    assert code == 0, err
    assert f"note: the item the moved row left at its old key {shown}" in out

    applied = _json(capsys, env, "repair", "--apply", "--include-deletes")
    assert (applied["puts"], applied["deletes"], applied["unverified"]) == (len(broken.missing) + 1, 1, [])
    items = _items(env)
    assert old not in items
    assert items[new] == dataclasses.replace(moved, campaign_id=other.id).item()  # the app's item, whole
    report = _json(capsys, env, "reconcile")
    assert {d["key"]["id"] for d in report["discrepancies"]} == {s.id for s in broken.newer}
    assert report["matched"] == len(broken.records) - len(broken.newer)

    again = _json(capsys, env, "repair", "--apply", "--include-deletes")
    assert (again["planned"], again["applied"], again["run_id"]) == (0, 0, None)
    assert _items(env) == items

    undone = _json(capsys, env, "repair", "--undo", applied["run_id"])
    assert (undone["restored"], undone["skipped_changed_since"]) == (applied["applied"], 0)
    assert _items(env) == damaged  # whole items: the new key is free again, the old item back


def test_a_moved_rows_old_item_that_is_not_where_the_checker_saw_it_is_never_guessed(
    example_env: ExampleEnv, broken: Broken, capsys: pytest.CaptureFixture[str]
) -> None:
    """The old item is gone from the key the checker's values give (deleted by hand after the
    check): the put keeps the general note, and nothing is deleted, even with --include-deletes."""
    env = example_env
    moved, _other = move_a_session(env, broken)
    _json(capsys, env, "reconcile")
    env.dynamodb.delete_item(TableName=env.table, Key=moved.key())
    dry = _json(capsys, env, "repair", "--include-deletes")
    entries = [p for p in dry["plan"] if p["key"] == {"id": moved.id}]
    assert [p["action"] for p in entries] == ["put"]
    assert "it may sit at an older key (a key-template column changed)" in entries[0]["reason"]
    assert dry["deletes"] == 0


def test_undo_restores_only_what_the_repair_changed_and_keeps_what_the_app_wrote_since(
    example_env: ExampleEnv, broken: Broken, capsys: pytest.CaptureFixture[str]
) -> None:
    """After the repair the app adds an attribute to an updated item and to a put item, and writes a
    newer version of another updated item without touching what the repair set. Undo sets back the
    first's repaired attributes only (the app's attribute stays), and leaves the put item and the
    newer version alone; every other item is its pre-repair item exactly."""
    env = example_env
    _json(capsys, env, "reconcile")
    damaged = _items(env)
    applied = _json(capsys, env, "repair", "--apply")
    assert applied["applied"] == len(broken.missing) + len(broken.wrong)
    repaired = _items(env)

    def pair(key: dict[str, Any]) -> tuple[str, str]:
        return key["pk"]["S"], key["sk"]["S"]

    updated, put, newer = pair(broken.wrong[0].key()), pair(broken.missing[0].item()), pair(broken.wrong[1].key())
    note = {"S": "written by the app after the repair"}
    for key in (updated, put):
        env.dynamodb.update_item(
            TableName=env.table,
            Key={"pk": {"S": key[0]}, "sk": {"S": key[1]}},
            UpdateExpression="SET appNote = :n",
            ExpressionAttributeValues={":n": note},
        )
    later = {"S": "2099-01-01T00:00:00.000Z"}
    env.dynamodb.update_item(
        TableName=env.table,
        Key={"pk": {"S": newer[0]}, "sk": {"S": newer[1]}},
        UpdateExpression="SET updatedAt = :u",
        ExpressionAttributeValues={":u": later},
    )
    written = _items(env)

    undone = _json(capsys, env, "repair", "--undo", applied["run_id"])
    assert (undone["restored"], undone["skipped_changed_since"]) == (applied["applied"] - 2, 2)
    left = {(entry["key"]["id"], entry["action"], entry["reason"]) for entry in undone["left_alone"]}
    assert left == {
        (broken.missing[0].id, "put", ADDED),  # the app added an attribute to the item repair put
        (broken.wrong[1].id, "update", CHANGED),  # the app wrote a newer version
    }
    items = _items(env)
    assert items[updated] == {**damaged[updated], "appNote": note}
    assert items[put] == {**repaired[put], "appNote": note} == written[put]
    assert items[newer] == {**repaired[newer], "updatedAt": later} == written[newer]
    assert {k: v for k, v in items.items() if k not in (updated, put, newer)} == {
        k: v for k, v in damaged.items() if k not in (updated, put, newer)
    }

    twice = _json(capsys, env, "repair", "--undo", applied["run_id"])
    assert (twice["restored"], twice["skipped_changed_since"], twice["already_undone"]) == (
        0,
        2,
        applied["applied"] - 2,
    )
    assert _items(env) == items


def test_undo_without_a_version_column_leaves_an_item_whose_other_mapped_attribute_the_app_changed(
    example_env: ExampleEnv, broken: Broken, capsys: pytest.CaptureFixture[str]
) -> None:
    """With no version column to tell a later app write, undo's condition watches every mapped
    attribute, as the apply's guard does: an item whose unrepaired mapped attribute the app changed
    since is left alone whole, not half undone."""
    env = example_env
    text = env.config_path.read_text()
    assert 'version = "updated_at"\n' in text
    env.config_path.write_text(text.replace('version = "updated_at"\n', ""))
    _json(capsys, env, "reconcile")
    damaged = _items(env)
    applied = _json(capsys, env, "repair", "--apply")
    assert applied["applied"] > 0
    touched = broken.wrong[0].key()
    changed = {"S": "changed by the app after the repair"}
    env.dynamodb.update_item(
        TableName=env.table,
        Key=touched,
        UpdateExpression="SET summary = :s",
        ExpressionAttributeValues={":s": changed},
    )
    written = _items(env)

    undone = _json(capsys, env, "repair", "--undo", applied["run_id"])
    assert (undone["restored"], undone["skipped_changed_since"]) == (applied["applied"] - 1, 1)
    items = _items(env)
    slot = (touched["pk"]["S"], touched["sk"]["S"])
    assert items[slot] == written[slot]
    assert items[slot]["summary"] == changed
    assert {k: v for k, v in items.items() if k != slot} == {k: v for k, v in damaged.items() if k != slot}
