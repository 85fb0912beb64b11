"""Shared fixtures: the real local stack (PostgreSQL and moto's DynamoDB server), one per session.

PostgreSQL is ``PARITY_TEST_POSTGRES_DSN`` when set (a running server), otherwise an embedded
server started here (pgserver). Each test that asks for ``pg_dsn`` gets a database of its own.
DynamoDB is moto's server in a child process on 127.0.0.1; each test gets a table of its own.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import psycopg
import psycopg.sql
import pytest

from parity.cli import APP_MIGRATIONS
from parity.config import ParityConfig, load_config
from parity.local.embedded import LOCAL_AWS_ENV, EmbeddedPostgres, MotoServer, start_moto, start_postgres
from parity.local.example import config_toml, create_dynamodb_table, create_postgres_tables
from parity.pg import Connection, connect
from parity.store import register

register(*APP_MIGRATIONS)  # as the CLI does: tests build stores and call the apps directly

for _name, _value in LOCAL_AWS_ENV.items():
    os.environ.setdefault(_name, _value)
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("PARITY_POSTGRES_DSN", None)


@pytest.fixture(scope="session")
def pg_admin_dsn() -> Iterator[str]:
    """DSN of a PostgreSQL server where tests may create databases."""
    external = os.environ.get("PARITY_TEST_POSTGRES_DSN")
    if external:
        yield external
        return
    # A directory of its own, not under pytest's basetemp: pytest prunes old basetemp folders, and a
    # second pytest run on the machine would delete the data of a server still in use.
    root = Path(tempfile.mkdtemp(prefix="parity-test-pg-"))
    server: EmbeddedPostgres = start_postgres(root)
    try:
        yield server.dsn
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@dataclass(frozen=True)
class ScramServer:
    """A PostgreSQL server of the test's own that demands scram-sha-256 passwords of everyone."""

    socket_dir: str
    admin_password: str

    def dsn(self, user: str = "postgres", password: str | None = None, dbname: str = "postgres") -> str:
        """A key=value DSN (the password quoted by psycopg, whatever it holds)."""
        secret = self.admin_password if password is None and user == "postgres" else password
        return psycopg.conninfo.make_conninfo(host=self.socket_dir, user=user, password=secret, dbname=dbname)


@pytest.fixture(scope="session")
def pg_scram() -> Iterator[ScramServer]:
    """An embedded PostgreSQL (pgserver) whose pg_hba.conf says scram-sha-256 for every connection.

    The shared test server trusts its clients, so password refusals and what parity prints about
    them can only be observed here. Started once per session (a few seconds), only when asked for.
    """
    root = Path(tempfile.mkdtemp(prefix="parity-test-scram-"))
    server = start_postgres(root)
    password = uuid.uuid4().hex
    try:
        with psycopg.connect(server.dsn, autocommit=True) as admin:
            admin.execute("SET password_encryption = 'scram-sha-256'")
            admin.execute(psycopg.sql.SQL("ALTER ROLE postgres PASSWORD {}").format(psycopg.sql.Literal(password)))
            hba = admin.execute("SHOW hba_file").fetchone()
            assert hba is not None
            Path(hba[0]).write_text("local all all scram-sha-256\nhost all all all scram-sha-256\n")
            admin.execute("SELECT pg_reload_conf()")
        socket_dir = str(psycopg.conninfo.conninfo_to_dict(server.dsn)["host"])
        yield ScramServer(socket_dir, password)
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def with_dbname(dsn: str, dbname: str) -> str:
    return psycopg.conninfo.make_conninfo(dsn, dbname=dbname)


@pytest.fixture
def pg_dsn(pg_admin_dsn: str) -> Iterator[str]:
    """A fresh, empty database for one test, dropped afterwards."""
    name = f"parity_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_admin_dsn, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_dbname(pg_admin_dsn, name)
    finally:
        with psycopg.connect(pg_admin_dsn, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_conn(pg_dsn: str) -> Iterator[Connection]:
    conn = connect(pg_dsn)
    try:
        yield conn
    finally:
        conn.close()


#: moto log folders kept because tests failed (named in the summary at the end of the run)
_KEPT_MOTO_LOGS: list[Path] = []


@pytest.fixture(scope="session")
def moto_server(request: pytest.FixtureRequest) -> Iterator[MotoServer]:
    """moto's server for the session. Its log folder is removed at the end, unless a test failed:
    then it is kept for the failure's server side and its path is printed in the run's summary."""
    log_dir = Path(tempfile.mkdtemp(prefix="parity-test-moto-"))
    server = start_moto(log_dir=log_dir)
    try:
        yield server
    finally:
        server.stop()
        if request.session.testsfailed:
            _KEPT_MOTO_LOGS.append(log_dir / "moto.log")
        else:
            shutil.rmtree(log_dir, ignore_errors=True)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for path in _KEPT_MOTO_LOGS:
        terminalreporter.write_line(f"moto's server log kept for the failures above: {path} (remove its folder after)")


@pytest.fixture(scope="session")
def moto_endpoint(moto_server: MotoServer) -> str:
    return moto_server.endpoint_url


@pytest.fixture
def dynamodb(moto_endpoint: str) -> Any:
    return boto3.client("dynamodb", endpoint_url=moto_endpoint, region_name="us-east-1")


@pytest.fixture
def table_name() -> str:
    return f"app-{uuid.uuid4().hex[:10]}"


@dataclass
class ExampleEnv:
    """The example app's stores for one test: both tables empty, a config file pointing at them."""

    config_path: Path
    config: ParityConfig
    dsn: str
    endpoint_url: str
    table: str
    dynamodb: Any
    conn: Connection

    def streams(self) -> Any:
        return boto3.client("dynamodbstreams", endpoint_url=self.endpoint_url, region_name="us-east-1")


@pytest.fixture
def example_env(
    tmp_path: Path, pg_dsn: str, moto_endpoint: str, dynamodb: Any, table_name: str
) -> Iterator[ExampleEnv]:
    conn = connect(pg_dsn)
    create_postgres_tables(conn)
    create_dynamodb_table(dynamodb, table_name)
    path = tmp_path / "parity.toml"
    path.write_text(config_toml(table=table_name, dsn=pg_dsn, endpoint_url=moto_endpoint))
    try:
        yield ExampleEnv(path, load_config(path), pg_dsn, moto_endpoint, table_name, dynamodb, conn)
    finally:
        conn.close()
