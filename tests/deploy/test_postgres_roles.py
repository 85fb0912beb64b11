"""deploy/postgres-roles.sql runs on the real PostgreSQL and grants exactly what each job needs.

Runs the script as the database owner against the example app's tables, then logs in as a user of
each group role (the way docs/operations.md tells operators to) and checks: the checker reads the
mapped tables but cannot write them, migrates and writes the parity store schema; replay writes
the mapped tables and the store tables the checker created, but cannot change their structure.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import psycopg
import pytest
from psycopg import errors

from parity.cli import main
from parity.compare import Discrepancy
from parity.local import example
from parity.pg import connect
from parity.store import Store

SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "postgres-roles.sql"


def _run_script(dsn: str, text: str | None = None) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute((text if text is not None else SCRIPT.read_text()).encode())


@pytest.fixture
def app_db(pg_dsn: str) -> str:
    """The example app's tables with a few rows, and the roles script applied (twice: idempotent)."""
    conn = connect(pg_dsn)
    try:
        example.create_postgres_tables(conn)
        campaigns = example.generate(2, 2)
        records: list[example.Session | example.Campaign] = [*campaigns]
        for campaign in campaigns:
            records.extend(campaign.sessions)
        example.write_postgres(conn, records)
        conn.commit()
    finally:
        conn.close()
    _run_script(pg_dsn)
    _run_script(pg_dsn)
    return pg_dsn


@pytest.fixture
def login(app_db: str) -> Iterator[dict[str, str]]:
    """One LOGIN user per group role, set up as docs/operations.md says; dropped afterwards."""
    suffix = uuid.uuid4().hex[:8]
    users = {"parity_checker": f"t_checker_{suffix}", "parity_replay": f"t_replay_{suffix}"}
    with psycopg.connect(app_db, autocommit=True) as admin:
        for group, user in users.items():
            admin.execute(f"CREATE ROLE {user} LOGIN PASSWORD 'x' IN ROLE {group}")
            admin.execute(f"ALTER ROLE {user} SET role = '{group}'")
    try:
        yield {group: psycopg.conninfo.make_conninfo(app_db, user=user) for group, user in users.items()}
    finally:
        with psycopg.connect(app_db, autocommit=True) as admin:
            for user in users.values():
                admin.execute(f"DROP OWNED BY {user}")
                admin.execute(f"DROP ROLE {user}")


def _denied(dsn: str, statement: str) -> bool:
    with psycopg.connect(dsn, autocommit=True) as conn:
        try:
            conn.execute(statement)
        except errors.InsufficientPrivilege:
            return True
    return False


def test_checker_reads_app_tables_and_cannot_write_them(login: dict[str, str]) -> None:
    dsn = login["parity_checker"]
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("parity_checker",)
        assert conn.execute("SELECT count(*) FROM public.sessions").fetchone() == (4,)
        assert conn.execute("SELECT count(*) FROM public.campaigns").fetchone() == (2,)
    assert _denied(dsn, "UPDATE public.sessions SET name = 'x'")
    assert _denied(dsn, "DELETE FROM public.campaigns")
    assert _denied(dsn, "INSERT INTO public.campaigns (id) VALUES (gen_random_uuid())")
    assert _denied(dsn, "TRUNCATE public.sessions")
    assert _denied(dsn, "CREATE TABLE public.intruder (x int)")


def test_checker_migrates_and_writes_the_store_schema(login: dict[str, str]) -> None:
    store = Store("parity")
    conn = connect(login["parity_checker"])
    try:
        store.migrate(conn)
        conn.commit()
        found = [Discrepancy(entity="session", key={"id": str(uuid.uuid4())}, kind="missing_in_postgres")]
        assert store.record_discrepancies(conn, found, "stream", datetime.now(UTC)) == 1
        conn.commit()
        assert len(store.list_discrepancies(conn)) == 1
        owner = conn.execute(
            "SELECT tableowner FROM pg_tables WHERE schemaname = 'parity' AND tablename = 'discrepancies'"
        ).fetchone()
        assert owner == {"tableowner": "parity_checker"}
    finally:
        conn.close()


