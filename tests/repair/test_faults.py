"""Repair under what moto never does by itself: throttling and a role without write rights
(answered by tests/repair/fault_proxy.py in front of moto, as DynamoDB answers them), and the app
writing an item between planning and writing."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from parity.cli import main
from parity.local.example import config_toml
from tests.conftest import ExampleEnv
from tests.repair.conftest import Broken, break_dynamodb, move_a_session
from tests.repair.fault_proxy import FaultProxy


def _config_via(env: ExampleEnv, proxy: FaultProxy, tmp_path: Path) -> str:
    path = tmp_path / "via-proxy.toml"
    path.write_text(config_toml(table=env.table, dsn=env.dsn, endpoint_url=proxy.url))
    return str(path)


def _repair(capsys: pytest.CaptureFixture[str], config: str, *extra: str) -> tuple[int, Any, str]:
    code = main(["repair", "--config", config, "--json", *extra])
    captured = capsys.readouterr()
    return code, json.loads(captured.out) if code == 0 else None, captured.err


def test_throttled_writes_are_retried_with_backoff_until_done(
    example_env: ExampleEnv, broken: Broken, moto_endpoint: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["reconcile", "--config", str(example_env.config_path), "--json"]) == 0
    capsys.readouterr()
    with FaultProxy(moto_endpoint) as proxy:
        config = _config_via(example_env, proxy, tmp_path)
        proxy.fail("PutItem", "ProvisionedThroughputExceededException", times=4)
        proxy.fail("UpdateItem", "ThrottlingException", times=3)
        code, summary, err = _repair(capsys, config, "--apply", "--concurrency", "2")
        assert code == 0, err
        assert summary["applied"] == len(broken.missing) + len(broken.wrong)
        assert summary["throttled_retries"] == 7, (summary, proxy.injected, proxy.calls)
        assert proxy.injected == {"PutItem": 4, "UpdateItem": 3}
    code, again, _ = _repair(capsys, str(example_env.config_path), "--apply")
    assert (code, again["planned"]) == (0, 0)


def test_batch_puts_survive_throttling(
    example_env: ExampleEnv, moto_endpoint: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = break_dynamodb(example_env)
    assert main(["reconcile", "--config", str(example_env.config_path), "--json"]) == 0
    capsys.readouterr()
    with FaultProxy(moto_endpoint) as proxy:
        config = _config_via(example_env, proxy, tmp_path)
        proxy.fail("BatchWriteItem", "ThrottlingException", times=2)
        code, summary, err = _repair(capsys, config, "--apply", "--batch-puts")
        assert code == 0, err
    assert summary["puts"] == len(broken.missing)
    assert summary["throttled_retries"] >= 1  # the probe of BatchWriteItem may take one of the two
    assert summary["unverified"] == []


def test_credentials_without_write_actions_are_refused_before_anything_is_written(
    example_env: ExampleEnv,
    broken: Broken,
    moto_endpoint: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["reconcile", "--config", str(example_env.config_path), "--json"]) == 0
    capsys.readouterr()
    before = example_env.dynamodb.scan(TableName=example_env.table)["Items"]
    with FaultProxy(moto_endpoint) as proxy:
        config = _config_via(example_env, proxy, tmp_path)
        proxy.deny("UpdateItem")
        proxy.deny("DeleteItem")
        code, _, err = _repair(capsys, config, "--apply", "--include-deletes")
        assert code == 2
        assert "dynamodb:UpdateItem, dynamodb:DeleteItem" in err and err.count("\n") == 1
        assert "PutItem" not in err  # allowed: named only what is missing
        after = example_env.dynamodb.scan(TableName=example_env.table)["Items"]
        assert sorted(map(str, after)) == sorted(map(str, before))
        code, summary, err = _repair(capsys, config)  # a dry run needs no write rights
    assert code == 0, err
    assert summary["planned"] == len(broken.missing) + len(broken.wrong)


def test_an_app_write_between_planning_and_writing_is_never_overwritten(
    example_env: ExampleEnv, broken: Broken, moto_endpoint: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = example_env
    assert main(["reconcile", "--config", str(env.config_path), "--json"]) == 0
    capsys.readouterr()
    newer = [s.touched(name="the app wrote this during the repair") for s in broken.wrong]

    def app_writes() -> None:  # each item's newer version, written straight to moto
        for session in newer:
            env.dynamodb.put_item(TableName=env.table, Item=session.item())

    with FaultProxy(moto_endpoint) as proxy:
        config = _config_via(env, proxy, tmp_path)
        proxy.before("UpdateItem", f"sessionid_{broken.wrong[0].id}".encode(), app_writes)
        code, summary, err = _repair(capsys, config, "--apply", "--concurrency", "1")
    assert code == 0, err
    # the update the app raced failed its condition and was judged again (updates that went out
    # before the app's write are legitimately applied; the app's newer write then replaced them)
    assert summary["skipped_newer_in_dynamodb"] >= len(broken.newer) + 1
    assert summary["applied"] + summary["skipped_newer_in_dynamodb"] == summary["planned"] + len(broken.newer)
    for session in newer:
        assert (
            env.dynamodb.get_item(TableName=env.table, Key=session.key(), ConsistentRead=True)["Item"] == session.item()
        )


def test_the_old_item_of_a_moved_row_that_the_app_wrote_since_planning_is_left_alone(
    example_env: ExampleEnv, broken: Broken, moto_endpoint: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A session moved to another campaign; the app writes its item at the old key between the
    plan and the delete of that item: the delete fails its condition and the item is left alone
    (not judged again), the item at the new key is put, and the key stays open for the checkers."""
    env = example_env
    moved, other = move_a_session(env, broken)
    assert main(["reconcile", "--config", str(env.config_path), "--json"]) == 0
    capsys.readouterr()
    later = moved.touched(name="the app wrote the old item during the repair")

    def app_writes() -> None:
        env.dynamodb.put_item(TableName=env.table, Item=later.item())

    with FaultProxy(moto_endpoint) as proxy:
        config = _config_via(env, proxy, tmp_path)
        proxy.before("DeleteItem", f"sessionid_{moved.id}".encode(), app_writes)
        code, summary, err = _repair(capsys, config, "--apply", "--include-deletes", "--concurrency", "1")
    assert code == 0, err
    assert (summary["deletes"], summary["puts"]) == (0, len(broken.missing) + 1)
    assert summary["applied"] == summary["planned"] - 1
    old = env.dynamodb.get_item(TableName=env.table, Key=moved.key(), ConsistentRead=True)["Item"]
    assert old == later.item()  # the app's write stands
    new = replace(moved, campaign_id=other.id)
    assert env.dynamodb.get_item(TableName=env.table, Key=new.key(), ConsistentRead=True)["Item"] == new.item()
    assert main(["discrepancies", "--config", str(env.config_path), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {"id": moved.id} in [d["key"] for d in listed]  # not resolved: the old item is still there


def test_a_stop_between_chunks_keeps_every_write_journalled_and_a_rerun_finishes(
    example_env: ExampleEnv, broken: Broken, capsys: pytest.CaptureFixture[str]
) -> None:
    from parity.dynamo import client
    from parity.dynamo_reads import key_schema
    from parity.errors import Interrupted
    from parity.pg import connect
    from parity.repair.apply import Settings, apply_plan
    from parity.repair.planner import RepairOptions, build_plan
    from parity.repair.writer import Writer
    from parity.store import Store

    env = example_env
    assert main(["reconcile", "--config", str(env.config_path), "--json"]) == 0
    capsys.readouterr()
    config = env.config
    dynamodb = client(config.dynamodb)
    schema = key_schema(dynamodb, env.table)
    store = Store(config.postgres.store_schema)
    asked = []
    with connect(env.dsn) as conn:
        plan = build_plan(conn, store, dynamodb, config, schema, RepairOptions())
        with pytest.raises(Interrupted, match="stopped after 3 of 9 write"):
            apply_plan(
                conn, store, dynamodb, Writer(dynamodb, env.table), config, schema, plan, RepairOptions(),
                Settings(chunk=3), run_id="p-stopped", should_stop=lambda: asked.append(1) or len(asked) > 1,
            )  # fmt: skip
    runs = json.loads(_run(capsys, str(env.config_path), "--runs"))
    assert [(r["run_id"], r["status"]) for r in runs] == [("p-stopped", "interrupted")]
    rest = json.loads(_run(capsys, str(env.config_path), "--apply"))
    assert rest["applied"] == 6  # planned again from the current state: the other six
    undone = json.loads(_run(capsys, str(env.config_path), "--undo", "p-stopped"))
    assert undone["restored"] == 3


def _run(capsys: pytest.CaptureFixture[str], config: str, *args: str) -> str:
    code = main(["repair", "--config", config, "--json", *args])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return captured.out


def test_a_write_failing_mid_run_leaves_every_write_made_journalled_and_undoable(
    example_env: ExampleEnv, broken: Broken, moto_endpoint: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Chunks of 3 with writes of the next chunk out while the last is journalled: a write that fails
    for good stops the run, and what was written, in any chunk, is in the journal (undo puts every
    item back exactly)."""
    from parity.dynamo import client
    from parity.dynamo_reads import key_schema
    from parity.errors import DynamoDBError
    from parity.pg import connect
    from parity.repair.apply import Settings, apply_plan
    from parity.repair.planner import RepairOptions, build_plan
    from parity.repair.writer import Writer
    from parity.store import Store

    env = example_env
    assert main(["reconcile", "--config", str(env.config_path), "--json"]) == 0
    capsys.readouterr()
    before = {json.dumps(i, sort_keys=True) for i in env.dynamodb.scan(TableName=env.table)["Items"]}
    config = env.config
    store = Store(config.postgres.store_schema)
    with FaultProxy(moto_endpoint) as proxy, connect(env.dsn) as conn:
        dynamodb = client(config.dynamodb.model_copy(update={"endpoint_url": proxy.url}), max_attempts=0)
        schema = key_schema(dynamodb, env.table)
        plan = build_plan(conn, store, dynamodb, config, schema, RepairOptions())
        updates = [s for s in plan.changes if s.action == "update"]
        proxy.before(
            "UpdateItem",
            updates[-1].key_json["id"].encode(),
            lambda: proxy.fail("UpdateItem", "ValidationException", times=1),
        )
        with pytest.raises(DynamoDBError, match="ValidationException"):
            apply_plan(
                conn, store, dynamodb, Writer(dynamodb, env.table), config, schema, plan, RepairOptions(),
                Settings(chunk=3, concurrency=2), run_id="p-failed",
            )  # fmt: skip
    after = [json.dumps(i, sort_keys=True) for i in env.dynamodb.scan(TableName=env.table)["Items"]]
    written = len([i for i in after if i not in before])
    assert 0 < written < len(plan.changes)
    runs = json.loads(_run(capsys, str(env.config_path), "--runs"))
    assert [(r["run_id"], r["status"]) for r in runs] == [("p-failed", "failed")]
    undone = json.loads(_run(capsys, str(env.config_path), "--undo", "p-failed"))
    assert undone["restored"] == written
    restored = {json.dumps(i, sort_keys=True) for i in env.dynamodb.scan(TableName=env.table)["Items"]}
    assert restored == before
