"""The store's side of the discrepancy workflow: triage (accept, reopen) and what the gate reads.

Functions take a :class:`~parity.store.Store` and an open connection and leave the transaction to
the caller, like the rest of the store. Triage of several keys is all or nothing: the caller
commits only when every key was found.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from psycopg import sql

from parity.mapping import json_key_id
from parity.pg import Connection, postgres_errors

if TYPE_CHECKING:
    from parity.store import Store


def accept(
    conn: Connection, store: Store, entity: str, key: Mapping[str, Any], note: str, by: str, at: datetime
) -> str | None:
    """Mark an open (or already accepted: the note is replaced) discrepancy accepted; returns the
    status it had (None when the key has no discrepancy; nothing is changed unless open or accepted)."""
    kid = json_key_id(key)
    table = store.table("discrepancies")
    with postgres_errors("accepting a discrepancy"):
        row = conn.execute(
            sql.SQL("SELECT status FROM {} WHERE entity = %s AND key_id = %s FOR UPDATE").format(table), (entity, kid)
        ).fetchone()
        if row is None or row["status"] not in ("open", "accepted"):
            return None if row is None else str(row["status"])
        conn.execute(
            sql.SQL(
                "UPDATE {} SET status = 'accepted', note = %s, accepted_by = %s, accepted_at = %s"
                " WHERE entity = %s AND key_id = %s"
            ).format(table),
            (note, by, at, entity, kid),
        )
    return str(row["status"])


def reopen(conn: Connection, store: Store, entity: str, key: Mapping[str, Any], by: str) -> bool:
    """Undo an accept: the discrepancy is open again (its note is kept). False when it was not accepted."""
    with postgres_errors("reopening a discrepancy"):
        conn.execute("SELECT set_config('parity.actor', %s, true)", (by,))  # the history names who reopened
    query = sql.SQL(
        "UPDATE {} SET status = 'open', accepted_at = NULL, accepted_by = NULL"
        " WHERE entity = %s AND key_id = %s AND status = 'accepted'"
    ).format(store.table("discrepancies"))
    with postgres_errors("reopening a discrepancy"):
        return conn.execute(query, (entity, json_key_id(key))).rowcount > 0


def status_of(conn: Connection, store: Store, entity: str, key: Mapping[str, Any]) -> str | None:
    """The status of one key's discrepancy, or None when it has none."""
    query = sql.SQL("SELECT status FROM {} WHERE entity = %s AND key_id = %s").format(store.table("discrepancies"))
    with postgres_errors("reading a discrepancy"):
        row = conn.execute(query, (entity, json_key_id(key))).fetchone()
    return None if row is None else str(row["status"])


def unresolved_keys(conn: Connection, store: Store) -> list[tuple[str, dict[str, Any]]]:
    """(entity, key) of every open and accepted discrepancy: what ``reconcile --open`` re-checks."""
    query = sql.SQL("SELECT entity, key FROM {} WHERE status <> 'resolved' ORDER BY entity, key_id").format(
        store.table("discrepancies")
    )
    from parity.store import stored_json

    with postgres_errors("listing open discrepancies"):
        return [(r["entity"], stored_json(r["key"])) for r in conn.execute(query)]


# --- what the gate reads ---------------------------------------------------------------------


@dataclass(frozen=True)
class GateReadings:
    """Everything ``parity gate`` needs from the store: a handful of small, indexed queries."""

    now: datetime
    latest_run: dict[str, Any] | None  # run_id, finished_at, compared, matched, findings, findings_still_open
    counts: dict[str, int]  # open and accepted discrepancies by status
    dead_letters: int
    gaps: int
    overdue_rechecks: int  # stream re-checks due more than the allowance ago


def gate_readings(conn: Connection, store: Store, overdue_after_seconds: float) -> GateReadings:
    """Read the store's state for the gate (never the application's tables)."""
    t = store.table
    with postgres_errors("reading the store for the gate"):
        now = _one(conn, sql.SQL("SELECT now() AS v"))
        run = conn.execute(
            sql.SQL(
                "SELECT run_id, finished_at, report FROM {} WHERE status = 'finished' ORDER BY finished_at DESC LIMIT 1"
            ).format(t("reconcile_runs"))
        ).fetchone()
        latest: dict[str, Any] | None = None
        if run is not None:
            found = conn.execute(
                sql.SQL(
                    "SELECT count(*) AS found, count(*) FILTER (WHERE d.status IS DISTINCT FROM 'accepted'"
                    " AND d.status IS DISTINCT FROM 'resolved') AS still_open"
                    " FROM {} AS f LEFT JOIN {} AS d ON d.entity = f.entity AND d.key_id = f.key_id"
                    " WHERE f.run_id = %s"
                ).format(t("reconcile_findings"), t("discrepancies")),
                (run["run_id"],),
            ).fetchone()
            report = run["report"] if isinstance(run["report"], dict) else {}
            latest = {
                "run_id": run["run_id"],
                "finished_at": run["finished_at"],
                "compared": int(report.get("compared") or 0),
                "matched": int(report.get("matched") or 0),
                "findings": int(found["found"]) if found else 0,
                "findings_still_open": int(found["still_open"]) if found else 0,
            }
        counts = {
            r["status"]: int(r["n"])
            for r in conn.execute(
                # open and accepted only: the index on status finds them without reading the resolved
                # history, which grows for the whole migration
                sql.SQL(
                    "SELECT status, count(*) AS n FROM {} WHERE status IN ('open', 'accepted') GROUP BY status"
                ).format(t("discrepancies"))
            )
        }
        dead = _one(conn, sql.SQL("SELECT count(*) AS v FROM {}").format(t("dead_letters")))
        gaps = _one(conn, sql.SQL("SELECT count(*) AS v FROM {}").format(t("stream_gaps")))
        overdue = _one(
            conn,
            sql.SQL("SELECT count(*) AS v FROM {} WHERE due_at < now() - make_interval(secs => %s)").format(
                t("consumer_pending")
            ),
            (overdue_after_seconds,),
        )
    return GateReadings(now, latest, counts, int(dead), int(gaps), int(overdue))


def _one(conn: Connection, query: sql.Composed | sql.SQL, params: tuple[Any, ...] = ()) -> Any:
    row = conn.execute(query, params).fetchone()
    return None if row is None else row["v"]


def status_history(conn: Connection, store: Store) -> list[dict[str, Any]]:
    """Every status change of every discrepancy, in the order they happened (the report's open/accepted/resolved
    over time): entity, key_id, kind, status, at, by, note."""
    query = sql.SQL("SELECT entity, key_id, kind, status, at, by, note FROM {} ORDER BY id").format(
        store.table("discrepancy_events")
    )
    with postgres_errors("reading discrepancy history"):
        return [dict(r) for r in conn.execute(query)]
