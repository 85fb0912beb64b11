"""The reviewed plan binds the apply: values old -> new in the plan (redacted where set), only reviewed
changes written, a write made after the review left as not_in_plan, no source re-read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from parity.cli import main
from parity.local.example import Session, generate, write_dynamodb, write_postgres
from parity.pg import connect
from tests.conftest import ExampleEnv


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


def _names(env: ExampleEnv) -> dict[str, Any]:
    with connect(env.dsn) as conn:
        return {str(r["id"]): r["name"] for r in conn.execute("SELECT id, name FROM public.sessions")}


def test_apply_writes_only_what_was_reviewed(
    example_env: ExampleEnv, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sessions = sorted(generate(1, 4, seed=31)[0].sessions, key=lambda s: s.id)
    write_postgres(example_env.conn, sessions)  # type: ignore[arg-type]
    example_env.conn.commit()
    updated: list[Session] = [s.touched(name=f"renamed in DynamoDB only {i}") for i, s in enumerate(sessions[:2])]
    emptied = sessions[2].touched(summary="")
    write_dynamodb(example_env.dynamodb, example_env.table, [*updated, emptied, sessions[3]])  # type: ignore[list-item]
    cfg = ["--config", str(example_env.config_path)]
    assert main(["reconcile", *cfg]) == 0
    capsys.readouterr()

    code, text = _run(capsys, "replay", *cfg)
    assert code == 0
    assert f'          summary: "{sessions[2].summary}" -> ""' in text  # a value about to turn empty is visible
    assert "which side is newer: 3 update(s) newer in DynamoDB (replayed), 0 newer in PostgreSQL" in text
    code, out = _run(capsys, "replay", *cfg, "--json")
    plan = json.loads(out)
    entry = next(e for e in plan["plan"] if e["key"] == {"id": updated[0].id})
    assert entry["values"]["name"] == {"old": sessions[0].name, "new": updated[0].name}
    assert entry["item_key"]["pk"]["S"].startswith("$campaignapp#")
    reviewed = tmp_path / "plan.json"
    reviewed.write_text(out)

    # after the review: the app writes one reviewed item again, and a new DynamoDB-only change appears
    # (reconcile records it as an open discrepancy: the apply sees it, and leaves it as not in the plan)
    rewritten = updated[1].touched(name="written again after the review")
    late = sessions[3].touched(name="a change nobody reviewed")
    write_dynamodb(example_env.dynamodb, example_env.table, [rewritten, late])  # type: ignore[list-item]
    assert main(["reconcile", *cfg]) == 0
    capsys.readouterr()

    code, out = _run(capsys, "replay", *cfg, "--apply", "--plan", str(reviewed), "--json")
    assert code == 0
    result = json.loads(out)
    assert result["applied"] == 2  # updated[0] and emptied: still what was reviewed
    assert result["not_in_plan"] == 2
    assert sorted(result["not_in_plan_keys"], key=lambda k: k["reason"]) == [
        {"entity": "session", "key": {"id": sessions[3].id}, "action": "update", "reason": "not in the reviewed plan"},
        {
            "entity": "session",
            "key": {"id": updated[1].id},
            "action": "update",
            "reason": "written again since the review: name, updated_at",
        },
    ]
    names = _names(example_env)
    assert names[updated[0].id] == updated[0].name
    assert names[updated[1].id] == sessions[1].name  # not what the reviewer saw: left for another review
    assert names[sessions[3].id] == sessions[3].name  # never in the plan: not written
    assert result["sources"]["reviewed plan"] == 3 and result["sources"]["stream_records"] == 0
    assert result["sources"]["found_by_scan"] == 0


def test_a_file_that_is_not_a_dry_run_is_refused(
    example_env: ExampleEnv, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "plan.json"
    bad.write_text(json.dumps({"planned": 1, "dry_run": False, "plan": []}))
    assert main(["replay", "--config", str(example_env.config_path), "--apply", "--plan", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"--plan {bad}: not the output of a dry run" in err and len(err.strip().splitlines()) == 1


def test_plan_values_of_a_redacted_column_stay_redacted(
    example_env: ExampleEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    text = example_env.config_path.read_text()
    assert 'name = "name"\n' in text
    example_env.config_path.write_text(
        text.replace('name = "name"\n', 'name = { attribute = "name", redact = true }\n')
    )
    session = generate(1, 1, seed=41)[0].sessions[0]
    write_postgres(example_env.conn, [session])  # type: ignore[list-item]
    example_env.conn.commit()
    secret = "Ada Lovelace, private"
    write_dynamodb(example_env.dynamodb, example_env.table, [session.touched(name=secret)])  # type: ignore[list-item]
    cfg = ["--config", str(example_env.config_path)]
    assert main(["reconcile", *cfg]) == 0
    capsys.readouterr()
    code, text_out = _run(capsys, "replay", *cfg)
    code, json_out = _run(capsys, "replay", *cfg, "--json")
    assert code == 0
    change = json.loads(json_out)["plan"][0]["values"]["name"]
    assert change["new"].startswith("redacted:") and change["old"].startswith("redacted:")
    assert change["new"] != change["old"]
    assert secret not in text_out + json_out and session.name not in text_out + json_out
