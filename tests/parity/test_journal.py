"""The journal of replay's and repair's runs (parity.store.journal, parity.journal): migration 150
carries the runs each command kept in its own tables over, and the lifecycle marks runs as they end."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from psycopg.types.json import Jsonb

from parity.compare import Discrepancy, Verdict
from parity.errors import InputError, Interrupted
from parity.journal import Applied, RunKind, finish_run, journal_of, journalled_run, undo
from parity.mapping import json_key_id
from parity.pg import Connection
from parity.store import JournalEntry, Store

# replay's (050, 125) and repair's (080, 081) tables as a store made before migration 150 holds them
_BEFORE_150 = """
CREATE TABLE old.replay_runs (run_id text PRIMARY KEY, started_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz, status text NOT NULL, options jsonb NOT NULL DEFAULT '{}',
    summary jsonb NOT NULL DEFAULT '{}', undone_at timestamptz);
CREATE TABLE old.replay_journal (run_id text NOT NULL REFERENCES old.replay_runs (run_id),
    seq bigint GENERATED ALWAYS AS IDENTITY, entity text NOT NULL, key_id text NOT NULL, key jsonb NOT NULL,
    action text NOT NULL, previous jsonb, applied jsonb, columns text[] NOT NULL DEFAULT '{}',
    applied_at timestamptz NOT NULL DEFAULT now(), undone_at timestamptz, PRIMARY KEY (run_id, seq));
CREATE TABLE old.repair_runs (LIKE old.replay_runs INCLUDING ALL);
CREATE TABLE old.repair_journal (run_id text NOT NULL REFERENCES old.repair_runs (run_id),
    seq bigint GENERATED ALWAYS AS IDENTITY, entity text NOT NULL, key_id text NOT NULL, key jsonb NOT NULL,
    action text NOT NULL, item_key jsonb NOT NULL, before jsonb, after jsonb, columns text[] NOT NULL DEFAULT '{}',
    applied_at timestamptz NOT NULL DEFAULT now(), undone_at timestamptz, PRIMARY KEY (run_id, seq));
