"""``parity replay`` against the real local stack: moto's DynamoDB (with its stream) and PostgreSQL.

Each test writes the example app's sessions to both stores, then injects writes that reached
DynamoDB only (an insert, an update, a delete), a row PostgreSQL has newer than DynamoDB, and a
same-version conflict, lets ``parity reconcile`` find them, and replays.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from parity.cli import main
from parity.local.example import Session, generate, write_dynamodb, write_postgres
from parity.pg import connect
from tests.conftest import ExampleEnv


@dataclass
class Scenario:
    sessions: list[Session]
    dynamodb_only_insert: Session
    dynamodb_only_update: Session
    postgres_newer: Session
    dynamodb_only_delete: Session
    conflict: Session


def _rows(env: ExampleEnv) -> dict[str, dict[str, Any]]:
    with connect(env.dsn) as conn:
        return {str(r["id"]): dict(r) for r in conn.execute("SELECT * FROM public.sessions")}


def _scenario(env: ExampleEnv) -> Scenario:
    sessions = generate(1, 12, seed=5)[0].sessions
    plain = sessions[:7]
    insert, update, newer, delete, conflict = sessions[7:12]
    write_dynamodb(env.dynamodb, env.table, [*plain, update, newer, delete, conflict])
    write_postgres(env.conn, [*plain, update, newer, delete, conflict])
    # writes whose PostgreSQL half failed
    write_dynamodb(env.dynamodb, env.table, [insert])
    updated = update.touched(summary="changed in DynamoDB only")
    write_dynamodb(env.dynamodb, env.table, [updated])
    env.dynamodb.delete_item(TableName=env.table, Key=delete.key())
    # PostgreSQL is ahead of DynamoDB for this one (its DynamoDB half failed)
    ahead = newer.touched(summary="newer in PostgreSQL")
    write_postgres(env.conn, [ahead])
    # same version, different value
    write_postgres(env.conn, [conflict.touched(updated_at=conflict.updated_at, name="typo")])
    env.conn.commit()
    return Scenario(sessions, insert, updated, ahead, delete, conflict)


def _parity(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    return code, capsys.readouterr().out


def _replay_json(capsys: pytest.CaptureFixture[str], env: ExampleEnv, *extra: str) -> dict[str, Any]:
    code, out = _parity(capsys, "replay", "--config", str(env.config_path), "--json", *extra)
    assert code == 0, out
    return dict(json.loads(out))


def test_dry_run_plans_from_discrepancies_and_stream_and_writes_nothing(
    example_env: ExampleEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    s = _scenario(example_env)
    code, _ = _parity(capsys, "reconcile", "--config", str(example_env.config_path), "--json")
    assert code == 0
    before = _rows(example_env)
    summary = _replay_json(capsys, example_env, "--from-stream")
    actions = {p["key"]["id"]: p["action"] for p in summary["plan"]}
    assert actions == {
        s.dynamodb_only_insert.id: "insert",
        s.dynamodb_only_update.id: "update",
        s.postgres_newer.id: "skip_newer_in_postgres",
        s.dynamodb_only_delete.id: "skip_delete_excluded",
        s.conflict.id: "skip_conflict",
    }
    assert (summary["planned"], summary["applied"], summary["skipped_newer_in_postgres"], summary["deletes"]) == (
        2,
        0,
        1,
        0,
    )
    assert summary["dry_run"] is True and summary["run_id"] is None
    update = next(p for p in summary["plan"] if p["key"]["id"] == s.dynamodb_only_update.id)
    assert update["columns"] == ["summary", "updated_at"]
    assert _rows(example_env) == before


def test_apply_is_version_guarded_idempotent_and_resolves(
    example_env: ExampleEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    s = _scenario(example_env)
    cfg = ["--config", str(example_env.config_path)]
    _parity(capsys, "reconcile", *cfg)
    before = _rows(example_env)
    summary = _replay_json(capsys, example_env, "--from-stream", "--apply", "--include-deletes")
    assert (summary["planned"], summary["applied"], summary["skipped_newer_in_postgres"], summary["deletes"]) == (
        3,
        3,
        1,
        1,
    )
    assert summary["run_id"]
    after = _rows(example_env)
    assert s.dynamodb_only_delete.id not in after
    assert after[s.dynamodb_only_insert.id]["name"] == s.dynamodb_only_insert.name
    assert after[s.dynamodb_only_update.id]["summary"] == "changed in DynamoDB only"
    assert after[s.postgres_newer.id] == before[s.postgres_newer.id]  # the newer row is untouched
    assert after[s.conflict.id] == before[s.conflict.id]
    # resolved discrepancies: insert and update (the delete was found by the stream, not a discrepancy)
    _code, out = _parity(capsys, "discrepancies", *cfg, "--json", "--status", "resolved")
    resolved = {d["key"]["id"] for d in json.loads(out) if d["status"] == "resolved"}
    assert {s.dynamodb_only_insert.id, s.dynamodb_only_update.id} <= resolved
    # a second run changes nothing
    again = _replay_json(capsys, example_env, "--from-stream", "--apply", "--include-deletes")
    assert (again["planned"], again["applied"]) == (0, 0)
    assert _rows(example_env) == after


def test_undo_restores_previous_rows_unless_changed_since(
    example_env: ExampleEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    s = _scenario(example_env)
    cfg = ["--config", str(example_env.config_path)]
    _parity(capsys, "reconcile", *cfg)
    before = _rows(example_env)
    summary = _replay_json(capsys, example_env, "--from-stream", "--apply", "--include-deletes", "--include-conflicts")
    assert summary["applied"] == 4
    # the app writes the inserted row again after the replay: undo must leave it alone
    changed = s.dynamodb_only_insert.touched(name="written by the app after the replay")
    write_postgres(example_env.conn, [changed])
    example_env.conn.commit()
    code, out = _parity(capsys, "replay", *cfg, "--undo", summary["run_id"], "--json")
    assert code == 0
    undone = json.loads(out)
    assert (undone["restored"], undone["skipped_changed_since"]) == (3, 1)
    assert undone["left_alone"] == [
        {
            "entity": "session",
            "key": {"id": s.dynamodb_only_insert.id},
            "action": "insert",
            "reason": "the row was changed since the replay (it no longer holds what the replay wrote)",
        }
    ]
    # the discrepancies the replay resolved are open again, except the insert's (its row was left alone)
    assert undone["reopened"] == 3
    _code, out = _parity(capsys, "discrepancies", *cfg, "--json", "--status", "open")
    reopened = {s.dynamodb_only_update.id, s.dynamodb_only_delete.id, s.conflict.id}
    assert reopened <= {d["key"]["id"] for d in json.loads(out)}
    after = _rows(example_env)
    assert after[s.dynamodb_only_insert.id]["name"] == changed.name
    for key in (s.dynamodb_only_update.id, s.dynamodb_only_delete.id, s.conflict.id, s.postgres_newer.id):
        assert after[key] == before[key]
    code, out = _parity(capsys, "replay", *cfg, "--undo", summary["run_id"], "--json")
    assert json.loads(out)["restored"] == 0
    code, out = _parity(capsys, "replay", *cfg, "--runs", "--json")
    runs = json.loads(out)
    assert [(r["run_id"], r["status"]) for r in runs] == [(summary["run_id"], "undone")]
    assert runs[0]["summary"]["inserted"] == 1 and runs[0]["summary"]["deleted"] == 1


def test_unknown_run_and_bad_flags_exit_2(example_env: ExampleEnv, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = ["--config", str(example_env.config_path)]
    assert main(["replay", *cfg, "--undo", "r-nope"]) == 2
    assert "no such replay run" in capsys.readouterr().err
    assert main(["replay", *cfg, "--max-rows", "0"]) == 2
    assert "--max-rows 0" in capsys.readouterr().err
    assert main(["replay", *cfg, "--entity", "sesion"]) == 2
    assert "no such entity" in capsys.readouterr().err
