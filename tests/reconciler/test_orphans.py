"""A reconcile run whose processes are gone is never shown as running, whatever phase it died in.

The owner of a run is whoever holds its advisory lock (parity/store/runs.py): these tests hold it
on a connection of their own and end that connection as SIGKILL would end the process.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from parity.pg import Connection, connect
from parity.reconciler import MIGRATIONS, runs_store
from parity.report.data import load
from parity.store import Store, workflow


def _start(dsn: str, store: Store, run_id: str, segments: int) -> Connection:
    """A run as `parity reconcile` starts it: the lock first, then the rows; the owner's connection."""
    owner = connect(dsn)
    store.hold_run(owner, run_id)
    runs_store.create_run(owner, store, run_id, segments, {"segments": segments})
    runs_store.set_run_status(owner, store, run_id, "running")
    return owner


def _kill(owner: Connection, conn: Connection) -> None:
    """End the owner's connection as a killed process does, and wait until its backend has let go of
    its locks (PostgreSQL ends the backend a moment after the connection closes)."""
    pid = owner.info.backend_pid
    owner.close()
    deadline = time.monotonic() + 10
    while conn.execute("SELECT count(*) AS n FROM pg_locks WHERE pid = %s", (pid,)).fetchone() != {"n": 0}:
        assert time.monotonic() < deadline, "the closed connection's backend kept its locks"
        time.sleep(0.05)
    conn.commit()


def _listed(conn: Connection, store: Store) -> dict[str, str]:
    statuses = {r["run_id"]: r["status"] for r in store.runs(conn)}
    conn.commit()
    return statuses


def _stored(conn: Connection, run_id: str) -> str:
    row = conn.execute("SELECT status FROM parity.reconcile_runs WHERE run_id = %s", (run_id,)).fetchone()
    conn.commit()
    assert row is not None
    return str(row["status"])


def test_a_run_killed_in_its_final_phase_is_listed_and_marked_interrupted(pg_dsn: str, pg_conn: Connection) -> None:
    store = Store("parity")
    store.migrate(pg_conn, MIGRATIONS)
    pg_conn.commit()
    owner = _start(pg_dsn, store, "final-phase", 2)
    for segment in (0, 1):  # every segment scanned: the run was in its final phase (the anti-join)
        runs_store.set_segment_status(owner, store, "final-phase", segment, "done")
    live = _start(pg_dsn, store, "alive", 1)
    try:
        assert _listed(pg_conn, store) == {"final-phase": "running", "alive": "running"}
        assert runs_store.mark_orphaned(pg_conn, store) == []  # both have a live owner
        _kill(owner, pg_conn)  # SIGKILL: the process, its connection and its lock are gone
        # every listing shows it interrupted at once (the report too), without writing anything
        assert _listed(pg_conn, store) == {"final-phase": "interrupted", "alive": "running"}
        assert {r.run_id: r.status for r in load(pg_conn, store).runs} == {
            "final-phase": "interrupted",
            "alive": "running",
        }
        pg_conn.commit()
        assert _stored(pg_conn, "final-phase") == "running"
        # the listing's probe left no lock behind: the run can still be resumed and held
        held = pg_conn.execute("SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND granted"
                               " AND pid = pg_backend_pid()").fetchone()  # fmt: skip
        assert held == {"n": 0}
        # the next reconcile records it (its segments were all done: none was left running)
        assert runs_store.mark_orphaned(pg_conn, store) == ["final-phase"]
        assert _stored(pg_conn, "final-phase") == "interrupted"
        assert runs_store.latest_unfinished(pg_conn, store) == "alive"
        # a killed run is never the gate's reconcile: only finished runs count
        readings = workflow.gate_readings(pg_conn, store, 300)
        pg_conn.commit()
        assert readings.latest_run is None
    finally:
        live.close()
        owner.close()


def test_a_run_killed_before_its_first_page_is_marked_interrupted(pg_dsn: str, pg_conn: Connection) -> None:
    store = Store("parity")
    store.migrate(pg_conn, MIGRATIONS)
    pg_conn.commit()
    owner = _start(pg_dsn, store, "early", 4)  # segments 'pending': no worker started yet
    _kill(owner, pg_conn)
    assert _listed(pg_conn, store) == {"early": "interrupted"}
    assert runs_store.mark_orphaned(pg_conn, store) == ["early"]
    # a later owner (the resume) holds it again and it is running, not marked by the next look
    again = _start(pg_dsn, store, "early", 4)
    try:
        assert _listed(pg_conn, store) == {"early": "running"}
        assert runs_store.mark_orphaned(pg_conn, store) == []
        store.finish_run(again, "early", {"parity_percent": 100.0}, datetime.now(UTC))
        again.commit()
        assert _listed(pg_conn, store) == {"early": "finished"}
    finally:
        again.close()
