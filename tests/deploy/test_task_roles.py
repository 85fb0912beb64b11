"""Each ECS task role allows exactly what its command calls: run the command against moto, record every
AWS operation botocore sends (forked reconcile workers included), and check each one against the
actions of the role the CloudFormation stack gives that command's task.

The recorder wraps botocore's BaseClient._make_api_call and lets every call through to moto; it
stands in for nothing. A command that starts calling a new operation fails here until its role
allows it (the replay role lacked dynamodb:Scan, which replay uses when a key cannot be derived)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.client
import pytest
from cfnlint.decode import decode

from parity.cli import main
from parity.local.example import Session, generate, write_dynamodb, write_postgres
from tests.conftest import ExampleEnv

TEMPLATE = Path(__file__).resolve().parents[2] / "deploy" / "cloudformation" / "parity.yaml"
IAM_PREFIX = {"dynamodb": "dynamodb", "dynamodbstreams": "dynamodb", "kinesis": "kinesis"}


def role_actions(role: str, *, stream_mode: bool = True) -> set[str]:
    """Every action a task role's inline and managed policies allow (in stream or Kinesis mode)."""
    template, matches = decode(str(TEMPLATE))
    assert template is not None and not matches
    resources = template["Resources"]
    properties = resources[role]["Properties"]
    documents = [p["PolicyDocument"] for p in properties.get("Policies", [])]
    managed = properties.get("ManagedPolicyArns", [])
    if isinstance(managed, dict) and "Fn::If" in managed:
        condition, when_true, when_false = managed["Fn::If"]
        assert condition == "StreamMode"
        managed = when_true if stream_mode else when_false
    for reference in managed if isinstance(managed, list) else [managed]:
        if isinstance(reference, dict) and "Fn::If" in reference:
            reference = reference["Fn::If"][1 if stream_mode else 2]
        if isinstance(reference, dict) and "Ref" in reference and reference["Ref"] in resources:
            documents.append(resources[reference["Ref"]]["Properties"]["PolicyDocument"])
    actions: set[str] = set()
    for document in documents:
        for statement in document["Statement"]:
            if statement["Effect"] == "Allow":
                listed = statement["Action"]
                actions.update(listed if isinstance(listed, list) else [listed])
    return actions


