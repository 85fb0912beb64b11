"""``reconcile_runs``: one row per reconcile run, its status and, once finished, its report.

The core owns it (the report and ``parity status`` read it); the reconciler's working tables
(segments, scanned keys, findings, re-checks) are the reconciler's own (reconciler/runs_store.py).

A process working on a run holds a shared advisory lock named after the run (:meth:`RunTable.hold_run`)
on its store connection for as long as it lives, taken before the run's row is written. PostgreSQL
drops the lock when the connection ends, however the process ended (SIGKILL, OOM, a lost host), so
"nobody holds the lock" is the proof that a run marked ``running`` has no live owner. The next
``parity reconcile`` marks such runs ``interrupted`` (:meth:`RunTable.mark_orphaned_runs`); until
then every listing shows them so (:meth:`RunTable.runs`), never as running.

Why a lock and not a heartbeat or a pid: the slices of a run are ECS tasks on many hosts, and the
one thing they all reach is this PostgreSQL. A pid means nothing on another host (or in another
task's pid namespace), and a heartbeat needs a timeout: too short and a slow page looks dead, too
long and a dead run looks alive for that long. The lock is exact the moment the server sees the
connection close. A host that vanishes without closing it is seen by TCP keepalives, which
:meth:`RunTable.hold_run` sets on its session to about a minute (the server's default is the
operating system's: two hours on Linux). A connection pooler in transaction mode (PgBouncer) cannot
hold a session's lock: the store needs a direct connection, or session pooling.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg import sql
from psycopg.types.json import Jsonb

from parity.jsontext import dumps_exact
from parity.pg import Connection, postgres_errors
from parity.store.schema import StoreSchema

_RUN_LOCK_CLASS = 0x70617272  # 'parr': the first key of a run's advisory lock (the second: hashtext(run_id))


class RunTable(StoreSchema):
    """Create, look up, lock and finish reconcile runs (the caller owns the transaction)."""

    def create_run(
        self, conn: Connection, run_id: str, total_segments: int, options: dict[str, Any]
    ) -> tuple[bool, int]:
        """Insert the run unless it exists: (whether it was new, the run's stored segment count)."""
        with postgres_errors("creating a reconcile run"):
            cur = conn.execute(
                sql.SQL(
                    "INSERT INTO {} (run_id, status, total_segments, options) VALUES (%s, 'running', %s, %s)"
                    " ON CONFLICT (run_id) DO NOTHING"
                ).format(self.table("reconcile_runs")),
                (run_id, total_segments, Jsonb(options)),
            )
            created = cur.rowcount == 1
            row = conn.execute(
                sql.SQL("SELECT total_segments FROM {} WHERE run_id = %s").format(self.table("reconcile_runs")),
                (run_id,),
            ).fetchone()
        assert row is not None
        return created, int(row["total_segments"])

    def run(self, conn: Connection, run_id: str, *, lock: bool = False) -> dict[str, Any] | None:
        """The run's row; ``lock`` holds it FOR UPDATE until the caller's transaction ends."""
        query = sql.SQL("SELECT * FROM {} WHERE run_id = %s{}").format(
            self.table("reconcile_runs"), sql.SQL(" FOR UPDATE" if lock else "")
        )
        with postgres_errors("locking a reconcile run" if lock else "reading a reconcile run"):
            row = conn.execute(query, (run_id,)).fetchone()
        return None if row is None else dict(row)

    def runs(self, conn: Connection) -> list[dict[str, Any]]:
        """Every run (run_id, status, started_at, finished_at, report), oldest first. A run still
        marked ``running`` whose processes are all gone is listed ``interrupted`` (nothing is written:
        the next ``parity reconcile`` records it)."""
        query = sql.SQL(
            "SELECT run_id, status, started_at, finished_at, report FROM {} ORDER BY started_at, run_id"
        ).format(self.table("reconcile_runs"))
        with postgres_errors("reading reconcile runs"):
            rows = [dict(r) for r in conn.execute(query)]
        for row in rows:
            if row["status"] == "running" and not self.has_owner(conn, str(row["run_id"])):
                row["status"] = "interrupted"
        return rows

    def has_owner(self, conn: Connection, run_id: str) -> bool:
        """Whether a live process holds the run (see the module docstring), asked from a connection
        that does not hold it itself: a probe lock that is released at once."""
        with postgres_errors("probing a reconcile run's owner"):
            row = conn.execute(
                "SELECT pg_try_advisory_lock(%s, hashtext(%s)) AS free", (_RUN_LOCK_CLASS, run_id)
            ).fetchone()
            free = bool(row and row["free"])
            if free:
                conn.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", (_RUN_LOCK_CLASS, run_id))
        return not free

    def latest_unfinished_run(self, conn: Connection) -> str | None:
        """The newest run that did not finish (interrupted, failed or still marked running)."""
        query = sql.SQL(
            "SELECT run_id FROM {} WHERE status <> 'finished' ORDER BY started_at DESC, run_id DESC LIMIT 1"
        ).format(self.table("reconcile_runs"))
        with postgres_errors("finding a run to resume"):
            row = conn.execute(query).fetchone()
        return None if row is None else str(row["run_id"])

    def set_run_status(self, conn: Connection, run_id: str, status: str) -> None:
        """Any status but over a finished run (a finished run stays finished)."""
        query = sql.SQL("UPDATE {} SET status = %s WHERE run_id = %s AND status <> 'finished'").format(
            self.table("reconcile_runs")
        )
        with postgres_errors("updating a reconcile run"):
            conn.execute(query, (status, run_id))

    def finish_run(self, conn: Connection, run_id: str, report: dict[str, Any], finished_at: datetime) -> None:
        query = sql.SQL("UPDATE {} SET status = 'finished', finished_at = %s, report = %s WHERE run_id = %s").format(
            self.table("reconcile_runs")
        )
        with postgres_errors("finishing a reconcile run"):
            conn.execute(query, (finished_at, Jsonb(report, dumps=dumps_exact), run_id))  # keys read back hold Decimals

    def hold_run(self, conn: Connection, run_id: str) -> None:
        """Mark this connection as a live owner of the run until it closes (a shared advisory lock:
        every slice of a run holds one). Take it before the run's row is written, so that no moment
        shows the run running without an owner. TCP keepalives on this session let the server see a
        vanished host within about a minute (no effect over a Unix socket)."""
        with postgres_errors("registering as the run's owner"):
            conn.execute("SET tcp_keepalives_idle = 30")
            conn.execute("SET tcp_keepalives_interval = 10")
            conn.execute("SET tcp_keepalives_count = 3")
            conn.execute("SELECT pg_advisory_lock_shared(%s, hashtext(%s))", (_RUN_LOCK_CLASS, run_id))

    def mark_orphaned_runs(self, conn: Connection) -> list[str]:
        """Mark ``interrupted`` every run still ``running`` that no live process holds (see the
        module docstring), whatever phase it died in; returns them. The probe lock is released with
        the transaction."""
        query = sql.SQL(
            "UPDATE {} SET status = 'interrupted' WHERE status = 'running'"
            " AND pg_try_advisory_xact_lock(%s, hashtext(run_id)) RETURNING run_id"
        ).format(self.table("reconcile_runs"))
        with postgres_errors("marking reconcile runs without owner"):
            return [str(r["run_id"]) for r in conn.execute(query, (_RUN_LOCK_CLASS,))]
