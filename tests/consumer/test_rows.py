"""The checker connection's row decoding: uuid as PostgreSQL's text, JSON numbers as exact Decimals."""

from __future__ import annotations

import uuid
from decimal import Decimal

from parity.consumer.rows import configure, decimal_json
from parity.pg import connect


def test_decimal_json_keeps_numbers_exact() -> None:
    assert decimal_json(b'{"a": 1.50, "b": [1, 2e3], "c": "x"}') == {
        "a": Decimal("1.50"),
        "b": [Decimal(1), Decimal("2E+3")],
        "c": "x",
    }
    assert decimal_json('{"t": true, "n": null}') == {"t": True, "n": None}


def test_configured_connection_reads_uuid_as_text_and_jsonb_as_decimal(pg_dsn: str) -> None:
    u = uuid.UUID("4F1C2D3E-0000-4000-8000-000000000001")
    with connect(pg_dsn) as conn:
        configure(conn)
        row = conn.execute("SELECT %s::uuid AS id, '{\"x\": 0.1}'::jsonb AS doc", (u,)).fetchone()
    assert row == {"id": str(u), "doc": {"x": Decimal("0.1")}}
    assert row is not None and row["id"] == "4f1c2d3e-0000-4000-8000-000000000001"
    with connect(pg_dsn) as plain:  # other connections keep psycopg's defaults
        other = plain.execute("SELECT %s::uuid AS id", (u,)).fetchone()
    assert other == {"id": u}
