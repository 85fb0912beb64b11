"""Replay into a table unlike the example app's: a two-column key, ``json`` (not jsonb), ``text[]``,
``numeric``, ``bytea`` and ``timestamp without time zone`` columns, and no ``item_key`` templates (so
the items of reconcile's discrepancies are found by one Scan). Ends at 100 % and undoes cleanly."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from parity.cli import main
from parity.local.example import create_dynamodb_table
from parity.pg import connect

DDL = """
CREATE SCHEMA shop;
CREATE TABLE shop.orders (
    tenant      text    NOT NULL,
    number      integer NOT NULL,
    payload     json,
    labels      text[],
    amount      numeric(20, 4),
    blob        bytea,
    updated_at  timestamp NOT NULL,
    note        text DEFAULT 'kept by undo',          -- a column parity does not map
    PRIMARY KEY (tenant, number)
);
"""


def _config(path: Path, table: str, dsn: str, endpoint: str) -> Path:
    path.write_text(
        f"""
[dynamodb]
table = "{table}"
region = "us-east-1"
endpoint_url = "{endpoint}"

[postgres]
dsn = {json.dumps(dsn)}

[[entity]]
name = "order"
table = "shop.orders"
match = {{ "__edb_e__" = "order" }}
key = {{ tenant = "tenant", number = {{ attribute = "number", type = "integer" }} }}
version = "updated_at"

[entity.columns]
payload = {{ attribute = "payload", type = "json" }}
labels = {{ attribute = "labels", type = "string_set" }}
amount = {{ attribute = "amount", type = "decimal" }}
blob = {{ attribute = "blob", type = "binary" }}
updated_at = {{ attribute = "updatedAt", type = "timestamp" }}
"""
    )
    return path


def _item(tenant: str, number: int) -> dict[str, Any]:
    return {
        "pk": {"S": f"$shop#tenant_{tenant}"},
        "sk": {"S": f"$order_1#number_{number}"},
        "__edb_e__": {"S": "order"},
        "tenant": {"S": tenant},
        "number": {"N": str(number)},
        "payload": {"M": {"total": {"N": "12.50"}, "lines": {"L": [{"S": "a"}, {"N": "1"}]}}},
        "labels": {"SS": ["b", "a"]},
        "amount": {"N": "1234567890123456.1234"},
        "blob": {"B": b"\x00\x01binary"},  # boto3 base64-encodes bytes on the wire
        "updatedAt": {"S": f"2026-11-0{number}T10:00:00.123+02:00"},
    }


def _json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main(list(args)) == 0
    return dict(json.loads(capsys.readouterr().out))


def test_composite_keys_and_column_types_round_trip(
    tmp_path: Path, pg_dsn: str, moto_endpoint: str, dynamodb: Any, table_name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with connect(pg_dsn) as conn:
        conn.execute(DDL)
    create_dynamodb_table(dynamodb, table_name)
    for tenant, number in [("acme", 1), ("acme", 2), ("globex", 1)]:
        dynamodb.put_item(TableName=table_name, Item=_item(tenant, number))
    cfg = ["--config", str(_config(tmp_path / "parity.toml", table_name, pg_dsn, moto_endpoint))]

    found = _json(capsys, "reconcile", *cfg, "--json")
    assert found["missing_in_postgres"] == 3
    plan = _json(capsys, "replay", *cfg, "--json")
    assert plan["planned"] == 3 and plan["sources"]["found_by_scan"] == 3

    applied = _json(capsys, "replay", *cfg, "--apply", "--json")
    assert applied["applied"] == 3 and applied["unverified"] == []
    with connect(pg_dsn) as conn:
        row = conn.execute("SELECT * FROM shop.orders WHERE tenant = 'acme' AND number = 2").fetchone()
    assert row is not None
    assert row["payload"] == {"total": Decimal("12.50"), "lines": ["a", Decimal("1")]}
    assert row["labels"] == ["a", "b"]
    assert row["amount"] == Decimal("1234567890123456.1234")
    assert bytes(row["blob"]) == b"\x00\x01binary"
    assert row["updated_at"].isoformat() == "2026-11-02T08:00:00.123000"  # stored in UTC
    assert row["note"] == "kept by undo"

    assert _json(capsys, "reconcile", *cfg, "--json")["parity_percent"] == 100.0
    assert _json(capsys, "replay", *cfg, "--apply", "--json")["planned"] == 0

    undone = _json(capsys, "replay", *cfg, "--undo", applied["run_id"], "--json")
    assert undone["restored"] == 3
    with connect(pg_dsn) as conn:
        assert conn.execute("SELECT count(*) AS n FROM shop.orders").fetchone() == {"n": 0}
