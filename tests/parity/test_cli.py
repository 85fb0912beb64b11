"""The command line against the real local stack: check-config, discrepancies, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources
from pathlib import Path

import psycopg
import pytest

from parity.cli import main
from tests.conftest import ExampleEnv, ScramServer


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


@pytest.mark.parametrize("command", ["check-config", "discrepancies", "reconcile", "replay", "health"])
def test_no_command_prints_any_part_of_a_hostile_password(
    command: str,
    pg_scram: ScramServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Against a server that demands scram passwords: a password with '/', '@', ':' or a space
    that libpq misparses or cannot parse, and a wrong one, never reach the command's error line."""
    with psycopg.connect(pg_scram.dsn(), autocommit=True) as admin:
        admin.execute("DROP ROLE IF EXISTS parity_cli_pw")
        admin.execute("CREATE ROLE parity_cli_pw LOGIN PASSWORD 'Ab9/Xy@Zk:Qw'")
    config = tmp_path / "parity.toml"
    example = resources.files("parity.local").joinpath("example.toml").read_text()
    config.write_text(example.replace('table = "app"', 'table = "app"\nendpoint_url = "http://127.0.0.1:1"', 1))
    socket = pg_scram.socket_dir
    cases = {
        f"postgresql://parity_cli_pw:Ab9/Xy@Zk:Qw@/postgres?host={socket}": "the configured DSN",
        f"host={socket} user=parity_cli_pw password=Ab9 Xy@Zk:Qw dbname=postgres": "the configured DSN",
        f"host={socket} user=parity_cli_pw password='Ab9/Xy@Zk:Qx' dbname=postgres": (
            f"PostgreSQL at {socket}/postgres refused the login"
        ),
    }
    for dsn, expected in cases.items():
        monkeypatch.setenv("PARITY_POSTGRES_DSN", dsn)
        code, out, err = run(capsys, command, "--config", str(config))
        assert code == 2 and out == "", (dsn, out, err)
        assert err.startswith("parity: error: ") and err.count("\n") == 1 and expected in err, err
        assert not any(piece in err for piece in ("Ab9", "Xy", "Zk", "Qw", "Qx")), err


def test_check_config_says_whether_the_config_fits_its_ssm_parameter(
    example_env: ExampleEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    text = example_env.config_path.read_text()
    assert main(["check-config", "--config", str(example_env.config_path)]) == 0
    assert "bytes: fits a standard SSM parameter (4,096)" in capsys.readouterr().out
    example_env.config_path.write_text(text + "#" * (5000 - len(text)) + "\n")
    assert main(["check-config", "--config", str(example_env.config_path)]) == 0
    assert "5001 bytes: over a standard SSM parameter's 4,096; put it with --tier Intelligent-Tiering" in (
        capsys.readouterr().out
    )
    example_env.config_path.write_text(text + "#" * 9000 + "\n")
    assert main(["check-config", "--config", str(example_env.config_path)]) == 2
    err = capsys.readouterr().err
    assert "over the 8,192 an SSM parameter holds" in err and len(err.strip().splitlines()) == 1
