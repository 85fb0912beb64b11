"""Per-column rules: `compare = false` and `normalize = ["trim", "casefold"]`, and reports that say so."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from parity.cli import main
from parity.compare import Comparison, Verdict, compare, rules_text
from parity.config import parse_config
from parity.errors import ConfigError
from parity.local.example import generate, write_dynamodb, write_postgres
from tests.conftest import ExampleEnv


def _config(columns: dict[str, object]) -> object:
    return parse_config(
        {
            "dynamodb": {"table": "app"},
            "entity": [
                {
                    "name": "user",
                    "table": "users",
                    "match": {"__edb_e__": "user"},
                    "key": {"id": "id"},
                    "columns": columns,
                }
            ],
        }
    )


def test_rules_decide_what_differs() -> None:
    config = _config(
        {
            "email": {"attribute": "email", "normalize": ["trim", "casefold"]},
            "nickname": {"attribute": "nickname", "normalize": ["trim"]},
            "audit": {"attribute": "audit", "compare": False},
        }
    )
    entity = config.entity[0]  # type: ignore[attr-defined]
    item = {"__edb_e__": {"S": "user"}, "id": {"S": "1"}, "email": {"S": " Ana@Example.COM "},
            "nickname": {"S": " Ana "}, "audit": {"S": "written by lambda"}}  # fmt: skip
    row = {"id": "1", "email": "ana@example.com", "nickname": "ana", "audit": "written by the app"}
    assert compare(entity, item, row) == Comparison(Verdict.MISMATCHED, ("nickname",))  # trim only: case differs
    assert compare(entity, item, {**row, "nickname": "Ana"}).is_match
    assert compare(entity, item, {**row, "email": "bo@example.com", "nickname": "Ana"}).columns == ("email",)
    assert rules_text([entity]) == (
        "user.email normalized (trim, casefold); user.nickname normalized (trim); user.audit not compared"
    )


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        (
            {"n": {"attribute": "n", "type": "integer", "normalize": ["trim"]}},
            "applies only to columns of type 'string'",
        ),
        ({"n": {"attribute": "n", "normalize": ["trim", "trim"]}}, "names a rule twice"),
        ({"n": {"attribute": "n", "normalize": ["upper"]}}, "normalize"),
    ],
)
def test_bad_rules_are_rejected(columns: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _config(columns)


def test_reconcile_and_report_say_which_rules_were_in_force(
    example_env: ExampleEnv, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    cfg = example_env.config_path
    text = cfg.read_text()
    text = text.replace('summary = "summary"\n', 'summary = { attribute = "summary", compare = false }\n', 1)
    text = text.replace('name = "name"\n', 'name = { attribute = "name", normalize = ["trim", "casefold"] }\n', 1)
    cfg.write_text(text)
    [campaign] = generate(1, 3, seed=6)
    write_postgres(example_env.conn, [campaign, *campaign.sessions])
    first, second, third = campaign.sessions
    write_dynamodb(
        example_env.dynamodb,
        example_env.table,
        [
            campaign,
            replace(first, summary="a summary only DynamoDB has"),  # not compared
            replace(second, name=f"  {second.name.upper()} "),  # equal after trim and casefold
            replace(third, name=third.name + " (renamed)"),  # still a difference
        ],
    )
    assert main(["reconcile", "--config", str(cfg), "--json", "--recheck-delay", "0"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["mismatched"], report["discrepancies"][0]["columns"]) == (1, ["name"])
    assert report["rules"] == {"session": {"name": {"normalize": ["trim", "casefold"]}, "summary": {"compare": False}}}
    assert main(["reconcile", "--config", str(cfg), "--recheck-delay", "0"]) == 0
    assert "Column rules in force: session.name normalize=['trim', 'casefold']; session.summary compare=False" in (
        capsys.readouterr().out
    )
    page = tmp_path / "r.html"
    assert main(["report", "--config", str(cfg), "--html", str(page)]) == 0
    assert "session.name normalized (trim, casefold); session.summary not compared" in page.read_text()