"""


def _store_before_150(conn: Connection) -> Store:
    store = Store("old")
    store.migrate(conn)
    conn.execute("DROP TABLE old.journal_entries, old.journal_runs")
    conn.execute("DELETE FROM old.schema_migrations WHERE version = 150")
    conn.execute(_BEFORE_150)
    return store


def test_migration_150_carries_both_commands_runs_over_unchanged(pg_conn: Connection) -> None:
    store = _store_before_150(pg_conn)
    pg_conn.execute(
        "INSERT INTO old.replay_runs (run_id, status, summary, undone_at) VALUES ('r1', 'undone', %s, now())",
        (Jsonb({"inserted": 1, "deleted": 1}),),
    )
    row = {"id": "a", "price": "12.50"}
    for action, previous, applied in (("insert", None, row), ("delete", row, None)):
        pg_conn.execute(
            "INSERT INTO old.replay_journal (run_id, entity, key_id, key, action, previous, applied, columns)"
            " VALUES ('r1', 'session', 'a', %s, %s, %s, %s, '{name}')",
            (Jsonb({"id": "a"}), action, *(None if v is None else Jsonb(v) for v in (previous, applied))),
        )
    pg_conn.execute("UPDATE old.replay_journal SET undone_at = now() WHERE seq = 2")
    pg_conn.execute("INSERT INTO old.repair_runs (run_id, status) VALUES ('p1', 'interrupted')")
    item = {"pk": {"S": "a"}, "blob": {"B": "AAE="}}
    pg_conn.execute(
        "INSERT INTO old.repair_journal (run_id, entity, key_id, key, action, item_key, before, after)"
        " VALUES ('p1', 'session', 'a', %s, 'put', %s, NULL, %s)",
        (Jsonb({"id": "a"}), Jsonb({"pk": {"S": "a"}}), Jsonb(item)),
    )
    pg_conn.commit()

    assert store.migrate(pg_conn) == ["150_journal.sql"]

    replay = store.journal_runs(pg_conn, "replay")
    assert [(r["run_id"], r["status"], r["summary"]) for r in replay] == [
        ("r1", "undone", {"inserted": 1, "deleted": 1})
    ]
    assert replay[0]["undone_at"] is not None
    entries = store.journal_entries(pg_conn, "r1")
    assert [(e.seq, e.action, e.before, e.after, e.columns) for e in entries] == [
        (2, "delete", row, None, ("name",)),
        (1, "insert", None, row, ("name",)),
    ]
    assert entries[0].undone_at is not None and entries[1].undone_at is None and entries[1].target is None
    assert [(r["run_id"], r["status"]) for r in store.journal_runs(pg_conn, "repair")] == [("p1", "interrupted")]
    (put,) = store.journal_entries(pg_conn, "p1")
    assert (put.seq, put.action, put.target, put.before, put.after) == (1, "put", {"pk": {"S": "a"}}, None, item)
    gone = pg_conn.execute(
        "SELECT count(to_regclass('old.' || t)) AS n FROM unnest(ARRAY['replay_runs', 'replay_journal',"
        " 'repair_runs', 'repair_journal']) AS t"
    ).fetchone()
    assert gone is not None and gone["n"] == 0
    # new writes number on after the carried-over ones
    store.journal(pg_conn, "p1", [JournalEntry("session", "b", {"id": "b"}, "put", None, item, target={})])
    assert [e.seq for e in store.journal_entries(pg_conn, "p1")] == [3, 1]
    assert store.migrate(pg_conn) == []


def test_a_fresh_store_gets_the_journal_without_the_old_tables(pg_conn: Connection) -> None:
    store = Store("fresh")
    store.migrate(pg_conn)
    assert store.has_table(pg_conn, "journal_runs") and store.has_table(pg_conn, "journal_entries")
    assert not any(store.has_table(pg_conn, t) for t in ("replay_runs", "replay_journal", "repair_runs"))


_KIND = RunKind("trial", "t")


def _run(conn: Connection, store: Store, error: BaseException | None) -> str:
    run_id = _KIND.new_run_id()
    try:
        with journalled_run(conn, store, _KIND, run_id, {"option": 1}):
            store.journal(conn, run_id, [JournalEntry("session", "a", {"id": "a"}, "update", {"v": 1}, {"v": 2})])
            conn.commit()
            if error is not None:
                raise error
    except BaseException as exc:
        assert exc is error
    else:
        finish_run(conn, store, Applied(run_id, updated=1))
    return run_id


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (None, "applied"),
        (Interrupted("stopped by a signal"), "interrupted"),
        (KeyboardInterrupt(), "interrupted"),
        (RuntimeError("boom\nmore"), "failed"),
    ],
)
def test_a_run_ends_applied_interrupted_or_failed_its_writes_journalled(
    pg_conn: Connection, error: BaseException | None, status: str
) -> None:
    store = Store("runs")
    store.migrate(pg_conn)
    run_id = _run(pg_conn, store, error)
    (run,) = store.journal_runs(pg_conn, "trial")
    assert (run["run_id"], run["status"]) == (run_id, status)
    assert run_id.startswith("t") and len(store.journal_entries(pg_conn, run_id)) == 1
    counts = {"updated": 1, "deleted": 0, "resolved": 0, "unverified": 0}
    expected: dict[str, Any] = counts if error is None else {"error": str(error) or "KeyboardInterrupt"}
    assert run["summary"] == ({"error": "boom"} if isinstance(error, RuntimeError) else expected)


def test_undo_restores_what_still_holds_the_after_image_once(pg_conn: Connection) -> None:
    """Restores newest first what still holds the run's after image, leaves the rest with its
    reason, reopens the discrepancies the run's kind had resolved for what it restored (and no
    other), and restores nothing twice."""
    store = Store("undo")
    store.migrate(pg_conn)
    ids = {k: json_key_id({"id": k}) for k in ("a", "b", "c", "d")}
    now = datetime.now(UTC)
    store.record_discrepancies(
        pg_conn, [Discrepancy("session", {"id": k}, Verdict.MISMATCHED) for k in ids], "reconcile", now
    )
    store.resolve(pg_conn, "session", [{"id": k} for k in ("a", "b", "c")], "trial", now)
    store.resolve(pg_conn, "session", [{"id": "d"}], "reconcile", now)  # not the run's to reopen
    pg_conn.commit()
    run_id = _KIND.new_run_id()
    with journalled_run(pg_conn, store, _KIND, run_id, {}):
        store.journal(
            pg_conn,
            run_id,
            [JournalEntry("session", ids[k], {"id": k}, "update", {"v": 1}, {"v": 2}) for k in ("a", "b", "c", "d")],
        )
        pg_conn.commit()
    finish_run(pg_conn, store, Applied(run_id))
    state = {ids["a"]: {"v": 2}, ids["b"]: {"v": 9}, ids["c"]: {"v": 2}, ids["d"]: {"v": 2}}  # b changed since

    def restore(entry: JournalEntry) -> str | None:
        if state[entry.key_id] != entry.after:
            return "changed since"
        state[entry.key_id] = entry.before
        return None

    first = undo(pg_conn, store, _KIND, run_id, journal_of(pg_conn, store, _KIND, run_id), restore, batch_size=2)
    assert (first.restored, first.skipped_changed_since, first.already_undone, first.reopened) == (3, 1, 0, 2)
    assert first.left_alone == [
        {"entity": "session", "key": {"id": "b"}, "action": "update", "reason": "changed since"}
    ]
    assert state == {ids["a"]: {"v": 1}, ids["b"]: {"v": 9}, ids["c"]: {"v": 1}, ids["d"]: {"v": 1}}
    open_now = {d["key"]["id"] for d in store.list_discrepancies(pg_conn, "open")}
    assert open_now == {"a", "c"}  # b was left alone; d was resolved by another kind
    again = undo(pg_conn, store, _KIND, run_id, journal_of(pg_conn, store, _KIND, run_id), restore)
    assert (again.restored, again.skipped_changed_since, again.already_undone, again.reopened) == (0, 1, 3, 0)
    assert store.journal_runs(pg_conn, "trial")[0]["status"] == "undone"
    with pytest.raises(InputError, match=rf"--undo 'r-nope': no such trial run; recent runs: {run_id} \(undone\)"):
        journal_of(pg_conn, store, _KIND, "r-nope")
    with pytest.raises(InputError, match="no such other run; no other run was applied yet"):
        journal_of(pg_conn, store, RunKind("other", "o"), run_id)
