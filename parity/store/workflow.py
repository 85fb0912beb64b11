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
    """Everything ``parity gate`` needs from the store, read in one round trip of small queries."""

    latest_run: dict[str, Any] | None  # run_id, finished_at, report of the latest finished reconcile
    counts: dict[str, int]  # discrepancies by status
    dead_letters: int
    gaps: int
    checkpoints: list[dict[str, Any]]  # stream_id, shard_id, sequence_number, shard_closed, updated_at
    overdue_pending: int  # stream re-checks past their due time by more than the allowance
    now: datetime


def gate_readings(conn: Connection, store: Store, overdue_after_seconds: float) -> GateReadings:
    """Read the store's state for the gate: a handful of indexed or tiny queries, no table scans of
    the application's data."""
    t = store.table
    with postgres_errors("reading the store for the gate"):
        now = conn.execute("SELECT now() AS now").fetchone()
        run = conn.execute(
            sql.SQL(
                "SELECT run_id, finished_at, report FROM {} WHERE status = 'finished' ORDER BY finished_at DESC LIMIT 1"
            ).format(t("reconcile_runs"))
        ).fetchone()
        counts = {
            r["status"]: int(r["n"])
            for r in conn.execute(
                sql.SQL("SELECT status, count(*) AS n FROM {} GROUP BY status").format(t("discrepancies"))
            )
        }
        dead = conn.execute(sql.SQL("SELECT count(*) AS n FROM {}").format(t("dead_letters"))).fetchone()
        gaps = conn.execute(sql.SQL("SELECT count(*) AS n FROM {}").format(t("stream_gaps"))).fetchone()
        checkpoints = [
            dict(r)
            for r in conn.execute(
                sql.SQL(
                    "SELECT stream_id, shard_id, parent_shard_id, sequence_number, shard_closed, updated_at FROM {}"
                    " ORDER BY stream_id, shard_id"
                ).format(t("stream_checkpoints"))
            )
        ]
        overdue = conn.execute(
            sql.SQL("SELECT count(*) AS n FROM {} WHERE due_at < now() - make_interval(secs => %s)").format(
                t("consumer_pending")
            ),
            (overdue_after_seconds,),
        ).fetchone()
    assert now is not None and dead is not None and gaps is not None and overdue is not None
    return GateReadings(
        latest_run=None if run is None else dict(run),
        counts=counts,
        dead_letters=int(dead["n"]),
        gaps=int(gaps["n"]),
        checkpoints=checkpoints,
        overdue_pending=int(overdue["n"]),
        now=now["now"],
    )


def status_history(conn: Connection, store: Store) -> list[dict[str, Any]]:
    """Every status change of every discrepancy, in the order they happened (the report's open/accepted/resolved
    over time): entity, key_id, kind, status, at, by, note."""
    query = sql.SQL("SELECT entity, key_id, kind, status, at, by, note FROM {} ORDER BY id").format(
        store.table("discrepancy_events")
    )
    with postgres_errors("reading discrepancy history"):
        return [dict(r) for r in conn.execute(query)]
