"""The reconciler's own tables in the store (migration 010): segments, scanned keys, findings, re-checks.

The run rows (``reconcile_runs``) and the discrepancies are the core's: these functions reach them
through :class:`~parity.store.Store`'s methods. Functions run SQL on a caller's connection;
:func:`save_page` and :func:`save_decisions` commit, so that what a page changed (its keys,
findings, pending re-checks, the segment's LastEvaluatedKey and counters) is durable together or
not at all: a resumed run never counts a page twice.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import sql
from psycopg.types.json import Jsonb

from parity.compare import Discrepancy
from parity.errors import InputError
from parity.jsontext import dumps_exact
from parity.mapping import json_key_id
from parity.pg import Connection, postgres_errors
from parity.reconciler.page import DEAD_LETTER_SOURCE, DeadItem, Pending
from parity.reconciler.tally import Tally
from parity.store import Store, matched_param, stored_json

FINAL_SEGMENT = -1  # the segment row that holds the anti-join phase's counters


@dataclass(frozen=True)
class SegmentState:
    segment: int
    status: str
    last_evaluated_key: dict[str, Any] | None
    tally: Tally


def encode_typed(key: dict[str, Any] | None) -> Any:
    """Typed DynamoDB JSON from boto3 (B as bytes) -> JSON-safe (B as base64 text)."""
    if key is None:
        return None
    return {
        name: ({"B": base64.b64encode(v["B"]).decode()} if "B" in v and isinstance(v["B"], bytes) else v)
        for name, v in key.items()
    }


def decode_typed(key: dict[str, Any] | None) -> dict[str, Any] | None:
    if key is None:
        return None
    return {name: ({"B": base64.b64decode(v["B"])} if "B" in v else v) for name, v in key.items()}


def create_run(conn: Connection, store: Store, run_id: str, total_segments: int, options: dict[str, Any]) -> bool:
    """Create the run and its segment rows unless they exist; True when it was new. Commits."""
    created, stored_total = store.create_run(conn, run_id, total_segments, options)
    if stored_total != total_segments:
        conn.rollback()
        raise InputError(
            f"run '{run_id}' has {stored_total} segments, not {total_segments}",
            hint=f"pass --total-segments {stored_total}",
        )
    with postgres_errors("creating a reconcile run"):
        with conn.cursor() as cur:
            cur.executemany(
                sql.SQL("INSERT INTO {} (run_id, segment) VALUES (%s, %s) ON CONFLICT DO NOTHING").format(
                    store.table("reconcile_segments")
                ),
                [(run_id, s) for s in [FINAL_SEGMENT, *range(total_segments)]],
            )
        conn.commit()
    return created


def run_info(conn: Connection, store: Store, run_id: str, *, commit: bool = True) -> dict[str, Any] | None:
    """The run's row. ``commit=False`` keeps the caller's transaction (and the run's lock) open;
    otherwise the read ends its transaction, so that a long-lived connection holds no snapshot."""
    row = store.run(conn, run_id)
    with postgres_errors("reading a reconcile run"):
        _end_read(conn, commit)
    return row


def _end_read(conn: Connection, commit: bool) -> None:
    if commit and not conn.autocommit:
        conn.commit()


def latest_unfinished(conn: Connection, store: Store) -> str | None:
    """The newest run that did not finish (interrupted, failed or still marked running)."""
    run_id = store.latest_unfinished_run(conn)
    with postgres_errors("finding a run to resume"):
        conn.commit()
    return run_id


def set_run_status(conn: Connection, store: Store, run_id: str, status: str) -> None:
    store.set_run_status(conn, run_id, status)
    with postgres_errors("updating a reconcile run"):
        conn.commit()


def segments(conn: Connection, store: Store, run_id: str, *, commit: bool = True) -> list[SegmentState]:
    with postgres_errors("reading reconcile segments"):
        rows = conn.execute(
            sql.SQL(
                "SELECT segment, status, last_evaluated_key, counters FROM {} WHERE run_id = %s ORDER BY segment"
            ).format(store.table("reconcile_segments")),
            (run_id,),
        ).fetchall()
        _end_read(conn, commit)
    return [
        SegmentState(
            int(r["segment"]), r["status"], decode_typed(r["last_evaluated_key"]), Tally.from_json(r["counters"])
        )
        for r in rows
    ]


def set_segment_status(conn: Connection, store: Store, run_id: str, segment: int, status: str) -> None:
    with postgres_errors("updating a reconcile segment"):
        conn.execute(
            sql.SQL("UPDATE {} SET status = %s, updated_at = now() WHERE run_id = %s AND segment = %s").format(
                store.table("reconcile_segments")
            ),
            (status, run_id, segment),
        )
        conn.commit()


Statement = tuple[sql.Composed, dict[str, Any]]


def save_page(conn: Connection, statement: Statement) -> None:
    """Run a page's :func:`page_statement` and commit (on an autocommit connection it is its own
    transaction already)."""
    with postgres_errors("saving a scanned page"):
        conn.execute(*statement)
        conn.commit()


def page_statement(
    store: Store,
    run_id: str,
    segment: int,
    *,
    keys: dict[str, list[dict[str, Any]]],
    matched: dict[str, list[dict[str, Any]]],
    pending: Sequence[Pending],
    dead: Sequence[DeadItem] = (),
    last_evaluated_key: dict[str, Any] | None,
    tally: Tally,
    seen_at: datetime,
) -> Statement:
    """One page as ONE statement (data-modifying CTEs, atomic by itself): scanned keys, resolved
    discrepancies, pending re-checks, dead letters (items whose key cannot be decoded) and the
    segment's checkpoint, durable together or not at all.

    The segment workers send it in the same pipeline as the next page's row reads (one round trip
    per page). Key lists and pending rows travel as one JSON text parameter each (expanded on the
    server): dumping 1,000-element arrays element by element cost more than the comparison.
    """
    pending_rows = [
        {
            "entity": p.entity,
            "key_id": p.key_id,
            "key": p.key,
            "kind": p.kind,
            "columns": list(p.columns),
            "table_key": encode_typed(p.table_key),
            "item_version": p.item_version,
            "row_version": p.row_version,
            "due_at": p.due_at.isoformat(),
        }
        for p in pending
    ]
    statement = sql.SQL(
        "WITH scanned AS (INSERT INTO {keys} (run_id, entity, key)"
        "  SELECT %(run_id)s, e.entity, k FROM jsonb_each(%(keys)s::jsonb) AS e(entity, list),"
        "  jsonb_array_elements(e.list) AS k ON CONFLICT DO NOTHING),"
        " resolved AS ({resolve}),"
        " pending AS (INSERT INTO {pending} (run_id, segment, entity, key_id, key, kind, columns, table_key,"
        "  item_version, row_version, due_at)"
        "  SELECT %(run_id)s, %(segment)s, p.entity, p.key_id, p.key, p.kind, p.columns, p.table_key,"
        "  p.item_version, p.row_version, p.due_at FROM jsonb_to_recordset(%(pending)s::jsonb) AS p(entity text,"
        "  key_id text, key jsonb, kind text, columns text[], table_key jsonb, item_version text, row_version text,"
        "  due_at timestamptz) ON CONFLICT DO NOTHING),"
        " dead AS ({dead_letters})"
        " UPDATE {segments} SET counters = %(counters)s, last_evaluated_key = %(lek)s, pages = %(pages)s,"
        " status = 'running', updated_at = now() WHERE run_id = %(run_id)s AND segment = %(segment)s"
    ).format(
        keys=store.table("reconcile_keys"),
        resolve=store.resolve_sql(),
        pending=store.table("reconcile_pending"),
        segments=store.table("reconcile_segments"),
        dead_letters=store.dead_letters_sql(),
    )
    params = {
        "run_id": run_id,
        "segment": segment,
        "keys": dumps_exact({e: k for e, k in keys.items() if k}),
        "matched": matched_param({e: [json_key_id(k) for k in ks] for e, ks in matched.items()}),
        "pending": dumps_exact(pending_rows),
        "dead": dumps_exact([{"record_id": d.record_id, "reason": d.reason, "raw": d.raw} for d in dead]),
        "dead_source": DEAD_LETTER_SOURCE,
        "seen_at": seen_at,
        "resolved_by": "reconcile",
        "counters": Jsonb(tally.to_json()),
        "lek": Jsonb(encode_typed(last_evaluated_key)),
        "pages": tally.pages,
    }
    return statement, params


def insert_keys(conn: Connection, store: Store, run_id: str, entity: str, keys: Sequence[dict[str, Any]]) -> None:
    """Add scanned keys (the JSON output's key objects) to the run's key set (the anti-join's input)."""
    conn.execute(
        sql.SQL(
            "INSERT INTO {} (run_id, entity, key) SELECT %s, %s, k FROM jsonb_array_elements(%s::jsonb) AS k"
            " ON CONFLICT DO NOTHING"
        ).format(store.table("reconcile_keys")),
        (run_id, entity, dumps_exact(keys)),
    )


def mark_orphaned(conn: Connection, store: Store) -> list[str]:
    """Runs left ``running`` by a process that is gone (SIGKILL, OOM), in any phase (before its
    first page, scanning, or in the final phase after every segment was done): mark the run and its
    segments still ``running`` ``interrupted`` (``--resume`` picks them up). Commits."""
    with postgres_errors("finding reconcile runs without owner"):
        marked = store.mark_orphaned_runs(conn)
        if marked:
            conn.execute(
                sql.SQL(
                    "UPDATE {} SET status = 'interrupted', updated_at = now()"
                    " WHERE run_id = ANY(%s) AND status = 'running'"
                ).format(store.table("reconcile_segments")),
                (marked,),
            )
        conn.commit()
    return marked


def scanned_entities(conn: Connection, store: Store, run_id: str) -> list[str]:
    """The entities of which the run scanned at least one key (inside the caller's transaction)."""
    with postgres_errors("reading a run's scanned keys"):
        rows = conn.execute(
            sql.SQL("SELECT DISTINCT entity FROM {} WHERE run_id = %s").format(store.table("reconcile_keys")),
            (run_id,),
        ).fetchall()
    return [str(r["entity"]) for r in rows]


def _save_segment(
    conn: Connection,
    store: Store,
    run_id: str,
    segment: int,
    tally: Tally,
    last_evaluated_key: dict[str, Any] | None,
    status: str,
) -> None:
    conn.execute(
        sql.SQL(
            "UPDATE {} SET counters = %s, last_evaluated_key = %s, pages = %s, status = %s, updated_at = now()"
            " WHERE run_id = %s AND segment = %s"
        ).format(store.table("reconcile_segments")),
        (Jsonb(tally.to_json()), Jsonb(encode_typed(last_evaluated_key)), tally.pages, status, run_id, segment),
    )


def load_pending(conn: Connection, store: Store, run_id: str, segment: int) -> list[Pending]:
    with postgres_errors("reading pending re-checks"):
        rows = conn.execute(
            sql.SQL("SELECT * FROM {} WHERE run_id = %s AND segment = %s ORDER BY due_at, key_id").format(
                store.table("reconcile_pending")
            ),
            (run_id, segment),
        ).fetchall()
        conn.commit()
    return [
        Pending(
            r["entity"],
            stored_json(r["key"]),
            r["key_id"],
            r["kind"],
            tuple(r["columns"]),
            decode_typed(r["table_key"]) or {},
            r["item_version"],
            r["row_version"],
            r["due_at"],
        )
        for r in rows
    ]


def save_decisions(
    conn: Connection,
    store: Store,
    run_id: str,
    segment: int,
    *,
    decided: Sequence[Pending],
    found: Sequence[Discrepancy],
    cleared: dict[str, list[dict[str, Any]]],
    keys: dict[str, list[dict[str, Any]]] | None = None,
    tally: Tally,
    last_evaluated_key: dict[str, Any] | None,
    status: str,
    seen_at: datetime,
) -> None:
    """Re-check outcomes in one transaction: drop the pending rows, record findings, update counters.

    The statements go out in one pipeline; on an autocommit connection (the segment workers') they
    are wrapped in BEGIN/COMMIT, on a connection already in a transaction (the final phase, which
    holds the run's lock) they join it, and the caller commits (with the run finished).
    """
    own = conn.transaction() if conn.autocommit else nullcontext()
    with postgres_errors("saving re-check outcomes"), conn.pipeline(), own:
        if decided:
            conn.execute(
                sql.SQL("DELETE FROM {} WHERE run_id = %s AND segment = %s AND key_id = ANY(%s)").format(
                    store.table("reconcile_pending")
                ),
                (run_id, segment, [p.key_id for p in decided]),
            )
        for entity, entity_keys in (keys or {}).items():
            if entity_keys:
                insert_keys(conn, store, run_id, entity, entity_keys)
        if found:
            with conn.cursor() as cur:
                cur.executemany(
                    sql.SQL(
                        "INSERT INTO {} (run_id, entity, key_id, key, kind, columns) VALUES (%s, %s, %s, %s, %s, %s)"
                        " ON CONFLICT (run_id, entity, key_id) DO UPDATE SET kind = EXCLUDED.kind,"
                        " columns = EXCLUDED.columns"
                    ).format(store.table("reconcile_findings")),
                    [(run_id, d.entity, json_key_id(d.key), Jsonb(d.key), str(d.kind), list(d.columns)) for d in found],
                )
            store.record_discrepancies(conn, found, "reconcile", seen_at)
        store.resolve_ids(conn, {e: [json_key_id(k) for k in ks] for e, ks in cleared.items()}, "reconcile", seen_at)
        _save_segment(conn, store, run_id, segment, tally, last_evaluated_key, status)


def lock_run(conn: Connection, store: Store, run_id: str) -> dict[str, Any] | None:
    """Lock the run row for the final phase (slices finishing together run it once)."""
    return store.run(conn, run_id, lock=True)


def finish_run(conn: Connection, store: Store, run_id: str, report: dict[str, Any], finished_at: datetime) -> None:
    """Mark the run finished with its report and drop its scanned keys (caller commits)."""
    store.finish_run(conn, run_id, report, finished_at)
    with postgres_errors("finishing a reconcile run"):
        conn.execute(sql.SQL("DELETE FROM {} WHERE run_id = %s").format(store.table("reconcile_keys")), (run_id,))


def findings(
    conn: Connection, store: Store, run_id: str, limit: int, *, commit: bool = True
) -> tuple[list[dict[str, Any]], bool]:
    """Up to ``limit`` findings of a run (entity, key order) and whether more exist."""
    with postgres_errors("listing reconcile findings"):
        rows = conn.execute(
            sql.SQL(
                "SELECT entity, key, kind, columns FROM {} WHERE run_id = %s ORDER BY entity, kind, key_id LIMIT %s"
            ).format(store.table("reconcile_findings")),
            (run_id, limit + 1),
        ).fetchall()
        _end_read(conn, commit)
    listed = [
        {"entity": r["entity"], "key": r["key"], "kind": r["kind"], "columns": list(r["columns"])} for r in rows[:limit]
    ]
    return listed, len(rows) > limit
