"""The runbook's preflight proves what it claims: `parity check-config --replay` shows the connected role
and the rights replay needs, had and lacked, and exits 2 when any is lacking (a read-only role passed
the old preflight and was refused only at --apply). It also says which DSN source won."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from psycopg.conninfo import make_conninfo

from parity.cli import main
from parity.local.example import config_toml
from tests.conftest import ExampleEnv


@pytest.fixture
def read_only_role(example_env: ExampleEnv) -> Iterator[str]:
    role = f"parity_ro_{uuid.uuid4().hex[:8]}"
    admin = example_env.conn
    admin.execute(f"CREATE ROLE {role} LOGIN")
    admin.execute(f"GRANT SELECT ON public.sessions, public.campaigns TO {role}")
    admin.commit()
    try:
        yield role
    finally:
        admin.rollback()
        admin.execute(f"DROP OWNED BY {role}")
        admin.execute(f"DROP ROLE {role}")
        admin.commit()


def _config(env: ExampleEnv, path: Path, dsn: str) -> str:
    path.write_text(config_toml(table=env.table, dsn=dsn, endpoint_url=env.endpoint_url))
    return str(path)


def test_a_read_only_role_fails_the_preflight_naming_what_it_lacks(
    example_env: ExampleEnv, read_only_role: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(example_env, tmp_path / "ro.toml", make_conninfo(example_env.dsn, user=read_only_role))
    assert main(["check-config", "--config", config]) == 0  # the plain check does not ask for write rights
    capsys.readouterr()
    assert main(["check-config", "--config", config, "--replay"]) == 2
    captured = capsys.readouterr()
    assert f"ok   replay: connected as PostgreSQL role '{read_only_role}'" in captured.out
    assert (
        "BAD  replay: table public.sessions: has SELECT; lacks INSERT, UPDATE, DELETE"
        f" (GRANT INSERT, UPDATE, DELETE ON public.sessions TO {read_only_role})"
    ) in captured.out
    assert "lacks INSERT, UPDATE, DELETE" in captured.err and len(captured.err.strip().splitlines()) == 1


def test_a_role_that_may_replay_passes_and_the_store_is_checked(
    example_env: ExampleEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check-config", "--config", str(example_env.config_path), "--replay"]) == 0
    out = capsys.readouterr().out
    assert "ok   replay: table public.sessions: has SELECT, INSERT, UPDATE, DELETE" in out
    assert "ok   replay: store schema parity (not created yet): has CREATE" in out
    assert main(["discrepancies", "--config", str(example_env.config_path)]) == 0  # creates the store
    capsys.readouterr()
    assert main(["check-config", "--config", str(example_env.config_path), "--replay"]) == 0
    assert "ok   replay: store schema parity: has USAGE, INSERT, UPDATE on " in capsys.readouterr().out


def test_check_config_says_the_config_dsn_wins_over_the_environment(
    example_env: ExampleEnv, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PARITY_POSTGRES_DSN", "postgresql://someone-else@elsewhere/db")
    assert main(["check-config", "--config", str(example_env.config_path)]) == 0
    out = capsys.readouterr().out
    assert "(from [postgres].dsn; PARITY_POSTGRES_DSN is set and ignored: the config wins)" in out
    assert "someone-else" not in out
