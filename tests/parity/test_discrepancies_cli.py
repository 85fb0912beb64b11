"""`parity discrepancies`: values from a real reconcile, filters, the text table, accept / reopen."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from parity.cli import main
from tests.conftest import ExampleEnv
from tests.reconciler.helpers import seed


def _json(capsys: pytest.CaptureFixture[str], *argv: str, config: Path) -> Any:
    assert main(["discrepancies", "--config", str(config), "--json", *argv]) == 0
    return json.loads(capsys.readouterr().out)


def test_values_filters_and_triage(example_env: ExampleEnv, capsys: pytest.CaptureFixture[str]) -> None:
    seeded = seed(example_env)
    cfg = example_env.config_path
    assert main(["reconcile", "--config", str(cfg), "--recheck-delay", "0"]) == 0
    capsys.readouterr()
    [differ] = _json(capsys, "--entity", "session", "--key", json.dumps({"id": seeded.mismatched_summary}), config=cfg)
    summary = example_env.conn.execute(
        "SELECT summary FROM public.sessions WHERE id = %s", (seeded.mismatched_summary,)
    ).fetchone()
    assert summary is not None
    assert differ["values"] == {"summary": {"dynamodb": "changed only in DynamoDB", "postgres": summary["summary"]}}
    assert (differ["status"], differ["note"], differ["detected_by"]) == ("open", None, "reconcile")
    [wrong] = _json(capsys, "--entity", "session", "--key", json.dumps({"id": seeded.wrong_type}), config=cfg)
    assert wrong["values"]["session_number"]["dynamodb"] == {
        "wrong_type": wrong["values"]["session_number"]["dynamodb"]["wrong_type"]
    }
    [only_ddb] = _json(capsys, "--kind", "missing_in_postgres", config=cfg)
    assert only_ddb["key"] == {"id": seeded.missing_in_postgres}
    assert only_ddb["values"]["dynamodb"]["id"] == seeded.missing_in_postgres
    assert set(only_ddb["values"]["dynamodb"]) == {
        "id",
        "campaign_id",
        "name",
        "summary",
        "metadata",
        "session_number",
        "tags",
        "created_at",
        "updated_at",
    }
    [only_pg] = _json(capsys, "--kind", "missing_in_dynamodb", config=cfg)
    row = example_env.conn.execute(
        "SELECT name, session_number FROM public.sessions WHERE id = %s", (seeded.missing_in_dynamodb,)
    ).fetchone()
    assert row is not None
    assert only_pg["values"]["postgres"]["name"] == row["name"]
    assert only_pg["values"]["postgres"]["session_number"] == row["session_number"]

    # the text table shows both sides
    assert main(["discrepancies", "--config", str(cfg), "--kind", "mismatched", "--entity", "session"]) == 0
    table = capsys.readouterr().out
    # a long pair goes one side per line, aligned under the column name
    both = f'summary: dynamodb="changed only in DynamoDB"  postgres="{summary["summary"]}"'
    split = f'summary: dynamodb="changed only in DynamoDB"\n             postgres="{summary["summary"]}"'
    assert (both if len(both) <= 100 else split[:150]) in table

    # accept one with a note (the key as the user typed it: upper-case uuid), then reopen it
    key = json.dumps({"id": seeded.mismatched_summary.upper()})
    code = main(["discrepancies", "accept", "--config", str(cfg), "--entity", "session", "--key", key,
                 "--note", "summary rewritten by the CMS", "--by", "ana"])  # fmt: skip
    assert code == 0 and "accepted 1 discrepancy (by ana)" in capsys.readouterr().out
    [accepted] = _json(capsys, "--status", "accepted", config=cfg)
    assert (accepted["key"], accepted["note"], accepted["accepted_by"]) == (
        {"id": seeded.mismatched_summary},
        "summary rewritten by the CMS",
        "ana",
    )
    assert seeded.mismatched_summary not in [d["key"]["id"] for d in _json(capsys, config=cfg)]
    assert main(["discrepancies", "reopen", "--config", str(cfg), "--entity", "session", "--key", key]) == 0
    assert "reopened 1 discrepancy" in capsys.readouterr().out
    assert _json(capsys, "--status", "accepted", config=cfg) == []


def test_accept_from_a_file_is_all_or_nothing(
    example_env: ExampleEnv, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    seeded = seed(example_env)
    cfg = example_env.config_path
    assert main(["reconcile", "--config", str(cfg), "--recheck-delay", "0"]) == 0
    capsys.readouterr()
    lines = tmp_path / "accept.jsonl"
    good = {"entity": "session", "key": {"id": seeded.missing_in_postgres}, "note": "test data"}
    unknown = {"entity": "session", "key": {"id": "00000000-0000-4000-8000-000000000000"}, "note": "x"}
    lines.write_text(json.dumps(good) + "\n" + json.dumps(unknown) + "\n")
    code = main(["discrepancies", "accept", "--config", str(cfg), "--file", str(lines)])
    err = capsys.readouterr().err
    assert code == 2 and f"{lines}:2" in err and "has no discrepancy; nothing was accepted" in err
    assert _json(capsys, "--status", "accepted", config=cfg) == []
    lines.write_text(json.dumps(good) + "\n\n" + json.dumps({**good, "key": {"id": seeded.mismatched_summary}}))
    assert main(["discrepancies", "accept", "--config", str(cfg), "--file", str(lines), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"accepted": 2}
    assert len(_json(capsys, "--status", "accepted", config=cfg)) == 2


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["accept", "--entity", "session", "--key", '{"id": "a"}'], "needs --note"),
        (["accept", "--entity", "session", "--note", "n"], "needs --entity and --key"),
        (["--entity", "sesion"], "unknown entity 'sesion'"),
        (["--entity", "session", "--key", "{nope"], "--key: not a JSON object"),
        (["--entity", "session", "--key", '{"sessionId": "a"}'], "are not key columns of entity 'session'"),
        (["--key", '{"id": "a"}'], "--key needs --entity"),
        (["accept", "--file", "/nonexistent/x.jsonl", "--note", "n"], "cannot read /nonexistent/x.jsonl"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    example_env: ExampleEnv, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code = main(["discrepancies", *argv, "--config", str(example_env.config_path)])
    captured = capsys.readouterr()
    assert code == 2, captured
    errors = [line for line in captured.err.splitlines() if line.startswith("parity: error:")]
    assert len(errors) == 1 and message in errors[0], captured.err


def test_long_values_that_start_alike_are_shown_from_where_they_differ() -> None:
    from parity.commands.discrepancies import value_lines

    same = "Partner webinar retrospective rollback database customer pricing launch migration plan."
    values = {"summary": {"dynamodb": same + " Update 3: reviewed.", "postgres": same}, "n": {"dynamodb": 1}}
    assert list(value_lines("mismatched", values)) == [
        'summary: dynamodb=…g launch migration plan. Update 3: reviewed."',
        '         postgres=…g launch migration plan."',
        "n: dynamodb=1  postgres=null",
    ]
    assert list(value_lines("missing_in_dynamodb", {"postgres": {"id": "a", "name": "redacted:0123456789ab"}})) == [
        'postgres: id="a", name=redacted:0123456789ab'
    ]


def test_an_accepted_discrepancy_stays_accepted_until_a_checker_sees_new_values(
    example_env: ExampleEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    seeded = seed(example_env)
    cfg = str(example_env.config_path)
    key = {"id": seeded.mismatched_summary}
    assert main(["reconcile", "--config", cfg, "--recheck-delay", "0"]) == 0
    assert main(["discrepancies", "accept", "--config", cfg, "--entity", "session", "--key", json.dumps(key),
                 "--note", "CMS rewrites it"]) == 0  # fmt: skip
    assert main(["reconcile", "--config", cfg, "--recheck-delay", "0"]) == 0  # the same difference again
    capsys.readouterr()
    [same] = _json(capsys, "--status", "all", "--entity", "session", "--key", json.dumps(key), config=Path(cfg))
    assert (same["status"], same["note"]) == ("accepted", "CMS rewrites it")
    # DynamoDB's value changes: the next check reopens it with the new values
    item = example_env.dynamodb.scan(
        TableName=example_env.table,
        FilterExpression="sessionId = :id",
        ExpressionAttributeValues={":id": {"S": seeded.mismatched_summary}},
    )["Items"][0]
    example_env.dynamodb.put_item(TableName=example_env.table, Item={**item, "summary": {"S": "changed again"}})
    assert main(["reconcile", "--config", cfg, "--open"]) == 0
    capsys.readouterr()
    [again] = _json(capsys, "--status", "all", "--entity", "session", "--key", json.dumps(key), config=Path(cfg))
    assert (again["status"], again["note"]) == ("open", "CMS rewrites it")
    assert again["values"]["summary"]["dynamodb"] == "changed again"
