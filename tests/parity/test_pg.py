"""The PostgreSQL adapter: passwords never leak, errors are ours, batched reads by key."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from parity.config import parse_config
from parity.errors import ConfigError, PostgresError, PostgresUnavailable
from parity.mapping import row_key
from parity.pg import connect, fetch_rows, resolve_dsn, scrub_dsn


@pytest.mark.parametrize(
    ("dsn", "expected"),
    [
        ("postgresql://app:s3cret@db:5432/app", "postgresql://app:***@db:5432/app"),
        ("postgres://app@db/app", "postgres://app@db/app"),
        ("host=db user=app password=s3cret dbname=app", "host=db user=app password=*** dbname=app"),
        ("host=db password='a b\\'c' dbname=app", "host=db password=*** dbname=app"),
        ("postgresql://db/app?user=app&password=s3cret", "postgresql://db/app?user=app&password=***"),
    ],
)
def test_scrub_dsn(dsn: str, expected: str) -> None:
    assert scrub_dsn(dsn) == expected
    assert "s3cret" not in scrub_dsn(dsn)


def test_unreachable_server_is_one_line_without_password() -> None:
    with pytest.raises(PostgresUnavailable) as info:
        connect("postgresql://app:hunter2@127.0.0.1:1/app")
    message = str(info.value)
    assert "hunter2" not in message and "\n" not in message
    assert "127.0.0.1:1/app" in message


def test_refused_password_is_reported_without_it(pg_admin_dsn: str) -> None:
    import psycopg

    with psycopg.connect(pg_admin_dsn, autocommit=True) as admin:
        admin.execute("DROP ROLE IF EXISTS parity_pw_test")
        admin.execute("CREATE ROLE parity_pw_test LOGIN PASSWORD 'right-one'")
    dsn = psycopg.conninfo.make_conninfo(pg_admin_dsn, user="parity_pw_test", password="wrong-one")
    try:
        connect(dsn).close()
    except PostgresError as exc:
        assert "wrong-one" not in str(exc)
        assert "\n" not in str(exc)
        assert "refused the login" in str(exc)
    else:
        pytest.skip("this server trusts the connection, so there is no refusal to observe")


def test_resolve_dsn_order(monkeypatch: pytest.MonkeyPatch) -> None:
    base = {
        "dynamodb": {"table": "app"},
        "entity": [{"name": "e", "table": "t", "match": {"a": "b"}, "key": {"id": "id"}}],
    }
    for name in ("PARITY_POSTGRES_DSN", "PGHOST", "PGDATABASE", "PGSERVICE", "PGHOSTADDR", "PGPORT", "PGUSER"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError, match="no PostgreSQL connection"):
        resolve_dsn(parse_config(base))
    monkeypatch.setenv("PGHOST", "db")
    assert resolve_dsn(parse_config(base)) == ""
    monkeypatch.setenv("PARITY_POSTGRES_DSN", "postgresql://env/db")
    assert resolve_dsn(parse_config(base)) == "postgresql://env/db"
    assert resolve_dsn(parse_config({**base, "postgres": {"dsn": "postgresql://cfg/db"}})) == "postgresql://cfg/db"


def test_fetch_rows_single_and_composite_keys(pg_dsn: str) -> None:
    config = parse_config(
        {
            "dynamodb": {"table": "app"},
            "entity": [
                {
                    "name": "s",
                    "table": "public.s",
                    "match": {"e": "s"},
                    "key": {"id": {"attribute": "id", "type": "uuid"}},
                    "columns": {"price": {"attribute": "p", "type": "decimal"}},
                },
                {
                    "name": "l",
                    "table": "l",
                    "match": {"e": "l"},
                    "key": {"o": {"attribute": "o", "type": "integer"}, "sku": "sku"},
                    "columns": {"n": "n"},
                },
            ],
        }
    )
    conn = connect(pg_dsn)
    conn.execute("CREATE TABLE s (id uuid PRIMARY KEY, price numeric)")
    conn.execute("CREATE TABLE l (o integer, sku text, n text, PRIMARY KEY (o, sku))")
    ids = [uuid.uuid4() for _ in range(3)]
    for i, value in enumerate(ids):
        conn.execute("INSERT INTO s VALUES (%s, %s)", (value, Decimal(i)))
    conn.execute("INSERT INTO l VALUES (1, 'a', 'x'), (1, 'b', 'y'), (2, 'a', 'z')")
    s, line = config.entity
    keys = [(str(ids[0]).upper().lower(),), (str(ids[2]),), (str(uuid.uuid4()),)]
    rows = fetch_rows(conn, s, keys)
    assert set(rows) == {keys[0], keys[1]}
    assert rows[keys[1]]["price"] == Decimal(2)
    lkeys = [(Decimal(1), "b"), (Decimal(2), "a"), (Decimal(2), "b")]
    lrows = fetch_rows(conn, line, lkeys)
    assert {k: r["n"] for k, r in lrows.items()} == {(Decimal(1), "b"): "y", (Decimal(2), "a"): "z"}
    assert all(row_key(line, r) == k for k, r in lrows.items())
    conn.close()
