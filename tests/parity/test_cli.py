"""The command line against the real local stack: check-config, discrepancies, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from parity.cli import main
from tests.conftest import ExampleEnv


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_check_config_all_good(example_env: ExampleEnv, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "check-config", "--config", str(example_env.config_path), "--json")
    report = json.loads(out)
    assert code == 0, err
    assert report["ok"] is True
    messages = [f["message"] for f in report["findings"]]
    assert any("NEW_AND_OLD_IMAGES" in m for m in messages)
    assert any(m.startswith("jsonb <- metadata") for m in messages)


def test_check_config_names_missing_column(example_env: ExampleEnv, capsys: pytest.CaptureFixture[str]) -> None:
    example_env.conn.execute("ALTER TABLE public.sessions RENAME COLUMN summary TO summry")
    example_env.conn.execute("ALTER TABLE public.campaigns ALTER COLUMN active TYPE text")
    example_env.conn.commit()
    code, out, err = run(capsys, "check-config", "--config", str(example_env.config_path))
    assert code == 2
    assert "BAD  entity session: column summary: column summary does not exist" in out
    assert "did you mean 'summry'?" in out
    assert "PostgreSQL type text does not fit mapped type boolean" in out
    assert err.count("\n") == 1 and err.startswith("parity: error:") and "(and 1 more)" in err


def test_check_config_table_without_stream(example_env: ExampleEnv, capsys: pytest.CaptureFixture[str]) -> None:
    example_env.dynamodb.update_table(TableName=example_env.table, StreamSpecification={"StreamEnabled": False})
    code, out, _ = run(capsys, "check-config", "--config", str(example_env.config_path))
    assert code == 2
    assert "has no stream" in out


def test_unreachable_dynamodb(example_env: ExampleEnv, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = example_env.config_path.read_text().replace(example_env.endpoint_url, "http://127.0.0.1:1")
    path = tmp_path / "bad.toml"
    path.write_text(text)
    code, _, err = run(capsys, "check-config", "--config", str(path))
    assert code == 2
    assert (
        err.strip()
        == f"parity: error: describing table '{example_env.table}': cannot reach DynamoDB at http://127.0.0.1:1"
    )


def test_missing_dynamodb_table(example_env: ExampleEnv, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "p.toml"
    path.write_text(example_env.config_path.read_text().replace(f'table = "{example_env.table}"', 'table = "nope"'))
    code, _out, err = run(capsys, "check-config", "--config", str(path))
    assert code == 2
    assert "dynamodb table nope: does not exist" in err


def test_unreachable_postgres_never_prints_password(
    example_env: ExampleEnv, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = example_env.config_path.read_text()
    start = text.index("dsn = ")
    end = text.index("\n", start)
    path = tmp_path / "bad.toml"
    path.write_text(text[:start] + 'dsn = "postgresql://app:hunter2@127.0.0.1:1/app"' + text[end:])
    code, out, err = run(capsys, "check-config", "--config", str(path))
    assert code == 2
    assert "hunter2" not in out + err
    assert err.startswith("parity: error: cannot connect to PostgreSQL at 127.0.0.1:1/app")


def test_bad_config_exit_2_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "parity.toml"
    path.write_text(
        '[dynamodb]\ntable = "app"\n[[entity]]\nname="s"\ntable="t"\nmatch={a="b"}\n'
        'key={id={attribute="id",type="uid"}}\n'
    )
    code, out, err = run(capsys, "check-config", "--config", str(path))
    assert (code, out) == (2, "")
    assert err == f"parity: error: {path}: unknown type 'uid' at 'entity[0].key.id.type'; did you mean 'uuid'?\n"


def test_discrepancies_empty_store(example_env: ExampleEnv, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "discrepancies", "--config", str(example_env.config_path), "--json", "--status", "all")
    assert (code, json.loads(out)) == (0, [])


def test_console_script_runs(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "parity.cli", "check-config", "--config", str(tmp_path / "x.toml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert "config file" in done.stderr and "not found" in done.stderr
