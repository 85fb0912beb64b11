"""The PostgreSQL adapter: passwords never leak, errors are ours, batched reads by key."""

from __future__ import annotations

import uuid
from decimal import Decimal
from urllib.parse import quote

import psycopg
import pytest
from psycopg import sql

from parity.config import parse_config
from parity.errors import ConfigError, ParityError, PostgresError, PostgresUnavailable
from parity.mapping import row_key
from parity.pg import connect, describe_server, fetch_rows, resolve_dsn, scrub_dsn
from tests.conftest import ScramServer


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


# a password with every character that breaks a URL DSN, in pieces that must never be printed
HOSTILE = "Ab9/Xy@Zk:Qw"
PIECES = ("Ab9", "Xy", "Zk", "Qw")


@pytest.fixture(scope="module")
def hostile_role(pg_scram: ScramServer) -> str:
    """A login role of the scram server whose password is :data:`HOSTILE`."""
    with psycopg.connect(pg_scram.dsn(), autocommit=True) as admin:
        admin.execute("DROP ROLE IF EXISTS parity_hostile")
        admin.execute(sql.SQL("CREATE ROLE parity_hostile LOGIN PASSWORD {}").format(sql.Literal(HOSTILE)))
        admin.execute("DROP ROLE IF EXISTS parity_spaced")
        admin.execute("CREATE ROLE parity_spaced LOGIN PASSWORD 'a b'")
    return "parity_hostile"


def test_refused_password_is_reported_without_it(pg_scram: ScramServer, hostile_role: str) -> None:
    with pytest.raises(PostgresError) as info:
        connect(pg_scram.dsn(hostile_role, "wrong-one")).close()
    message = str(info.value)
    assert "wrong-one" not in message and "\n" not in message
    assert message.startswith(f"PostgreSQL at {pg_scram.socket_dir}/postgres refused the login:")
    assert 'password authentication failed for user "parity_hostile"' in message


def test_hostile_password_right_and_wrong(pg_scram: ScramServer, hostile_role: str) -> None:
    """The password itself works (quoted or percent-encoded); a wrong one is refused unprinted."""
    connect(pg_scram.dsn(hostile_role, HOSTILE)).close()
    encoded = f"postgresql://{hostile_role}:{quote(HOSTILE, safe='')}@/postgres?host={quote(pg_scram.socket_dir)}"
    connect(encoded).close()
    with pytest.raises(PostgresError) as info:
        connect(encoded.replace("Zk", "Zj")).close()
    assert not any(piece in str(info.value) for piece in (*PIECES, "Zj"))


@pytest.mark.parametrize(
    "template",
    [
        "postgresql://{user}:Ab9/Xy@Zk:Qw@/postgres?host={socket}",  # password lands in host/port/dbname
        "postgresql://{user}:Ab9/Xy@Zk:Qw@localhost:5432/postgres",
        "postgresql://{user}:Ab9/Xy@Zk:Qw@127.0.0.1:1/postgres",
        "postgresql://{user}:Xy@Zk@127.0.0.1:1/Qw",  # two '@': libpq reads host 'Zk@127.0.0.1'
        "host={socket} user={user} password=Ab9 Xy dbname=postgres",  # unquoted space: no parse
        "host={socket} user={user} password=Ab9 Xy=Zk dbname=postgres",  # unquoted space: an unknown option
        "postgresql://{user}:Ab9 Xy@/postgres?host={socket}",
    ],
)
def test_unparsable_or_misparsed_dsn_prints_no_part_of_it(
    pg_scram: ScramServer, hostile_role: str, template: str
) -> None:
    dsn = template.format(user=hostile_role, socket=pg_scram.socket_dir)
    with pytest.raises(ParityError) as info:
        connect(dsn).close()
    message = str(info.value)
    assert not any(piece in message for piece in PIECES), message
    assert hostile_role not in message and pg_scram.socket_dir not in message
    assert "the configured DSN" in message and "percent-encode" in message and "\n" not in message
    assert describe_server(dsn) == "the configured DSN"


def test_quoted_space_in_a_key_value_password(pg_scram: ScramServer, hostile_role: str) -> None:
    connect(f"host={pg_scram.socket_dir} user=parity_spaced password='a b' dbname=postgres").close()


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


def test_json_parameters_are_written_exactly(pg_dsn: str) -> None:
    """A connection's jsonb parameters go through parity's one encoder: 38 digits survive the round trip."""
    from psycopg.types.json import Jsonb

    digits = Decimal("1234567890123456789012345678901234567.8")
    conn = connect(pg_dsn)
    try:
        row = conn.execute("SELECT %s::jsonb AS v", (Jsonb({"n": digits, "m": [Decimal("1.50")]}),)).fetchone()
    finally:
        conn.close()
    assert row is not None
    assert row["v"] == {"n": digits, "m": [Decimal("1.50")]}
    assert str(row["v"]["n"]) == str(digits)