def test_replay_writes_app_tables_and_the_store_but_no_ddl(login: dict[str, str]) -> None:
    checker = connect(login["parity_checker"])
    try:
        Store("parity").migrate(checker)  # the checker's first start creates the store tables
        checker.commit()
    finally:
        checker.close()
    dsn = login["parity_replay"]
    with psycopg.connect(dsn) as conn:
        assert conn.execute("UPDATE public.sessions SET name = 'replayed'").rowcount == 4
        assert conn.execute("DELETE FROM public.sessions WHERE name = 'replayed'").rowcount == 4
        conn.execute(
            "INSERT INTO parity.discrepancies (entity, key_id, key, kind, columns, detected_by, first_seen, last_seen,"
            " status) VALUES ('session', 'k', '{}', 'missing_in_postgres', '{}', 'replay', now(), now(), 'open')"
        )
        assert conn.execute("DELETE FROM parity.discrepancies WHERE key_id = 'k'").rowcount == 1
    assert _denied(dsn, "DROP TABLE public.sessions")
    assert _denied(dsn, "TRUNCATE public.sessions")
    assert _denied(dsn, "ALTER TABLE parity.discrepancies ADD COLUMN x int")


def test_a_missing_mapped_table_fails_with_a_hint(pg_dsn: str) -> None:
    with pytest.raises(psycopg.errors.RaiseException, match=r"mapped table public\.sessions does not exist"):
        _run_script(pg_dsn)


@pytest.fixture(scope="module")
def own_cluster() -> Iterator[str]:
    """A PostgreSQL cluster of this module's own (pgserver): global roles of other tests cannot interfere,
    and the roles script meets a cluster where parity_checker and parity_replay do not exist yet."""
    from parity.local.embedded import start_postgres

    # not under pytest's basetemp: another pytest run on the machine prunes old basetemp folders
    root = Path(tempfile.mkdtemp(prefix="parity-test-own-cluster-"))
    server = start_postgres(root)
    try:
        yield server.dsn
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_the_script_runs_as_a_database_owner_who_is_not_a_superuser(own_cluster: str) -> None:
    """As on RDS/Aurora: the master user has CREATEROLE and owns the app's tables, but is no superuser."""
    with psycopg.connect(own_cluster, autocommit=True) as admin:
        admin.execute("CREATE ROLE app_owner LOGIN CREATEROLE PASSWORD 'owner-pw'")
        admin.execute("CREATE DATABASE app OWNER app_owner")
        version = admin.execute("SHOW server_version_num").fetchone()
    assert version is not None
    owner_dsn = psycopg.conninfo.make_conninfo(own_cluster, dbname="app", user="app_owner")
    conn = connect(owner_dsn)
    try:
        example.create_postgres_tables(conn)
        example.write_postgres(conn, [*example.generate(1, 2)[0].sessions])
        conn.commit()
        assert conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone() == {
            "rolsuper": False
        }
    finally:
        conn.close()
    _run_script(owner_dsn)
    _run_script(owner_dsn)  # idempotent for this user too
    with psycopg.connect(owner_dsn, autocommit=True) as owner:
        owner.execute("CREATE ROLE t_checker LOGIN PASSWORD 'x' IN ROLE parity_checker")
        owner.execute("ALTER ROLE t_checker SET role = 'parity_checker'")
        schema_owner = owner.execute("SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'parity'")
        assert schema_owner.fetchone() == ("parity_checker",)
    checker_dsn = psycopg.conninfo.make_conninfo(owner_dsn, user="t_checker")
    checker = connect(checker_dsn)
    try:
        Store("parity").migrate(checker)
        checker.commit()
        assert checker.execute("SELECT count(*) AS n FROM public.sessions").fetchone() == {"n": 2}
    finally:
        checker.close()
    assert _denied(checker_dsn, "DELETE FROM public.sessions")


def _store_tables(dsn: str) -> dict[str, str]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT tablename, tableowner FROM pg_tables WHERE schemaname = 'parity'").fetchall()
    return dict(rows)


