"""The ``discrepancies`` table: what the checkers found, one row per entity and key.

Every checker (stream, reconcile, replay) records and resolves through these methods, so a row's
life (open, resolved by a later match, re-opened by a later mismatch or an undone replay) is
written once. Key ids are :func:`parity.mapping.json_key_id` of the JSON output's key object (docs/reference.md §5).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from psycopg import sql
from psycopg.types.json import Jsonb

from parity.compare import Discrepancy
from parity.jsontext import dumps_exact, json_safe, without_nul
from parity.mapping import json_key_id
from parity.pg import Connection, postgres_errors
from parity.store.schema import StoreSchema
from parity.telemetry import get_logger

_log = get_logger("store")

_ORDERS = {"entity": "entity, kind, key_id", "key": "entity, key_id", "first_seen": "first_seen, entity, key_id"}


class DiscrepancyTable(StoreSchema):
    """Record, resolve, re-open and read discrepancies."""

    def record_discrepancies(
        self, conn: Connection, found: Iterable[Discrepancy], detected_by: str, seen_at: datetime
    ) -> int:
        """Upsert discrepancies (one row per entity and key); returns how many were written.

        ``detected_by`` and ``first_seen`` name who found the discrepancy first and when: a later
        sighting by any checker keeps them (the reconciler re-finding what the stream checker found
        is still the stream checker's find); only a discrepancy that was resolved and is found again
        starts over with this checker. The values each store held are refreshed from this check
        (kept when it brought none). An accepted discrepancy stays accepted while its kind and
        values are those that were accepted; when they change, the checker that saw it reopens it
        (the status history names that checker: ``parity.actor``, read by the store's trigger).
        """
        found = list(found)
        rows = [
            (
                d.entity,
                json_key_id(d.key),
                Jsonb(json_safe(d.key)),
                str(d.kind),
                list(d.columns),
                detected_by,
                seen_at,
                seen_at,
                None if d.values is None else Jsonb(without_nul(d.values), dumps=dumps_exact),
            )
            for d in found
        ]
        if not rows:
            return 0
        query = sql.SQL(
            "INSERT INTO {} AS d (entity, key_id, key, kind, columns, detected_by, first_seen, last_seen, observed,"
            " status) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, 'open')"
            " ON CONFLICT (entity, key_id) DO UPDATE SET"
            "  kind = EXCLUDED.kind, columns = EXCLUDED.columns,"
            "  detected_by = CASE WHEN d.status = 'resolved' THEN EXCLUDED.detected_by ELSE d.detected_by END,"
            "  last_seen = GREATEST(d.last_seen, EXCLUDED.last_seen),"
            "  first_seen = CASE WHEN d.status = 'resolved' THEN EXCLUDED.first_seen ELSE d.first_seen END,"
            "  observed = COALESCE(EXCLUDED.observed, d.observed),"
            "  status = CASE WHEN d.status = 'accepted' AND d.kind = EXCLUDED.kind"
            "   AND (EXCLUDED.observed IS NULL OR EXCLUDED.observed = d.observed) THEN 'accepted' ELSE 'open' END,"
            "  resolved_at = NULL, resolved_by = NULL"
        ).format(self.table("discrepancies"))
        # session-wide, not transaction-local: callers record in autocommit mode too. Cleared after;
        # left set only by a failed upsert, where the next recording or a reopen by hand sets its own.
        actor = "SELECT set_config('parity.actor', %s, false)"
        with postgres_errors("recording discrepancies"), conn.cursor() as cur:
            cur.execute(actor, (detected_by,))
            cur.executemany(query, rows)
            cur.execute(actor, ("",))
        for d in found:
            _log.debug("discrepancy", detected_by=detected_by, values=d.values, **d.to_json())
        return len(rows)

    def resolve_sql(self) -> sql.Composed:
        """THE statement that resolves open (or accepted) discrepancies of keys that now match.

        Named parameters: ``matched`` (:func:`matched_param`: JSON text ``{entity: [key_id, ...]}``,
        one parameter however many keys: a page resolves ~1,000 keys, nearly all without an open
        discrepancy), ``resolved_by`` and ``seen_at``. A caller that must commit it atomically with
        other writes in one statement embeds it as a data-modifying CTE (the reconciler's page).
        """
        return sql.SQL(
            "UPDATE {} AS d SET status = 'resolved', resolved_at = %(seen_at)s, resolved_by = %(resolved_by)s,"
            " last_seen = GREATEST(d.last_seen, %(seen_at)s)"
            " FROM (SELECT e.entity, jsonb_array_elements_text(e.list) AS key_id"
            "  FROM jsonb_each(%(matched)s::jsonb) AS e(entity, list)) AS m"
            " WHERE d.entity = m.entity AND d.key_id = m.key_id AND d.status <> 'resolved'"
        ).format(self.table("discrepancies"))

    def resolve_ids(
        self, conn: Connection, matched: Mapping[str, Sequence[str]], resolved_by: str, seen_at: datetime
    ) -> int:
        """Resolve by key ids (entity -> ids); the row count (-1 inside a pipeline, not known yet)."""
        params = {"matched": matched_param(matched), "resolved_by": resolved_by, "seen_at": seen_at}
        if params["matched"] == "{}":
            return 0
        with postgres_errors("resolving discrepancies"), conn.cursor() as cur:
            cur.execute(self.resolve_sql(), params)
            return cur.rowcount

    def resolve(
        self, conn: Connection, entity: str, keys: Sequence[dict[str, Any]], resolved_by: str, seen_at: datetime
    ) -> int:
        """Mark open discrepancies of these keys (key objects of the JSON output) resolved: a later check matched."""
        return self.resolve_ids(conn, {entity: [json_key_id(k) for k in keys]}, resolved_by, seen_at)

    def reopen(self, conn: Connection, key_ids: Mapping[str, Sequence[str]], resolved_by: str) -> int:
        """Open again what ``resolved_by`` had resolved (an undone replay put the old rows back)."""
        query = sql.SQL(
            "UPDATE {} SET status = 'open', resolved_at = NULL, resolved_by = NULL"
            " WHERE entity = %s AND key_id = ANY(%s) AND status = 'resolved' AND resolved_by = %s"
        ).format(self.table("discrepancies"))
        count = 0
        with postgres_errors("re-opening discrepancies"):
            for entity, ids in key_ids.items():
                if ids:
                    count += conn.execute(query, (entity, list(ids), resolved_by)).rowcount
        return count

    def list_discrepancies(
        self,
        conn: Connection,
        status: str = "open",
        *,
        entity: str | None = None,
        kind: str | None = None,
        key: dict[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """Discrepancies as ``parity discrepancies --json`` shows them (reference.md §5), oldest first, filtered."""
        conditions: list[sql.Composable] = []
        params: dict[str, Any] = {"status": status, "entity": entity, "kind": kind}
        if status != "all":
            conditions.append(sql.SQL("status = %(status)s"))
        if entity is not None:
            conditions.append(sql.SQL("entity = %(entity)s"))
        if kind is not None:
            conditions.append(sql.SQL("kind = %(kind)s"))
        if key is not None:
            conditions.append(sql.SQL("key_id = %(key_id)s"))
            params["key_id"] = json_key_id(key)
        where = sql.SQL(" WHERE ") + sql.SQL(" AND ").join(conditions) if conditions else sql.SQL("")
        query = sql.SQL(
            "SELECT entity, key, kind, columns, detected_by, first_seen, last_seen, status, observed, note,"
            " accepted_at, accepted_by, resolved_at FROM {}{} ORDER BY first_seen, entity, key_id"
        ).format(self.table("discrepancies"), where)
        with postgres_errors("listing discrepancies"):
            rows = conn.execute(query, params).fetchall()
        return [discrepancy_json(r) for r in rows]

    def discrepancy_rows(
        self,
        conn: Connection,
        status: str = "open",
        *,
        kinds: Sequence[str] = (),
        order: str = "entity",
    ) -> list[dict[str, Any]]:
        """Rows as stored (datetimes, not text): ``status`` 'open', 'accepted', 'resolved', 'unresolved'
        (open or accepted) or 'all'; ``kinds`` to
        keep only those; ``order`` 'entity' (entity, kind, key), 'key' (entity, key) or 'first_seen' (oldest first)."""
        where: list[sql.Composable] = []
        if status == "unresolved":
            where.append(sql.SQL("status <> 'resolved'"))
        elif status != "all":
            where.append(sql.SQL("status = %(status)s"))
        if kinds:
            where.append(sql.SQL("kind = ANY(%(kinds)s)"))
        ordering = _ORDERS[order]
        query = sql.SQL(
            "SELECT entity, key_id, key, kind, columns, detected_by, first_seen, last_seen, status, resolved_by,"
            " observed, note, accepted_by FROM {}{} ORDER BY {}"
        ).format(
            self.table("discrepancies"),
            sql.SQL(" WHERE {}").format(sql.SQL(" AND ").join(where)) if where else sql.SQL(""),
            sql.SQL(ordering),
        )
        with postgres_errors("reading discrepancies"):
            return [dict(r) for r in conn.execute(query, {"status": status, "kinds": list(kinds)})]

    def touched_by(self, conn: Connection, checker: str) -> list[dict[str, Any]]:
        """Discrepancies ``checker`` found or resolved, in the order they were last seen."""
        query = sql.SQL(
            "SELECT entity, key_id, key, kind, columns, status FROM {} WHERE detected_by = %(c)s"
            " OR resolved_by = %(c)s ORDER BY last_seen, key_id"
        ).format(self.table("discrepancies"))
        with postgres_errors("reading discrepancies"):
            return [dict(r) for r in conn.execute(query, {"c": checker})]

    def count_discrepancies(self, conn: Connection, status: str = "open") -> int:
        query = sql.SQL("SELECT count(*) AS n FROM {} WHERE status = %s").format(self.table("discrepancies"))
        with postgres_errors(f"counting {status} discrepancies"):
            row = conn.execute(query, (status,)).fetchone()
        return int(row["n"]) if row else 0


def matched_param(matched: Mapping[str, Sequence[str]]) -> str:
    """The ``matched`` parameter of :meth:`DiscrepancyTable.resolve_sql` (entities without ids dropped)."""
    return dumps_exact({entity: list(ids) for entity, ids in matched.items() if ids})


def discrepancy_json(r: Mapping[str, Any]) -> dict[str, Any]:
    """One store row of ``discrepancies`` in ``parity discrepancies --json``'s shape (docs/reference.md §5)."""
    return {
        "entity": r["entity"],
        "key": stored_json(r["key"]),
        "kind": r["kind"],
        "columns": list(r["columns"]),
        "detected_by": r["detected_by"],
        "first_seen": r["first_seen"].isoformat(),
        "last_seen": r["last_seen"].isoformat(),
        "status": r["status"],
        "values": stored_json(r["observed"]) if r["observed"] is not None else {},
        "note": r["note"],
        "accepted_by": r["accepted_by"],
        "accepted_at": None if r["accepted_at"] is None else r["accepted_at"].isoformat(),
        "resolved_at": None if r["resolved_at"] is None else r["resolved_at"].isoformat(),
    }


def stored_json(value: Any) -> Any:
    """JSON read back from jsonb as it was written: the store's connections decode numbers as
    Decimal, and integral ones go back to int (keys and values must print as they went in)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else value
    if isinstance(value, dict):
        return {k: stored_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [stored_json(v) for v in value]
    return value
