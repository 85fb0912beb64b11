"""`redact = true`: a redacted column's value appears nowhere parity writes or prints.

Checked on a real reconcile that finds the value on each kind of discrepancy: the store (every table
of the store schema, as text), `reconcile --json`, `discrepancies --json` and the text table, the HTML
report, and the logs at debug level.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from parity.cli import main
from parity.local.example import generate, write_dynamodb, write_postgres
from parity.pg import connect
from tests.conftest import ExampleEnv

SECRETS = ("ana.secret@example.com", "bo.secret@example.com", "cy.secret@example.com", "di.secret@example.com")


def test_a_redacted_value_appears_nowhere(
    example_env: ExampleEnv, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    cfg = example_env.config_path
    text = cfg.read_text()
    cfg.write_text(text.replace('name = "name"\n', 'name = { attribute = "name", redact = true }\n', 1))
    [campaign] = generate(1, 4, seed=5)
    both, differ, only_ddb, only_pg = campaign.sessions
    write_postgres(
        example_env.conn, [campaign, both, replace(differ, name=SECRETS[1]), replace(only_pg, name=SECRETS[3])]
    )
    write_dynamodb(
        example_env.dynamodb,
        example_env.table,
        [campaign, both, replace(differ, name=SECRETS[0]), replace(only_ddb, name=SECRETS[2])],
    )

    env = {**os.environ, "PARITY_LOG_LEVEL": "debug"}
    done = subprocess.run(
        [sys.executable, "-m", "parity.cli", "reconcile", "--config", str(cfg), "--json", "--recheck-delay", "0"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert '"event": "discrepancy"' in done.stderr, "the discrepancies were not logged at debug"
    assert "redacted:" in done.stderr
    outputs = {"reconcile --json": done.stdout, "logs at debug": done.stderr}

    assert main(["discrepancies", "--config", str(cfg), "--json", "--status", "all"]) == 0
    outputs["discrepancies --json"] = capsys.readouterr().out
    assert main(["discrepancies", "--config", str(cfg), "--status", "all"]) == 0
    outputs["discrepancies"] = capsys.readouterr().out
    page = tmp_path / "report.html"
    assert main(["report", "--config", str(cfg), "--html", str(page)]) == 0
    outputs["report"] = capsys.readouterr().out + page.read_text()
    with connect(example_env.dsn) as conn:
        tables = [
            r["table_name"]
            for r in conn.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'parity'")
        ]
        for table in tables:
            rows = conn.execute(f'SELECT t::text AS t FROM parity."{table}" AS t').fetchall()
            outputs[f"store parity.{table}"] = "\n".join(r["t"] for r in rows)

    # the discrepancies were found, with the redacted markers in place of the values
    assert "redacted:" in outputs["discrepancies --json"] and "redacted:" in outputs["report"]
    assert outputs["discrepancies --json"].count('"kind": "') == 3
    for where, text in outputs.items():
        for secret in SECRETS:
            assert secret not in text, f"{secret} appears in {where}"
            assert secret.split("@")[0] not in text, f"part of {secret} appears in {where}"
