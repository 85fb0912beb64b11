"""Row decoding: JSON numbers exact on every parity connection, uuid as text on the checker's."""

from __future__ import annotations

import uuid
from decimal import Decimal

import psycopg
from psycopg.rows import dict_row

from parity.consumer.rows import configure
from parity.jsontext import loads_exact
from parity.pg import connect

JSON = "SELECT '{\"x\": 0.1, \"n\": 12345678901234567890.123456789}'::jsonb AS b, '[0.1, 7]'::json AS j"
EXACT = {"b": {"x": Decimal("0.1"), "n": Decimal("12345678901234567890.123456789")}, "j": [Decimal("0.1"), 7]}


def test_loads_exact_keeps_numbers_exact() -> None:
    assert loads_exact(b'{"a": 1.50, "b": [1, 2e3], "c": "x"}') == {
        "a": Decimal("1.50"),
        "b": [Decimal(1), Decimal("2E+3")],
        "c": "x",
    }
    assert loads_exact('{"t": true, "n": null}') == {"t": True, "n": None}


def test_parity_connections_read_json_numbers_as_exact_decimals_in_text_and_binary(pg_dsn: str) -> None:
    with connect(pg_dsn) as conn:
        for binary in (False, True):  # the row readers use binary cursors
            with conn.cursor(binary=binary) as cur:
                row = cur.execute(JSON).fetchone()
            assert row == EXACT, binary
            assert row is not None and type(row["b"]["x"]) is Decimal and type(row["j"][0]) is Decimal
    # the control: psycopg alone reads floats (0.1 != Decimal("0.1")), so the assertions above can fail
    with psycopg.connect(pg_dsn, row_factory=dict_row) as raw:
        plain = raw.execute(JSON).fetchone()
    assert plain is not None and type(plain["b"]["x"]) is float and plain != EXACT


def test_configured_connection_reads_uuid_as_text(pg_dsn: str) -> None:
    u = uuid.UUID("4F1C2D3E-0000-4000-8000-000000000001")
    with connect(pg_dsn) as conn:
        configure(conn)
        row = conn.execute("SELECT %s::uuid AS id", (u,)).fetchone()
    assert row == {"id": "4f1c2d3e-0000-4000-8000-000000000001"}
    with connect(pg_dsn) as plain:  # other connections keep psycopg's uuid.UUID
        other = plain.execute("SELECT %s::uuid AS id", (u,)).fetchone()
    assert other == {"id": u}
