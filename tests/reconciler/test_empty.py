"""Reconcile refuses an entity DynamoDB holds nothing of while PostgreSQL has its rows (a wrong or
empty table), before writing any discrepancy; ``--allow-empty`` reconciles anyway."""

from __future__ import annotations

from pathlib import Path

import pytest

from parity.cli import main
from parity.local.example import generate, write_dynamodb, write_postgres
from tests.conftest import ExampleEnv
from tests.reconciler.helpers import reconcile


def _run(env: ExampleEnv, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str]]:
    code = main(["reconcile", "--config", str(env.config_path), "--recheck-delay", "0", *argv])
    return code, [line for line in capsys.readouterr().err.splitlines() if line.startswith("parity: error:")]


def _stored(env: ExampleEnv) -> tuple[int, int]:
    row = env.conn.execute(
        "SELECT (SELECT count(*) FROM parity.discrepancies) AS d, (SELECT count(*) FROM parity.reconcile_runs) AS r"
    ).fetchone()
    env.conn.commit()
    assert row is not None
    return int(row["d"]), int(row["r"])


def test_an_empty_table_is_refused_before_the_run_starts(
    example_env: ExampleEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    data = generate(1, 3, seed=4)
    write_postgres(example_env.conn, [data[0], *data[0].sessions])
    code, errors = _run(example_env, capsys)
    assert code == 2 and len(errors) == 1
    assert f"DynamoDB table '{example_env.table}' holds no item of entity 'session'" in errors[0]
    assert "public.sessions has rows" in errors[0] and "--allow-empty" in errors[0]
    assert _stored(example_env) == (0, 0)  # not even a run


def test_a_table_of_other_items_is_refused_after_the_scan_without_a_discrepancy(
    example_env: ExampleEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    """Larger than one page, the table is only known to lack the entity once scanned: the final
    phase refuses instead of recording every row as missing_in_dynamodb."""
    with example_env.config_path.open("a") as fh:
        fh.write("\n[reconcile]\npage_size = 2\n")
    data = generate(4, 2, seed=4)
    write_postgres(example_env.conn, [*data, *(s for c in data for s in c.sessions)])
    write_dynamodb(example_env.dynamodb, example_env.table, list(data))  # campaigns only
    code, errors = _run(example_env, capsys, "--segments", "2")
    assert code == 2 and len(errors) == 1 and "no item of entity 'session'" in errors[0]
    discrepancies, _ = _stored(example_env)
    assert discrepancies == 0
    status = example_env.conn.execute("SELECT status FROM parity.reconcile_runs").fetchone()
    example_env.conn.commit()
    assert status == {"status": "failed"}


def test_allow_empty_reconciles_anyway(example_env: ExampleEnv, tmp_path: Path) -> None:
    data = generate(1, 3, seed=4)
    write_postgres(example_env.conn, [data[0], *data[0].sessions])
    code, report = reconcile(example_env, tmp_path, "--allow-empty")
    assert code == 0 and report["missing_in_dynamodb"] == 4 and report["parity_percent"] == 0.0
