"""``parity dead-letters [--json]`` and ``--retry`` (docs/reference.md) on a real store."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from parity.cli import main
from parity.jsontext import json_safe
from parity.local.example import config_toml, create_postgres_tables, generate, write_postgres
from parity.pg import Connection, connect
from parity.store import Store
from tests.consumer.test_poison import raw_record


@pytest.fixture
def app(pg_dsn: str) -> Iterator[Connection]:
    conn = connect(pg_dsn)
    create_postgres_tables(conn)
    conn.commit()
    yield conn
    conn.close()


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    assert main(list(args)) == 0
    return json.loads(capsys.readouterr().out)


def test_list_and_retry(app: Connection, pg_dsn: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "parity.toml"
    config.write_text(config_toml(table="app", dsn=pg_dsn))
    assert _run(capsys, "dead-letters", "--config", str(config), "--json") == []

    sessions = generate(1, 4)[0].sessions
    write_postgres(app, sessions)
    app.commit()
    store = Store("parity")
    good_stream = raw_record(sessions[0].item())
    drifted = raw_record({**sessions[1].item(), "name": {"S": "drifted"}})
    good_kinesis = {
        "sequenceNumber": "4960",
        "data": base64.b64encode(json.dumps(raw_record(sessions[2].item())).encode()).decode(),
    }
    still_bad = raw_record({**sessions[3].item(), "sessionId": {"S": "not-a-uuid"}})
    store.dead_letter(app, "dynamodb-streams", "ev-good", "PostgreSQL was down", json_safe(good_stream))
    store.dead_letter(app, "dynamodb-streams", "ev-drifted", "PostgreSQL was down", json_safe(drifted))
    store.dead_letter(app, "kinesis", "4960", "PostgreSQL was down", good_kinesis)
    store.dead_letter(app, "dynamodb-streams", "ev-bad", "undecodable key", still_bad)
    store.dead_letter(app, "reconcile", "item-1", "could not compare", {"item": sessions[3].item()})
    app.commit()

    listed = _run(capsys, "dead-letters", "--config", str(config), "--json")
    assert [set(d) for d in listed] == [{"source", "record_id", "reason", "created_at"}] * 5
    assert {(d["source"], d["record_id"]) for d in listed} == {
        ("dynamodb-streams", "ev-good"),
        ("dynamodb-streams", "ev-drifted"),
        ("kinesis", "4960"),
        ("dynamodb-streams", "ev-bad"),
        ("reconcile", "item-1"),
    }

    result = _run(capsys, "dead-letters", "--config", str(config), "--retry", "--json")
    assert result["retried"] == 5 and result["removed"] == 4
    [left] = result["dead_letters"]
    assert (left["source"], left["record_id"]) == ("dynamodb-streams", "ev-bad")
    assert "not a uuid" in left["reason"]
    found = [(d["key"]["id"], d["kind"], d["columns"]) for d in store.list_discrepancies(app, "open")]
    assert found == [(sessions[1].id, "mismatched", ["name"])]  # the drifted one: a discrepancy now, no longer dead

    assert main(["dead-letters", "--config", str(config)]) == 0
    text = capsys.readouterr().out
    assert "ev-bad" in text and "1 dead letter" in text
