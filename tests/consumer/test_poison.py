"""Poison records in the middle of good ones: each is a dead letter or a discrepancy, the batch goes on.

The Checker against a real PostgreSQL: one batch holds good records and every hostile record of
issue #13 (U+0000 in a string, uuid keys "" and "not-a-uuid", a json attribute nested 3,000 deep as
text - in the PostgreSQL row too - and 40 deep as a map, an event id PostgreSQL refuses, a record
the decoder refuses). Nothing
raises, every good record is checked, every bad one is reported with its id and reason.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from parity.config import ParityConfig, load_config
from parity.consumer.checker import Checker
from parity.consumer.runner import decode_records
from parity.local.example import Session, config_toml, create_postgres_tables, generate, write_postgres
from parity.pg import Connection, connect, storable_key
from parity.store import Store
from parity.stream.records import Source

_seq = itertools.count(300_000_000_000_000_000_000)


def raw_record(item: dict[str, Any], *, event_id: str | None = None, created: Any = None) -> dict[str, Any]:
    seq = str(next(_seq))
    body = {
        "ApproximateCreationDateTime": created if created is not None else datetime.now(UTC).timestamp(),
        "Keys": {k: item[k] for k in ("pk", "sk")},
        "SequenceNumber": seq,
        "NewImage": item,
    }
    return {"eventID": event_id or f"ev-{seq}", "eventName": "INSERT", "dynamodb": body}


def nested_map(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"S": "leaf"}
    for _ in range(depth):
        value = {"M": {"x": value}}
    return value


def poisoned(sessions: list[Session]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Good records with every hostile one in the middle; event id -> what it is."""
    good = [raw_record(s.item()) for s in sessions[:4]]
    kinds: dict[str, str] = {}

    def bad(kind: str, item: dict[str, Any], **kw: Any) -> dict[str, Any]:
        record = raw_record(item, **kw)
        kinds[record["eventID"]] = kind
        return record

    s = sessions
    poison = [
        bad("nul_string", {**s[4].item(), "name": {"S": "bad\x00name"}}),
        bad("uuid_empty", {**s[5].item(), "sessionId": {"S": ""}}),
        bad("uuid_bad", {**s[5].item(), "sessionId": {"S": "not-a-uuid"}}),
        bad("json_deep_text", {**s[6].item(), "metadata": {"S": "[" * 3000 + "]" * 3000}}),  # row: the same
        bad("json_deep_map", {**s[7].item(), "metadata": nested_map(40)}),
        bad("nul_event_id", {**s[8].item(), "name": {"S": "drifted"}}, event_id="ev-\x00-refused"),
        bad("nan_created", s[9].item(), created="NaN"),
        bad("huge_created", s[9].item(), created=1e30),
    ]
    return good[:2] + poison + good[2:], kinds


@pytest.fixture
def config(tmp_path, pg_dsn: str) -> ParityConfig:  # type: ignore[no-untyped-def]
    path = tmp_path / "parity.toml"
    path.write_text(config_toml(table="app", dsn=pg_dsn))
    return load_config(path)


@pytest.fixture
def app(pg_dsn: str) -> Iterator[Connection]:
    conn = connect(pg_dsn)
    create_postgres_tables(conn)
    conn.commit()
    yield conn
    conn.close()


def test_poison_records_become_dead_letters_or_discrepancies_and_the_batch_goes_on(
    config: ParityConfig, pg_dsn: str, app: Connection
) -> None:
    sessions = generate(1, 10)[0].sessions
    write_postgres(app, sessions)
    deep = "[" * 3000 + "]" * 3000  # the app wrote the same deep JSON to both stores
    app.execute("UPDATE sessions SET metadata = %s::jsonb WHERE id = %s", (deep, sessions[6].id))
    app.commit()
    raws, kinds = poisoned(sessions)
    records, undecodable = decode_records(raws)  # never raises
    assert {u.record_id for u in undecodable} == {e for e, k in kinds.items() if k.endswith("_created")}
    checkpoints: list[str] = []
    checker = Checker(config, pg_dsn, source=Source.DYNAMODB_STREAMS, grace_seconds=30)
    try:
        outcome = checker.process(
            records, undecodable, in_transaction=lambda conn, store: checkpoints.append("committed")
        )
        assert checkpoints == ["committed"]  # the hook (the checkpoint) committed once, after every record
        assert outcome.verdicts == {"match": 4, "pending": 3, "dead_letter": 5}
        failed = {kinds[f.record_id.replace("\\u0000", "\x00")]: f.reason for f in outcome.failures}
        assert set(failed) == {"uuid_empty", "uuid_bad", "nul_event_id", "nan_created", "huge_created"}
        assert "is not a uuid" in failed["uuid_bad"] and "is not a uuid" in failed["uuid_empty"]
        assert "PostgreSQL refused" in failed["nul_event_id"]
        assert "ApproximateCreationDateTime" in failed["nan_created"]
        # the connection is fine afterwards, and the pending re-checks end in discrepancies
        assert checker.process([records[0]]).verdicts == {"match": 1}
        decided = checker.decide_due(datetime.now(UTC) + timedelta(seconds=60))
        assert decided.verdicts == {"mismatched": 3}
    finally:
        checker.close()
    store = Store("parity")
    found = {(d["key"]["id"], tuple(d["columns"])) for d in store.list_discrepancies(app, "open")}
    assert found == {(sessions[4].id, ("name",)), (sessions[6].id, ("metadata",)), (sessions[7].id, ("metadata",))}
    letters = store.list_dead_letters(app, with_raw=True)
    app.commit()
    assert len(letters) == 5
    assert all(set(letter) == {"source", "record_id", "reason", "created_at", "raw"} for letter in letters)
    refused = next(letter for letter in letters if letter["record_id"] == "ev-\\u0000-refused")
    assert refused["raw"]["eventID"] == "ev-\\u0000-refused"  # kept, with U+0000 in a form jsonb accepts


def test_keys_postgresql_cannot_hold_are_left_out_of_the_row_read(config: ParityConfig) -> None:
    session = config.entity[0]
    assert storable_key(session, ("4f1c2a3b-0000-4000-8000-00000000abcd",))
    assert not storable_key(session, ("a\x00b",))