@pytest.fixture
def recorded_calls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A file collecting 'service:Operation' of every AWS call this process (and its forks) makes."""
    log = tmp_path / "aws-calls.log"
    original = botocore.client.BaseClient._make_api_call

    def recording(self: Any, operation_name: str, api_params: Any) -> Any:
        with open(log, "a", encoding="utf-8") as out:
            out.write(f"{self.meta.service_model.service_name}:{operation_name}\n")
        return original(self, operation_name, api_params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recording)
    yield log


def _iam_actions(log: Path) -> set[str]:
    calls = set(log.read_text().split()) if log.exists() else set()
    log.unlink(missing_ok=True)
    return {f"{IAM_PREFIX[service]}:{operation}" for service, operation in (c.split(":") for c in calls)}


def _seed(env: ExampleEnv, recorded_calls: Path) -> list[Session]:
    """Four sessions in both stores, two in DynamoDB only (replay's work); the seeding's calls not recorded."""
    sessions = generate(1, 6, seed=21)[0].sessions
    write_postgres(env.conn, sessions[:4])  # type: ignore[arg-type]
    env.conn.commit()
    write_dynamodb(env.dynamodb, env.table, sessions[:4])  # type: ignore[arg-type]
    _iam_actions(recorded_calls)
    return sessions


def test_each_command_calls_only_what_its_task_role_allows(example_env: ExampleEnv, recorded_calls: Path) -> None:
    sessions = _seed(example_env, recorded_calls)
    config = ["--config", str(example_env.config_path)]
    main(["consume", "--from", "trim_horizon", "--stop-when-idle", "1", *config])
    _check(["consume"], "ConsumerTaskRole", recorded_calls)
    write_dynamodb(example_env.dynamodb, example_env.table, sessions[4:])  # type: ignore[arg-type]
    _iam_actions(recorded_calls)
    commands: list[tuple[list[str], str]] = [
        (["reconcile", "--segments", "2"], "ReconcilerTaskRole"),
        (["reconcile", "--segments", "2", "--processes", "2"], "ReconcilerTaskRole"),
        (["reconcile", "--open"], "ReconcilerTaskRole"),
        (["replay", "--from-stream"], "ReplayTaskRole"),
        (["gate"], "GateTaskRole"),
    ]
    for command, role in commands:
        main([*command, *config])
        _check(command, role, recorded_calls)
    # Without item_key templates replay finds a discrepancy's item by Scan (the key of a row it cannot derive).
    bare = example_env.config_path.with_name("no-item-key.toml")
    lines = example_env.config_path.read_text().splitlines()
    bare.write_text("\n".join(line for line in lines if not line.startswith("item_key")) + "\n")
    main(["reconcile", "--config", str(bare)])
    _iam_actions(recorded_calls)
    main(["replay", "--config", str(bare), "--apply"])
    called = _iam_actions(recorded_calls)
    assert "dynamodb:Scan" in called
    assert called <= role_actions("ReplayTaskRole")
    main(["replay", "--from-stream", "--apply", *config])
    _check(["replay", "--from-stream", "--apply"], "ReplayTaskRole", recorded_calls)


def _check(command: list[str], role: str, recorded_calls: Path) -> None:
    called = _iam_actions(recorded_calls)
    assert called, f"parity {' '.join(command)} made no AWS call: the recorder is not recording"
    allowed = role_actions(role)
    assert called <= allowed, f"parity {' '.join(command)} calls {sorted(called - allowed)}, not in {role}"


def test_the_check_sees_a_missing_action() -> None:
    """The role reader is not vacuous: it finds the actions that are there and not one that is not."""
    replay = role_actions("ReplayTaskRole")
    assert {"dynamodb:BatchGetItem", "dynamodb:Scan", "dynamodb:GetRecords"} <= replay
    assert "dynamodb:PutItem" not in replay
    assert "dynamodb:GetRecords" not in role_actions("ReplayTaskRole", stream_mode=False)


def test_the_recorder_sees_forked_workers(example_env: ExampleEnv, recorded_calls: Path) -> None:
    _seed(example_env, recorded_calls)
    pid = os.fork()
    if pid == 0:  # a child, as reconcile's worker processes are
        example_env.dynamodb.describe_table(TableName=example_env.table)
        os._exit(0)
    os.waitpid(pid, 0)
    assert "dynamodb:DescribeTable" in _iam_actions(recorded_calls)


def test_repair_calls_only_what_the_repair_task_role_allows(example_env: ExampleEnv, recorded_calls: Path) -> None:
    """Dry run, apply with deletes and batched puts, the gone rows' items found by Scan, undo."""
    sessions = generate(1, 8, seed=23)[0].sessions
    write_postgres(example_env.conn, sessions[:6])  # type: ignore[arg-type]
    example_env.conn.commit()
    write_dynamodb(example_env.dynamodb, example_env.table, [*sessions[2:4], *sessions[6:]])  # type: ignore[arg-type]
    main(["reconcile", "--config", str(example_env.config_path)])
    _iam_actions(recorded_calls)
    config = ["--config", str(example_env.config_path)]
    main(["repair", *config])
    _check(["repair"], "RepairTaskRole", recorded_calls)
    main(["repair", "--apply", "--include-deletes", "--batch-puts", *config])
    called = _iam_actions(recorded_calls)
    # the items of gone rows are found by Scan: the session's item_key needs campaign_id, which only the row had
    assert {"dynamodb:BatchWriteItem", "dynamodb:DeleteItem", "dynamodb:Scan"} <= called
    assert called <= role_actions("RepairTaskRole"), sorted(called - role_actions("RepairTaskRole"))
    from parity.pg import connect

    with connect(example_env.dsn) as conn:
        run_id = conn.execute("SELECT run_id FROM parity.journal_runs WHERE kind = 'repair'").fetchone()["run_id"]  # type: ignore[index]
    main(["repair", "--undo", run_id, *config])
    _check(["repair", "--undo"], "RepairTaskRole", recorded_calls)
    assert "dynamodb:PutItem" not in role_actions("ReplayTaskRole")
