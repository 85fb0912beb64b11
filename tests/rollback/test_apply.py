"""Applying a replay on the real local stack: the version guard under a race, whole batches after a
failure mid-apply, the archive as a source (TTL deletes never replayed), and a role that may not
write being refused before planning."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from psycopg.conninfo import make_conninfo

from parity.cli import main
from parity.dynamo_reads import key_schema
from parity.local.example import Session, config_toml, generate, write_dynamodb, write_postgres
from parity.pg import connect
from parity.rollback.apply import apply_plan, new_run_id
from parity.rollback.candidates import SourceName
from parity.rollback.planner import ReplayOptions, build_plan
from parity.store import Store
from parity.stream.records import TTL_PRINCIPAL
from tests.conftest import ExampleEnv


def _rows(env: ExampleEnv) -> dict[str, dict[str, Any]]:
    with connect(env.dsn) as conn:
        return {str(r["id"]): dict(r) for r in conn.execute("SELECT * FROM public.sessions")}


def _session_entity(env: ExampleEnv) -> Any:
    return next(e for e in env.config.entity if e.name == "session")


def _dynamodb_only(env: ExampleEnv, count: int, seed: int = 3) -> list[Session]:
    """Sessions written to DynamoDB only (their PostgreSQL half failed)."""
    sessions = generate(1, count, seed=seed)[0].sessions
    write_dynamodb(env.dynamodb, env.table, sessions)  # type: ignore[arg-type]
    return sessions


def _plan_from_stream(env: ExampleEnv, options: ReplayOptions) -> Any:
    from parity.dynamo import client
    from parity.rollback.sources import from_stream
    from parity.stream.shards import StreamReader, stream_arn_of

    schema = key_schema(env.dynamodb, env.table)
    arn = stream_arn_of(env.dynamodb, env.table)
    assert arn is not None
    window = from_stream(StreamReader(client(env.config.dynamodb, "dynamodbstreams"), arn), env.config.entity, schema)
    with connect(env.dsn) as conn:
        return build_plan(conn, env.dynamodb, env.config, {SourceName.STREAM: window.candidates}, schema, options)


def test_a_row_made_newer_after_planning_is_left_alone(example_env: ExampleEnv) -> None:
    sessions = _dynamodb_only(example_env, 3)
    plan = _plan_from_stream(example_env, ReplayOptions())
    assert [s.action.value for s in plan.changes] == ["insert"] * 3
    # the app writes one of them to PostgreSQL, newer, between the plan and the apply
    raced = sessions[1].touched(name="written by the app meanwhile")
    write_postgres(example_env.conn, [raced])
    example_env.conn.commit()
    store = Store("parity")
    with connect(example_env.dsn) as conn:
        store.migrate(conn)
        applied = apply_plan(conn, store, example_env.config, plan, ReplayOptions(), run_id=new_run_id(), batch_size=2)
    assert (applied.inserted, applied.skipped_newer_in_postgres) == (2, 1)
    assert _rows(example_env)[raced.id]["name"] == raced.name


def test_a_failure_mid_apply_leaves_whole_batches_and_a_rerun_finishes(
    example_env: ExampleEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    sessions = sorted(_dynamodb_only(example_env, 6), key=lambda s: s.id)
    poisoned = sessions[3].id  # in the second batch of two
    example_env.conn.execute(
        f"""CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN IF NEW.id = '{poisoned}' THEN RAISE EXCEPTION 'disk full (injected)'; END IF; RETURN NEW; END $$;
            CREATE TRIGGER refuse BEFORE INSERT ON public.sessions FOR EACH ROW EXECUTE FUNCTION refuse();"""
    )
    example_env.conn.commit()
    cfg = ["--config", str(example_env.config_path)]
    assert main(["replay", *cfg, "--from-stream", "--apply", "--batch-size", "2"]) == 2
    assert "disk full (injected)" in capsys.readouterr().err
    assert set(_rows(example_env)) == {s.id for s in sessions[:2]}  # batch 1 whole, batch 2 not at all
    example_env.conn.execute("DROP TRIGGER refuse ON public.sessions")
    example_env.conn.commit()
    assert main(["replay", *cfg, "--from-stream", "--apply", "--batch-size", "2", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["planned"], summary["applied"]) == (4, 4)
    assert main(["replay", *cfg, "--runs", "--json"]) == 0
    runs = json.loads(capsys.readouterr().out)
    assert [r["status"] for r in runs] == ["failed", "applied"]
    assert "disk full (injected)" in runs[0]["summary"]["error"]
    assert set(_rows(example_env)) == {s.id for s in sessions}


def test_archived_deletes_replay_only_when_made_by_a_user(
    example_env: ExampleEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    sessions = generate(1, 2, seed=8)[0].sessions
    write_postgres(example_env.conn, sessions)  # type: ignore[arg-type]
    example_env.conn.commit()
    # both items were deleted in DynamoDB (never written there in this test: the same end state);
    # the consumer archived the deletes: one by a user, one by TTL
    store = Store("parity")
    store.migrate(example_env.conn)
    now = datetime.now(UTC)
    store.archive(
        example_env.conn,
        [
            {
                "entity": "session",
                "key": {"id": s.id},
                "event_id": str(uuid.uuid4()),
                "event_name": "REMOVE",
                "approximate_created_at": now,
                "new_image": None,
                "old_image": s.item(),
                "user_identity": identity,
            }
            for s, identity in zip(sessions, [None, TTL_PRINCIPAL], strict=True)
        ],
    )
    example_env.conn.commit()
    cfg = ["--config", str(example_env.config_path)]
    assert main(["replay", *cfg, "--apply", "--include-deletes", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    actions = {p["key"]["id"]: p["action"] for p in summary["plan"]}
    assert actions == {sessions[0].id: "delete", sessions[1].id: "skip_ttl_delete"}
    assert (summary["applied"], summary["deletes"]) == (1, 1)
    assert set(_rows(example_env)) == {sessions[1].id}


def test_a_role_that_cannot_write_is_refused_before_planning(
    example_env: ExampleEnv, capsys: pytest.CaptureFixture[str], tmp_path: Any
) -> None:
    role = f"parity_ro_{uuid.uuid4().hex[:8]}"
    admin = example_env.conn
    admin.execute(f"CREATE ROLE {role} LOGIN")
    try:
        admin.execute(f"GRANT SELECT ON public.sessions, public.campaigns TO {role}")
        admin.commit()
        config = tmp_path / "ro.toml"
        config.write_text(
            config_toml(
                table=example_env.table,
                dsn=make_conninfo(example_env.dsn, user=role),
                endpoint_url=example_env.endpoint_url,
            )
        )
        assert main(["replay", "--config", str(config)]) == 2
        err = capsys.readouterr().err
        assert f"role '{role}' lacks INSERT, UPDATE on public." in err
        assert "GRANT INSERT, UPDATE ON public." in err
        # refused before planning: the store schema was never created by this role
        assert admin.execute("SELECT 1 FROM pg_namespace WHERE nspname = 'parity'").fetchone() is None
    finally:
        admin.rollback()
        admin.execute(f"DROP OWNED BY {role}")
        admin.execute(f"DROP ROLE {role}")
        admin.commit()


def test_an_item_postgresql_cannot_hold_is_shown_by_the_dry_run_and_refused_until_excluded(
    example_env: ExampleEnv, capsys: pytest.CaptureFixture[str], tmp_path: Any
) -> None:
    sessions = _dynamodb_only(example_env, 3)
    bad = sessions[0]
    drifted = {**bad.item(), "sessionNumber": {"S": "seven"}}  # new app code writes a string
    example_env.dynamodb.put_item(TableName=example_env.table, Item=drifted)
    cfg = ["--config", str(example_env.config_path)]
    assert main(["replay", *cfg, "--from-stream"]) == 0
    out = capsys.readouterr().out
    assert f"error   session      id={bad.id}  cannot be written to PostgreSQL: attribute 'sessionNumber'" in out
    assert main(["replay", *cfg, "--from-stream", "--apply"]) == 2
    err = capsys.readouterr().err
    assert f"1 key(s) cannot be written to PostgreSQL, e.g. session id={bad.id}" in err
    assert "nothing was written" in err and "--exclude FILE" in err
    assert _rows(example_env) == {}
    # the reviewer leaves that key out with the dry run's own plan entries
    assert main(["replay", *cfg, "--from-stream", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)["plan"]
    exclude = tmp_path / "exclude.jsonl"
    exclude.write_text("\n".join(json.dumps(p) for p in plan if p["action"] == "unstorable") + "\n")
    assert main(["replay", *cfg, "--from-stream", "--apply", "--exclude", str(exclude), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["applied"], summary["excluded"]) == (2, 1)
    assert set(_rows(example_env)) == {s.id for s in sessions[1:]}


def test_a_bad_exclude_file_exits_2_naming_the_entry(
    example_env: ExampleEnv, capsys: pytest.CaptureFixture[str], tmp_path: Any
) -> None:
    cfg = ["--config", str(example_env.config_path)]
    exclude = tmp_path / "exclude.json"
    exclude.write_text(
        '[{"entity": "session", "key": {"id": "4f1c2d3e-0000-4000-8000-000000000001"}},'
        ' {"entity": "sesion", "key": {}}]'
    )
    assert main(["replay", *cfg, "--exclude", str(exclude)]) == 2
    assert "entry 2 names entity 'sesion', not in the config" in capsys.readouterr().err
    exclude.write_text("{not json")
    assert main(["replay", *cfg, "--exclude", str(exclude)]) == 2
    assert "line 1: not JSON" in capsys.readouterr().err


def test_a_null_for_a_not_null_column_is_unstorable(
    example_env: ExampleEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    session = _dynamodb_only(example_env, 1)[0]
    nameless = {k: v for k, v in session.item().items() if k != "name"}  # sessions.name is NOT NULL
    example_env.dynamodb.put_item(TableName=example_env.table, Item=nameless)
    cfg = ["--config", str(example_env.config_path)]
    assert main(["replay", *cfg, "--from-stream", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)["plan"]
    assert plan == [
        {
            "entity": "session",
            "key": {"id": session.id},
            "action": "unstorable",
            "columns": [],
            "sources": ["stream"],
            "reason": "public.sessions column(s) name are NOT NULL and the item gives no value",
            "item_key": {k: session.item()[k] for k in ("pk", "sk")},
        }
    ]
    assert main(["replay", *cfg, "--from-stream", "--apply"]) == 2
    assert _rows(example_env) == {}


def test_max_rows_caps_one_run_and_the_next_run_continues(
    example_env: ExampleEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    sessions = _dynamodb_only(example_env, 5)
    cfg = ["--config", str(example_env.config_path), "--from-stream", "--json"]
    assert main(["replay", *cfg, "--apply", "--max-rows", "2"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert (first["planned"], first["applied"], first["remaining"]) == (2, 2, 3)
    assert len(_rows(example_env)) == 2
    assert main(["replay", *cfg, "--apply", "--max-rows", "2"]) == 0
    assert json.loads(capsys.readouterr().out)["remaining"] == 1
    assert main(["replay", *cfg, "--apply"]) == 0
    assert json.loads(capsys.readouterr().out)["applied"] == 1
    assert set(_rows(example_env)) == {s.id for s in sessions}


def test_values_postgresql_cannot_hold_are_unstorable_in_the_dry_run(
    example_env: ExampleEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    """U+0000 in text and jsonb, an integer beyond the column's int4, a number beyond numeric(14,2):
    DynamoDB holds them, PostgreSQL refuses them. The dry run names key and column; --apply writes nothing."""
    campaign = generate(1, 4, seed=11)[0]
    sessions = sorted(campaign.sessions, key=lambda s: s.id)
    items = [
        {**sessions[0].item(), "name": {"S": "nul\x00inside"}},
        {**sessions[1].item(), "metadata": {"M": {"note": {"S": "x\x00y"}}}},
        {**sessions[2].item(), "sessionNumber": {"N": str(2**31)}},
        {**campaign.item(), "budget": {"N": "1E+12"}},
    ]
    for item in items:
        example_env.dynamodb.put_item(TableName=example_env.table, Item=item)
    write_dynamodb(example_env.dynamodb, example_env.table, [sessions[3]])  # one storable insert
    cfg = ["--config", str(example_env.config_path), "--from-stream"]
    assert main(["replay", *cfg, "--json"]) == 0
    plan = {json.dumps(p["key"]): p for p in json.loads(capsys.readouterr().out)["plan"]}
    expected = {
        sessions[0].id: "public.sessions column name: text cannot hold U+0000",
        sessions[1].id: "public.sessions column metadata: jsonb cannot hold U+0000 (\\u0000) in a string",
        sessions[2].id: "public.sessions column session_number: 2147483648 is out of range for integer",
        campaign.id: "public.campaigns column budget: 1E+12 overflows numeric(14,2)",
    }
    for key, reason in expected.items():
        step = plan[json.dumps({"id": key})]
        assert (step["action"], step["reason"]) == ("unstorable", reason), step
    assert plan[json.dumps({"id": sessions[3].id})]["action"] == "insert"
    assert main(["replay", *cfg]) == 0
    out = capsys.readouterr().out
    assert f"id={sessions[2].id}  cannot be written to PostgreSQL: public.sessions column session_number" in out
    assert main(["replay", *cfg, "--apply"]) == 2
    assert "4 key(s) cannot be written to PostgreSQL, e.g. " in capsys.readouterr().err
    assert _rows(example_env) == {}
