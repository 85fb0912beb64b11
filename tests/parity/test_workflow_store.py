"""The discrepancy workflow in the store: values kept and refreshed, accept / reopen, history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from parity.compare import Discrepancy, Verdict
from parity.pg import Connection
from parity.store import Store, workflow

NOW = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
KEY = {"id": "a"}


def _mismatch(dynamodb: str, postgres: str = "old") -> Discrepancy:
    values = {"name": {"dynamodb": dynamodb, "postgres": postgres}}
    return Discrepancy("session", KEY, Verdict.MISMATCHED, ("name",), values)


def _only(store: Store, conn: Connection, status: str = "all") -> dict[str, object]:
    [found] = store.list_discrepancies(conn, status)
    return found


def test_values_are_kept_and_refreshed_by_a_later_check(pg_conn: Connection) -> None:
    store = Store("parity")
    store.migrate(pg_conn)
    store.record_discrepancies(pg_conn, [_mismatch("new 1")], "stream", NOW)
    assert _only(store, pg_conn)["values"] == {"name": {"dynamodb": "new 1", "postgres": "old"}}
    # a check without values (none to give) keeps the stored ones
    bare = Discrepancy("session", KEY, Verdict.MISMATCHED, ("name",))
    store.record_discrepancies(pg_conn, [bare], "reconcile", NOW + timedelta(seconds=1))
    assert _only(store, pg_conn)["values"] == {"name": {"dynamodb": "new 1", "postgres": "old"}}
    store.record_discrepancies(pg_conn, [_mismatch("new 2")], "reconcile", NOW + timedelta(seconds=2))
    found = _only(store, pg_conn)
    assert found["values"] == {"name": {"dynamodb": "new 2", "postgres": "old"}}
    # found by the stream checker first: the reconciler seeing it again does not make it its find
    assert (found["detected_by"], found["status"], found["note"]) == ("stream", "open", None)
    assert found["first_seen"] == NOW.isoformat()


def test_found_by_is_who_found_it_first_until_it_is_resolved(pg_conn: Connection) -> None:
    store = Store("parity")
    store.migrate(pg_conn)
    store.record_discrepancies(pg_conn, [_mismatch("x")], "stream", NOW)
    # the reconciler finds the same key again, and again with another kind: still the stream's find
    store.record_discrepancies(pg_conn, [_mismatch("y")], "reconcile", NOW + timedelta(minutes=1))
    gone = Discrepancy("session", KEY, Verdict.MISSING_IN_DYNAMODB, (), {"postgres": {"id": "a"}})
    store.record_discrepancies(pg_conn, [gone], "reconcile", NOW + timedelta(minutes=2))
    found = _only(store, pg_conn)
    assert (found["detected_by"], found["first_seen"], found["kind"]) == (
        "stream",
        NOW.isoformat(),
        "missing_in_dynamodb",
    )
    # accepted, then reopened by the reconciler seeing new values: found by stream, reopened by reconcile
    workflow.accept(pg_conn, store, "session", KEY, "known", "ana", NOW + timedelta(minutes=3))
    store.record_discrepancies(pg_conn, [_mismatch("z")], "reconcile", NOW + timedelta(minutes=4))
    found = _only(store, pg_conn)
    assert (found["status"], found["detected_by"]) == ("open", "stream")
    # resolved, then found again: a new discrepancy, whoever finds it now found it first
    store.resolve(pg_conn, "session", [KEY], "stream", NOW + timedelta(minutes=5))
    store.record_discrepancies(pg_conn, [_mismatch("w")], "reconcile", NOW + timedelta(minutes=6))
    store.record_discrepancies(pg_conn, [_mismatch("w")], "stream", NOW + timedelta(minutes=7))
    found = _only(store, pg_conn)
    later = (NOW + timedelta(minutes=6)).isoformat()
    assert (found["status"], found["detected_by"], found["first_seen"]) == ("open", "reconcile", later)
    pg_conn.commit()
    history = [(e["status"], e["by"]) for e in workflow.status_history(pg_conn, store)]
    assert history == [
        ("open", "stream"),
        ("accepted", "ana"),
        ("open", "reconcile"),  # the checker that reopened it, not the one that found it
        ("resolved", "stream"),
        ("open", "reconcile"),
    ]
    # the reopening checker's name does not outlive its recording
    setting = pg_conn.execute("SELECT current_setting('parity.actor', true) AS v").fetchone()
    assert setting is not None and not setting["v"]


def test_accepted_stays_accepted_until_its_values_change(pg_conn: Connection) -> None:
    store = Store("parity")
    store.migrate(pg_conn)
    store.record_discrepancies(pg_conn, [_mismatch("x")], "stream", NOW)
    assert workflow.accept(pg_conn, store, "session", KEY, "known: trailing text", "ana", NOW) == "open"
    accepted = _only(store, pg_conn, "accepted")
    assert (accepted["note"], accepted["accepted_by"]) == ("known: trailing text", "ana")
    assert store.list_discrepancies(pg_conn, "open") == []
    # the same difference seen again: still accepted
    store.record_discrepancies(pg_conn, [_mismatch("x")], "reconcile", NOW + timedelta(minutes=1))
    assert _only(store, pg_conn)["status"] == "accepted"
    # its values change: the checker reopens it, and the note stays for context
    store.record_discrepancies(pg_conn, [_mismatch("y")], "stream", NOW + timedelta(minutes=2))
    reopened = _only(store, pg_conn)
    assert (reopened["status"], reopened["note"]) == ("open", "known: trailing text")
    # accept again, then reopen by hand, then accept and resolve: a match resolves accepted ones too
    workflow.accept(pg_conn, store, "session", KEY, "still fine", "ana", NOW + timedelta(minutes=3))
    assert workflow.reopen(pg_conn, store, "session", KEY, "cy") is True
    assert workflow.reopen(pg_conn, store, "session", KEY, "cy") is False  # not accepted any more
    workflow.accept(pg_conn, store, "session", KEY, "fine", "bo", NOW + timedelta(minutes=4))
    assert store.resolve(pg_conn, "session", [KEY], "reconcile", NOW + timedelta(minutes=5)) == 1
    assert _only(store, pg_conn)["status"] == "resolved"
    # nothing to accept: the previous status says why
    assert workflow.accept(pg_conn, store, "session", KEY, "n", "bo", NOW) == "resolved"
    assert workflow.accept(pg_conn, store, "session", {"id": "zz"}, "n", "bo", NOW) is None
    pg_conn.commit()
    history = [(e["status"], e["by"]) for e in workflow.status_history(pg_conn, store)]
    assert history == [
        ("open", "stream"),
        ("accepted", "ana"),
        ("open", "stream"),
        ("accepted", "ana"),
        ("open", "cy"),
        ("accepted", "bo"),
        ("resolved", "reconcile"),
    ]


def test_a_kind_change_reopens_an_accepted_discrepancy(pg_conn: Connection) -> None:
    store = Store("parity")
    store.migrate(pg_conn)
    store.record_discrepancies(pg_conn, [_mismatch("x")], "stream", NOW)
    workflow.accept(pg_conn, store, "session", KEY, "ok", "ana", NOW)
    gone = Discrepancy("session", KEY, Verdict.MISSING_IN_DYNAMODB, (), {"postgres": {"id": "a", "name": "old"}})
    store.record_discrepancies(pg_conn, [gone], "stream", NOW + timedelta(seconds=1))
    found = _only(store, pg_conn)
    assert (found["status"], found["kind"], found["values"]) == (
        "open",
        "missing_in_dynamodb",
        {"postgres": {"id": "a", "name": "old"}},
    )


def test_filters_by_entity_kind_key_and_status(pg_conn: Connection) -> None:
    store = Store("parity")
    store.migrate(pg_conn)
    store.record_discrepancies(
        pg_conn,
        [
            Discrepancy("session", {"id": "a"}, Verdict.MISMATCHED, ("name",), {}),
            Discrepancy("session", {"id": "b"}, Verdict.MISSING_IN_POSTGRES, (), {}),
            Discrepancy("campaign", {"id": "a"}, Verdict.MISSING_IN_DYNAMODB, (), {}),
        ],
        "reconcile",
        NOW,
    )
    workflow.accept(pg_conn, store, "session", {"id": "b"}, "ok", "ana", NOW)

    def keys(status: str = "all", **filters: object) -> list[tuple[str, str]]:
        return [(d["entity"], d["key"]["id"]) for d in store.list_discrepancies(pg_conn, status, **filters)]  # type: ignore[arg-type]

    assert sorted(keys()) == [("campaign", "a"), ("session", "a"), ("session", "b")]
    assert sorted(keys("open")) == [("campaign", "a"), ("session", "a")]
    assert keys("accepted") == [("session", "b")]
    assert sorted(keys(entity="session")) == [("session", "a"), ("session", "b")]
    assert keys(kind="missing_in_dynamodb") == [("campaign", "a")]
    assert keys(entity="session", key={"id": "a"}) == [("session", "a")]
    assert workflow.unresolved_keys(pg_conn, store) == [
        ("campaign", {"id": "a"}),
        ("session", {"id": "a"}),
        ("session", {"id": "b"}),
    ]