def test_replay_first_on_a_fresh_store_leaves_it_to_the_checker(
    login: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`parity replay` as the replay role, first on a fresh store, must not create the store tables
    (they would be its own, and every checker job would then be denied): it refuses, naming what to
    run, and the checker's first start creates them owned by parity_checker for both jobs."""
    config = tmp_path / "parity.toml"
    example_toml = resources.files("parity.local").joinpath("example.toml").read_text()
    config.write_text(example_toml.replace('table = "app"', 'table = "app"\nendpoint_url = "http://127.0.0.1:1"', 1))
    monkeypatch.setenv("PARITY_POSTGRES_DSN", login["parity_replay"])
    code = main(["replay", "--config", str(config)])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err.count("\n") == 1, err
    assert err.startswith(
        "parity: error: the store schema 'parity' belongs to parity_checker, and parity_replay may not apply its"
    ), err
    assert "run a checker command first (parity check-config as parity_checker)" in err
    assert "GRANT parity_checker TO parity_replay" in err
    assert _store_tables(login["parity_checker"]) == {}  # nothing half-made

    monkeypatch.setenv("PARITY_POSTGRES_DSN", login["parity_checker"])
    assert main(["discrepancies", "--config", str(config)]) == 0  # the checker's first command migrates
    capsys.readouterr()
    owners = _store_tables(login["parity_checker"])
    assert owners and set(owners.values()) == {"parity_checker"}, owners

    monkeypatch.setenv("PARITY_POSTGRES_DSN", login["parity_replay"])
    assert main(["replay", "--config", str(config)]) == 2  # now past the store, on to DynamoDB
    assert "cannot reach DynamoDB" in capsys.readouterr().err
    assert _denied(login["parity_replay"], "CREATE TABLE parity.intruder (x int)")


def test_a_login_user_without_set_role_still_migrates_as_the_owner(app_db: str) -> None:
    """A checker login that forgot `ALTER ROLE ... SET role`: the tables it creates are still the
    group role's (owned by parity_checker), so the replay role's default grants apply to them."""
    user = f"t_plain_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(app_db, autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {user} LOGIN IN ROLE parity_checker")
    try:
        conn = connect(psycopg.conninfo.make_conninfo(app_db, user=user))
        try:
            assert conn.execute("SELECT current_user AS u").fetchone() == {"u": user}
            assert Store("parity").migrate(conn)
            conn.commit()
        finally:
            conn.close()
        owners = _store_tables(app_db)
        assert owners and set(owners.values()) == {"parity_checker"}, owners
    finally:
        with psycopg.connect(app_db, autocommit=True) as admin:
            admin.execute(f"DROP OWNED BY {user}")
            admin.execute(f"DROP ROLE {user}")


def test_a_store_schema_a_superuser_made_by_hand_is_still_migrated_by_the_app_user(pg_dsn: str) -> None:
    """Without the roles script: a superuser made the schema and granted CREATE on it to the app's
    user. No job role owns it, so the app's user applies the migrations as itself (as before)."""
    user = f"t_app_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_dsn, autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {user} LOGIN")
        admin.execute("CREATE SCHEMA hand_made")
        admin.execute(f"GRANT USAGE, CREATE ON SCHEMA hand_made TO {user}")
    try:
        conn = connect(psycopg.conninfo.make_conninfo(pg_dsn, user=user))
        try:
            assert Store("hand_made").migrate(conn)
            conn.commit()
        finally:
            conn.close()
        with psycopg.connect(pg_dsn) as admin:
            owners = {r[0] for r in admin.execute("SELECT tableowner FROM pg_tables WHERE schemaname = 'hand_made'")}
        assert owners == {user}
    finally:
        with psycopg.connect(pg_dsn, autocommit=True) as admin:
            admin.execute("DROP SCHEMA hand_made CASCADE")
            admin.execute(f"DROP OWNED BY {user}")
            admin.execute(f"DROP ROLE {user}")
