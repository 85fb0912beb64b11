"""The Checker against a real PostgreSQL (the test's own database): verdicts, grace, idempotency."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from parity.config import ParityConfig, load_config
from parity.consumer.checker import Checker, Undecodable
from parity.errors import PostgresError, PostgresUnavailable
from parity.local.example import config_toml, create_postgres_tables, generate, write_postgres
from parity.pg import Connection, connect
from parity.store import Store
from parity.stream.records import Source
from tests.consumer.helpers import stream_record


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


@pytest.fixture
def checker(config: ParityConfig, pg_dsn: str) -> Iterator[Checker]:
    c = Checker(config, pg_dsn, source=Source.DYNAMODB_STREAMS, grace_seconds=30)
    yield c
    c.close()


def _open(app: Connection) -> list[dict]:  # type: ignore[type-arg]
    return Store("parity").list_discrepancies(app, "open")


def _count(app: Connection, table: str) -> int:
    row = app.execute(f"SELECT count(*) AS n FROM parity.{table}").fetchone()
    app.commit()
    return int(row["n"]) if row else 0


def later() -> datetime:
    """A moment past the 30 s grace of every record received so far (computed when asked, not at import:
    the module is imported at collection, possibly minutes before its tests run)."""
    return datetime.now(UTC) + timedelta(seconds=60)


def test_matches_and_coalesces_in_one_batch(checker: Checker, app: Connection) -> None:
    sessions = generate(1, 5)[0].sessions
    write_postgres(app, sessions)
    records = [stream_record("INSERT", s) for s in sessions]
    records.append(stream_record("MODIFY", sessions[0]))  # same key twice: coalesced
    outcome = checker.process(records)
    assert outcome.verdicts == {"match": 5, "coalesced": 1}
    assert len(outcome.latencies_ms) == 5
    assert checker.pending_count() == 0


def test_first_mismatch_waits_then_late_write_resolves(checker: Checker, app: Connection) -> None:
    s = generate(1, 1)[0].sessions[0]
    outcome = checker.process([stream_record("INSERT", s)])
    assert outcome.verdicts == {"pending": 1} and outcome.discrepancies == ()
    assert checker.pending_count() == 1
    assert checker.decide_due().records == 0  # not due yet
    write_postgres(app, [s])  # the PostgreSQL half lands within grace
    decided = checker.decide_due(now=later())
    assert decided.verdicts == {"match": 1}
    assert checker.pending_count() == 0 and _open(app) == []


def test_failed_write_becomes_a_discrepancy_and_is_archived(checker: Checker, app: Connection) -> None:
    c = generate(1, 3)[0]
    missing, wrong, superseded = c.sessions
    write_postgres(app, [wrong.touched(updated_at=wrong.updated_at, summary="wrong column")])
    write_postgres(app, [superseded.touched(name="postgres moved on")])
    records = [stream_record("INSERT", missing), stream_record("INSERT", wrong), stream_record("INSERT", superseded)]
    first = checker.process(records)
    assert first.verdicts == {"pending": 2, "superseded": 1}
    decided = checker.decide_due(now=later())
    assert decided.verdicts == {"missing_in_postgres": 1, "mismatched": 1}
    found = {(d["key"]["id"], d["kind"], tuple(d["columns"]), d["detected_by"]) for d in _open(app)}
    assert found == {
        (missing.id, "missing_in_postgres", (), "stream"),
        (wrong.id, "mismatched", ("summary",), "stream"),
    }
    # only the lost write is archived for replay: the wrong column has PostgreSQL's write, same version
    archived = app.execute("SELECT key FROM parity.dynamodb_only_archive").fetchall()
    assert archived == [{"key": {"id": missing.id}}]
    # the fix lands later: a later matching check of the key resolves the discrepancy
    write_postgres(app, [missing])
    assert checker.process([stream_record("MODIFY", missing)]).verdicts == {"match": 1}
    assert [d["key"]["id"] for d in _open(app)] == [wrong.id]


def test_delete_that_reached_only_dynamodb(checker: Checker, app: Connection) -> None:
    kept, deleted = generate(1, 2)[0].sessions
    write_postgres(app, [kept, deleted])
    app.execute("DELETE FROM public.sessions WHERE id = %s", (deleted.id,))
    app.commit()
    checker.process([stream_record("REMOVE", kept), stream_record("REMOVE", deleted)])
    checker.decide_due(now=later())
    (only,) = _open(app)
    assert (only["key"], only["kind"]) == ({"id": kept.id}, "missing_in_dynamodb")


def test_replayed_batch_never_doubles_rows(checker: Checker, app: Connection) -> None:
    sessions = generate(1, 3)[0].sessions
    records = [stream_record("INSERT", s) for s in sessions]
    for _ in range(2):
        checker.process(records)
    checker.decide_due(now=later())
    checker.process(records)  # replayed after its verdicts: pending again, same keys
    checker.decide_due(now=later())
    assert len(_open(app)) == 3
    assert _count(app, "dynamodb_only_archive") == 3
    assert _count(app, "consumer_pending") == 0


def test_older_record_never_replaces_a_newer_pending_one(checker: Checker, app: Connection) -> None:
    s = generate(1, 1)[0].sessions[0]
    newer = s.touched(name="newer")
    checker.process([stream_record("MODIFY", newer, sequence=500)])
    write_postgres(app, [s])  # PostgreSQL still has the old version
    checker.process([stream_record("MODIFY", s, sequence=400)])  # an older record matches: keeps the pending
    assert checker.pending_count() == 1
    checker.decide_due(now=later())
    (only,) = _open(app)
    assert only["kind"] == "mismatched" and "name" in only["columns"]


def test_grace_zero_decides_at_once_and_dead_letters(config: ParityConfig, pg_dsn: str, app: Connection) -> None:
    s = generate(1, 1)[0].sessions[0]
    checker = Checker(config, pg_dsn, source=Source.KINESIS, grace_seconds=0)
    try:
        bad = Undecodable("seq-1", "not JSON", {"data": "eyJ"})
        outcome = checker.process([stream_record("INSERT", s)], [bad])
        assert outcome.verdicts == {"missing_in_postgres": 1, "dead_letter": 1}
    finally:
        checker.close()
    row = app.execute("SELECT source, reason, raw FROM parity.dead_letters").fetchone()
    assert row == {"source": "kinesis", "reason": "not JSON", "raw": {"data": "eyJ"}}


def test_hook_runs_in_the_same_transaction(checker: Checker, app: Connection) -> None:
    s = generate(1, 1)[0].sessions[0]

    def checkpoint(conn: Connection, store: Store) -> None:
        store.save_checkpoint(conn, "arn:stream", "shard-1", "123")
        raise RuntimeError("crash after the checkpoint, before commit")

    with pytest.raises(RuntimeError):
        checker.process([stream_record("INSERT", s)], in_transaction=checkpoint)
    assert _count(app, "consumer_pending") == 0
    assert _count(app, "stream_checkpoints") == 0
    checker.process([stream_record("INSERT", s)])  # reconnects by itself
    assert checker.pending_count() == 1


def test_unreachable_postgres_raises_unavailable(config: ParityConfig) -> None:
    checker = Checker(config, "postgresql://nobody@127.0.0.1:1/none", source=Source.DYNAMODB_STREAMS)
    with pytest.raises(PostgresUnavailable):
        checker.process([stream_record("INSERT", generate(1, 1)[0].sessions[0])])


def test_campaign_entity_with_decimal_and_ms_timestamps(checker: Checker, app: Connection) -> None:
    campaign = generate(1, 0)[0]
    write_postgres(app, [campaign])
    assert checker.process([stream_record("INSERT", campaign)]).verdicts == {"match": 1}


def test_update_that_missed_postgres_is_archived(checker: Checker, app: Connection) -> None:
    s = generate(1, 1)[0].sessions[0]
    write_postgres(app, [s])
    newer = s.touched(summary="only in dynamodb")
    checker.process([stream_record("MODIFY", newer, old=s)])
    decided = checker.decide_due(now=later())
    assert [(d.kind, d.columns) for d in decided.discrepancies] == [("mismatched", ("summary", "updated_at"))]
    assert decided.archived == 1


def test_newer_matching_record_clears_the_pending_one(checker: Checker, app: Connection) -> None:
    s = generate(1, 1)[0].sessions[0]
    checker.process([stream_record("INSERT", s, sequence=400)])  # no row yet: pending
    write_postgres(app, [s])
    assert checker.process([stream_record("MODIFY", s, sequence=500)]).verdicts == {"match": 1}
    assert checker.pending_count() == 0
    assert checker.decide_due(now=later()).records == 0 and _open(app) == []


def test_without_sequence_numbers_creation_time_orders_the_clearing(checker: Checker, app: Connection) -> None:
    """Kinesis records carry no DynamoDB sequence number: ApproximateCreationDateTime decides."""
    a, b = generate(1, 2)[0].sessions
    t = datetime.now(UTC)
    pend = [replace(stream_record("INSERT", v, created=t), sequence_number=None) for v in (a, b)]
    checker.process(pend)
    write_postgres(app, [a, b])
    older = replace(stream_record("MODIFY", a, created=t - timedelta(seconds=1)), sequence_number=None)
    newer = replace(stream_record("MODIFY", b, created=t + timedelta(seconds=1)), sequence_number=None)
    assert checker.process([older, newer]).verdicts == {"match": 2}
    left = app.execute("SELECT key FROM parity.consumer_pending").fetchall()
    app.commit()
    assert left == [{"key": {"id": a.id}}]  # the older match leaves a's later pending change alone


def test_a_failing_statement_commits_nothing_and_the_checker_recovers(checker: Checker, app: Connection) -> None:
    """Statements are queued in pipeline mode: an error of any of them aborts the whole batch."""
    s = generate(1, 1)[0].sessions[0]

    def broken(conn: Connection, store: Store) -> None:
        store.save_checkpoint(conn, "arn:stream", "shard-1", "123")
        conn.execute("INSERT INTO parity.no_such_table VALUES (1)")

    with pytest.raises(PostgresError):
        checker.process([stream_record("INSERT", s)], in_transaction=broken)
    assert _count(app, "consumer_pending") == 0
    assert _count(app, "stream_checkpoints") == 0
    checker.process([stream_record("INSERT", s)])
    assert checker.pending_count() == 1
