"""parity's own tables on a real PostgreSQL: migrations and idempotent writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from psycopg import sql

from parity.compare import Discrepancy, Verdict
from parity.mapping import json_key_id
from parity.pg import Connection
from parity.store import Store, matched_param
from parity.store.migrate import migrations

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def test_migrations_run_once_and_are_idempotent(pg_conn: Connection) -> None:
    store = Store("parity_store")
    applied = store.migrate(pg_conn)
    assert applied == [m.name for m in migrations()]
    assert store.migrate(pg_conn) == []
    tables = {
        r["table_name"]
        for r in pg_conn.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'parity_store'")
    }
    assert {"discrepancies", "stream_checkpoints", "reconcile_runs", "dynamodb_only_archive", "dead_letters"} <= tables


def test_discrepancy_upsert_never_doubles_and_resolves(pg_conn: Connection) -> None:
    store = Store("parity")
    store.migrate(pg_conn)
    found = Discrepancy("session", {"id": "a"}, Verdict.MISMATCHED, ("name",))
    for _ in range(3):  # a replayed record
        store.record_discrepancies(pg_conn, [found], "stream", NOW)
    pg_conn.commit()
    listed = store.list_discrepancies(pg_conn, "open")
    assert [(d["key"], d["kind"], d["columns"], d["status"]) for d in listed] == [
        ({"id": "a"}, "mismatched", ["name"], "open")
    ]
    assert store.resolve(pg_conn, "session", [{"id": "a"}], "stream", NOW + timedelta(seconds=5)) == 1
    assert store.resolve(pg_conn, "session", [{"id": "a"}], "stream", NOW + timedelta(seconds=6)) == 0
    pg_conn.commit()
    assert store.list_discrepancies(pg_conn, "open") == []
    [resolved] = store.list_discrepancies(pg_conn, "resolved")
    assert resolved["last_seen"].startswith("2026-11-25T12:00:05")
    # seen again later: reopened with a new first_seen
    store.record_discrepancies(pg_conn, [found], "reconcile", NOW + timedelta(minutes=1))
    [reopened] = store.list_discrepancies(pg_conn, "all")
    assert (reopened["status"], reopened["detected_by"]) == ("open", "reconcile")
    assert reopened["first_seen"].startswith("2026-11-25T12:01")


def test_checkpoints_never_move_backwards(pg_conn: Connection) -> None:
    store = Store("parity")
    store.migrate(pg_conn)
    assert store.save_checkpoint(pg_conn, "arn", "shard-1", "200", parent_shard_id="shard-0")
    assert store.save_checkpoint(pg_conn, "arn", "shard-1", "1000")
    assert not store.save_checkpoint(pg_conn, "arn", "shard-1", "1000")  # a retried commit: already there
    assert not store.save_checkpoint(pg_conn, "arn", "shard-1", "999")  # shorter string, smaller number
    assert not store.save_checkpoint(pg_conn, "arn", "shard-1", None, shard_closed=True)
    [(shard, state)] = store.checkpoints(pg_conn, "arn").items()
    assert shard == "shard-1"
    assert (state["sequence_number"], state["parent_shard_id"], state["shard_closed"]) == ("1000", "shard-0", True)


def test_archive_and_dead_letters_are_idempotent(pg_conn: Connection) -> None:
    store = Store("parity")
    store.migrate(pg_conn)
    entry = {
        "entity": "session",
        "key": {"id": "a"},
        "event_id": "e1",
        "event_name": "INSERT",
        "new_image": {"name": {"S": "x"}},
    }
    store.archive(pg_conn, [entry, entry])
    store.dead_letter(pg_conn, "dynamodb-streams", "e9", "no entity", {"raw": 1})
    store.dead_letter(pg_conn, "dynamodb-streams", "e9", "no entity", {"raw": 1})
    store.record_gap(pg_conn, "arn", "shard-1", "5", "TrimmedDataAccessException")
    store.record_gap(pg_conn, "arn", "shard-1", "5", "TrimmedDataAccessException")
    counts = pg_conn.execute(
        "SELECT (SELECT count(*) FROM parity.dynamodb_only_archive) AS a,"
        " (SELECT count(*) FROM parity.dead_letters) AS d, (SELECT count(*) FROM parity.stream_gaps) AS g"
    ).fetchone()
    assert counts == {"a": 1, "d": 1, "g": 1}


def test_one_resolve_for_every_checker_and_reopen_for_an_undone_replay(pg_conn: Connection) -> None:
    store = Store("parity")
    store.migrate(pg_conn)
    found = [
        Discrepancy("session", {"id": "a"}, Verdict.MISMATCHED, ("name",)),
        Discrepancy("session", {"id": "b"}, Verdict.MISSING_IN_POSTGRES, ()),
        Discrepancy("campaign", {"id": 1}, Verdict.MISSING_IN_DYNAMODB, ()),
    ]
    store.record_discrepancies(pg_conn, found, "stream", NOW)
    later = NOW + timedelta(seconds=5)
    matched = {"session": [json_key_id({"id": "a"}), json_key_id({"id": "zz"})], "campaign": [json_key_id({"id": 1})]}
    assert store.resolve_ids(pg_conn, matched, "replay", later) == 2
    assert store.resolve_ids(pg_conn, {"session": []}, "replay", later) == 0
    rows = {(r["entity"], r["key_id"]): r for r in store.discrepancy_rows(pg_conn, "all")}
    assert rows["session", '{"id":"a"}']["resolved_by"] == "replay"
    assert rows["session", '{"id":"a"}']["last_seen"] == later
    assert rows["session", '{"id":"b"}']["status"] == "open"
    assert store.count_discrepancies(pg_conn, "resolved") == 2
    # only what replay resolved comes back
    store.resolve(pg_conn, "session", [{"id": "b"}], "stream", later)
    assert store.reopen(pg_conn, {"session": ['{"id":"a"}', '{"id":"b"}']}, "replay") == 1
    assert [r["key"] for r in store.discrepancy_rows(pg_conn, "open", kinds=("mismatched",))] == [{"id": "a"}]
    touched = [(r["key_id"], r["status"]) for r in store.touched_by(pg_conn, "stream")]  # by last_seen
    assert touched == [('{"id":"a"}', "open"), ('{"id":"b"}', "resolved"), ('{"id":1}', "resolved")]


def test_the_resolve_statement_embeds_as_a_cte(pg_conn: Connection) -> None:
    """The reconciler commits a page in one statement: the same resolve, as a data-modifying CTE."""
    store = Store("parity")
    store.migrate(pg_conn)
    store.record_discrepancies(pg_conn, [Discrepancy("s", {"id": "a"}, Verdict.MISMATCHED, ())], "stream", NOW)
    query = sql.SQL("WITH r AS ({} RETURNING d.key_id) SELECT count(*) AS n FROM r").format(store.resolve_sql())
    params = {"matched": matched_param({"s": ['{"id":"a"}'], "t": []}), "resolved_by": "reconcile", "seen_at": NOW}
    row = pg_conn.execute(query, params).fetchone()
    assert row is not None and row["n"] == 1


def test_a_schema_name_needing_quotes_works_everywhere(pg_conn: Connection) -> None:
    store = Store('odd "name". x')
    store.migrate(pg_conn)
    assert store.has_table(pg_conn, "discrepancies")
    assert not store.has_table(pg_conn, "no_such_table")
    assert store.rows_if_present(pg_conn, "no_such_table", "SELECT 1 FROM {}") == []
    store.record_discrepancies(pg_conn, [Discrepancy("s", {"id": "a"}, Verdict.MISMATCHED, ())], "stream", NOW)
    assert store.count_discrepancies(pg_conn) == 1
    assert store.rows_if_present(pg_conn, "discrepancies", "SELECT count(*) AS n FROM {}") == [{"n": 1}]
