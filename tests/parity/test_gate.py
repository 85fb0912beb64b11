"""`parity gate` end to end: from found to ready, and one failing check per cause.

The ready state: the seeded stores with one discrepancy of every kind, the stream consumed to its
end, a full reconcile; one discrepancy fixed, the others accepted, `reconcile --open`. Each test
then breaks one thing and expects exit 1 naming exactly that check.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from parity.cli import main
from parity.pg import connect
from parity.store import Store
from tests.conftest import ExampleEnv
from tests.reconciler.helpers import seed

CHECKS = [
    "reconcile_age",
    "reconcile_parity",
    "open_discrepancies",
    "dead_letters",
    "stream_gaps",
    "stream_lag",
    "pending_rechecks",
]


def _gate(env: ExampleEnv, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code = main(["gate", "--config", str(env.config_path), "--json", *argv])
    return code, json.loads(capsys.readouterr().out)


def _failing(answer: dict[str, Any]) -> list[str]:
    return [c["name"] for c in answer["checks"] if not c["ok"]]


def _consume(env: ExampleEnv) -> None:
    assert main(["consume", "--config", str(env.config_path), "--stop-when-idle", "1"]) == 0


@pytest.fixture
def ready(example_env: ExampleEnv, capsys: pytest.CaptureFixture[str]) -> ExampleEnv:
    """The seeded stores taken through the workflow to a passing gate (asserted on the way)."""
    text = example_env.config_path.read_text().replace("grace_seconds = 30\n", "grace_seconds = 0\n")
    example_env.config_path.write_text(text + "\n")
    seeded = seed(example_env)
    _consume(example_env)
    assert main(["reconcile", "--config", str(example_env.config_path), "--recheck-delay", "0"]) == 0
    capsys.readouterr()
    code, answer = _gate(example_env, capsys)
    assert code == 1 and [c["name"] for c in answer["checks"]] == CHECKS
    # the seed's item of no configured entity is a dead letter of the stream consumer
    assert set(_failing(answer)) == {"reconcile_parity", "open_discrepancies", "dead_letters"}, answer
    example_env.conn.execute("DELETE FROM parity.dead_letters")  # what the operator clears once understood
    # fix one in PostgreSQL (the row takes DynamoDB's summary), accept every other one
    example_env.conn.execute(
        "UPDATE public.sessions SET summary = 'changed only in DynamoDB' WHERE id = %s", (seeded.mismatched_summary,)
    )
    example_env.conn.commit()
    lines = []
    assert main(["discrepancies", "--config", str(example_env.config_path), "--json"]) == 0
    for d in json.loads(capsys.readouterr().out):
        if d["key"] != {"id": seeded.mismatched_summary}:
            lines.append(json.dumps({"entity": d["entity"], "key": d["key"], "note": "known test data"}))
    accept_file = example_env.config_path.parent / "accept.jsonl"
    accept_file.write_text("\n".join(lines) + "\n")
    assert main(["discrepancies", "accept", "--config", str(example_env.config_path), "--file", str(accept_file)]) == 0
    assert main(["reconcile", "--config", str(example_env.config_path), "--open", "--json"]) == 0
    rechecked = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert (rechecked["rechecked"], rechecked["resolved"]) == (len(lines) + 1, 1)
    code, answer = _gate(example_env, capsys)
    assert code == 0 and answer["ready"] is True, answer
    return example_env


def test_ready_after_fix_accept_and_recheck_text_names_every_check(
    ready: ExampleEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["gate", "--config", str(ready.config_path)]) == 0
    out = capsys.readouterr().out
    for name in CHECKS:
        assert f"ok    {name}" in out
    assert "READY: safe to cut over" in out
    # --min-parity is of the run with accepted and since-resolved findings counted as matched
    assert "100% of" in out


def test_a_new_dynamodb_only_write_fails_open_discrepancies(
    ready: ExampleEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    from parity.local.example import generate

    [campaign] = generate(1, 1, seed=99)
    ready.dynamodb.put_item(TableName=ready.table, Item=campaign.sessions[0].item())
    _consume(ready)
    code, answer = _gate(ready, capsys)
    assert code == 1 and _failing(answer) == ["open_discrepancies"]
    [check] = [c for c in answer["checks"] if c["name"] == "open_discrepancies"]
    assert check["detail"].startswith("1 open discrepancy")


def test_a_dead_letter_fails_dead_letters(ready: ExampleEnv, capsys: pytest.CaptureFixture[str]) -> None:
    with connect(ready.dsn) as conn:
        Store("parity").dead_letter(conn, "dynamodb-streams", "rec-1", "cannot decode", {"raw": True})
        conn.commit()
    code, answer = _gate(ready, capsys)
    assert code == 1 and _failing(answer) == ["dead_letters"]


def test_a_lagging_shard_fails_stream_lag(ready: ExampleEnv, capsys: pytest.CaptureFixture[str]) -> None:
    from parity.local.example import generate, write_postgres

    [campaign] = generate(1, 1, seed=98)
    write_postgres(ready.conn, [campaign])  # both stores get it: no discrepancy, only an unread record
    ready.dynamodb.put_item(TableName=ready.table, Item=campaign.item())
    time.sleep(2.1)
    code, answer = _gate(ready, capsys, "--max-lag", "2")
    assert code == 1 and _failing(answer) == ["stream_lag"], answer
    assert "behind by more than --max-lag 2 s" in answer["checks"][5]["detail"]
    assert _gate(ready, capsys, "--max-lag", "600")[0] == 0  # within a looser bound


def test_a_stale_reconcile_fails_reconcile_age(ready: ExampleEnv, capsys: pytest.CaptureFixture[str]) -> None:
    ready.conn.execute("UPDATE parity.reconcile_runs SET finished_at = now() - interval '25 hours'")
    ready.conn.commit()
    code, answer = _gate(ready, capsys)
    assert code == 1 and _failing(answer) == ["reconcile_age"]
    assert _gate(ready, capsys, "--max-age", "26")[0] == 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--min-parity", "101"], "--min-parity must be a percentage"),
        (["--max-age", "0"], "--max-age must be a positive number of hours"),
        (["--max-lag", "-1"], "--max-lag must be zero or more seconds"),
    ],
)
def test_bad_input_exits_2(
    example_env: ExampleEnv, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(["gate", "--config", str(example_env.config_path), *argv]) == 2
    assert message in capsys.readouterr().err
