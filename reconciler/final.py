"""The final phase of a run: rows without items (an anti-join), started as soon as it can be.

The anti-join needs every key the run scanned, not every re-check decided: once every segment of
this invocation has scanned its last page (and the segments of other slices are done), it starts
in a thread on its own connection while the last re-checks wait out their delay. Its outcome is
saved later, under the run's lock, by :meth:`FinalPhase.finish_if_complete` (or thrown away when
another slice finished the run first). Candidates are re-read (a consistent BatchGetItem through
the entity's ``item_key`` templates) and decided: match, in flight (written after the run
started), or ``missing_in_dynamodb``.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from psycopg import sql
from psycopg.types.json import Jsonb

from parity.canonical import Canon, canon_postgres
from parity.compare import Discrepancy, Verdict, compare_canonical, discrepancy_values
from parity.config import EntityConfig
from parity.dynamo_json import Item
from parity.errors import ParityError
from parity.mapping import (
    canonical_item,
    canonical_row,
    json_key_id,
    key_from_json,
    key_to_json,
    match_entity,
    render_item_key,
    row_key,
)
from parity.pg import Connection, connect, fetch_rows, postgres_errors, table_columns, table_identifier
from parity.reconciler import runs_store
from parity.reconciler.anti_join import key_object_sql, unseen_rows_sql
from parity.reconciler.runs_store import FINAL_SEGMENT
from parity.reconciler.tally import Tally
from parity.telemetry import get_logger
from parity.versions import compare_versions, version_of

if TYPE_CHECKING:
    from parity.reconciler.engine import Reconciler

log = get_logger("reconcile")
_ANTI_JOIN_BATCH = 5000

Outcome = tuple[Tally, list[Discrepancy], dict[str, list[dict[str, Any]]]]


def _now() -> datetime:
    return datetime.now(UTC)


def canon_item(entity: EntityConfig, item: Item | None) -> dict[str, Canon] | None:
    """An item's canonical columns, or None when it is absent or not of this entity."""
    if item is None or match_entity([entity], item) is None:
        return None
    return canonical_item(entity, item)


def plain_key(typed: dict[str, Any]) -> dict[str, Any]:
    """A typed DynamoDB key (``{"pk": {"S": "x"}}``) as plain values, for ids."""
    return {name: next(iter(value.values())) if isinstance(value, dict) else value for name, value in typed.items()}


class FinalPhase:
    """The anti-join of one invocation (see the module docstring)."""

    def __init__(self, reconciler: Reconciler) -> None:
        self.rec = reconciler
        self._scanned: set[int] = set()
        self._lock = threading.Lock()
        self._early: threading.Thread | None = None
        self._prepared: Outcome | None = None

    def segment_scanned(self, segment: int) -> None:
        """A segment of this invocation scanned its last page; once all have, start the anti-join."""
        with self._lock:
            self._scanned.add(segment)
            if self._early is not None or not self._scanned.issuperset(self.rec.options.segments):
                return
            self._early = threading.Thread(target=self._prepare, name="anti-join", daemon=True)
            self._early.start()

    def join(self) -> None:
        """Wait for the early anti-join, if one started."""
        with self._lock:
            early = self._early
        if early is not None:
            early.join()

    def _prepare(self) -> None:
        """The anti-join on its own connection, when the other invocations' segments are done too.
        A failure here only means the anti-join runs at the end instead."""
        rec = self.rec
        try:
            conn = connect(rec.dsn, application_name="parity-reconcile-anti-join")
        except ParityError:
            return
        try:
            mine = set(rec.options.segments)
            states = runs_store.segments(conn, rec.store, rec.options.run_id)
            if any(s.status != "done" for s in states if s.segment not in mine and s.segment != FINAL_SEGMENT):
                return
            run = runs_store.run_info(conn, rec.store, rec.options.run_id)
            if run is None or run["status"] == "finished":
                return
            self._prepared = self._anti_join(conn, run["started_at"])
            conn.rollback()  # read only
        except ParityError as exc:
            log.warning("early anti-join failed; running it at the end", error=exc.message)
        finally:
            conn.close()

    def finish_if_complete(self, conn: Connection) -> dict[str, Any] | None:
        """When every segment is done, save the anti-join's outcome once and finish the run; else None."""
        rec = self.rec
        self.join()
        prepared, self._prepared = self._prepared, None
        run_id = rec.options.run_id
        states = runs_store.segments(conn, rec.store, run_id)
        if any(s.status != "done" for s in states if s.segment != FINAL_SEGMENT):
            return None
        run = runs_store.lock_run(conn, rec.store, run_id)
        if run is None:
            return None
        if run["status"] == "finished":
            conn.commit()
            return dict(run["report"])
        final, found, cleared = prepared or self._anti_join(conn, run["started_at"])
        runs_store.save_decisions(
            conn,
            rec.store,
            run_id,
            FINAL_SEGMENT,
            decided=[],
            found=found,
            cleared=cleared,
            tally=final,
            last_evaluated_key=None,
            status="done",
            seen_at=_now(),
        )
        for discrepancy in found:
            rec.events.found(str(discrepancy.kind))
        runs_store.lock_run(conn, rec.store, run_id)
        report = rec.report(conn, complete=True)
        runs_store.finish_run(conn, rec.store, run_id, report, _now())
        conn.commit()
        rec.events.finished(report["parity_percent"])
        return report

    def _anti_join(self, conn: Connection, run_started: datetime) -> Outcome:
        final = Tally()
        found: list[Discrepancy] = []
        cleared: dict[str, list[dict[str, Any]]] = {}
        for entity in self.rec.config.entity:
            self._missing_in_dynamodb(conn, entity, run_started, final, found, cleared)
        return final, found, cleared

    def _missing_in_dynamodb(
        self,
        conn: Connection,
        entity: EntityConfig,
        run_started: datetime,
        tally: Tally,
        found: list[Discrepancy],
        cleared: dict[str, list[dict[str, Any]]],
    ) -> None:
        """Rows whose key no segment scanned: re-read their items (item_key templates), then decide.

        The table's keys are streamed with a server-side cursor in batches; each batch's key objects
        (built by the same :func:`key_to_json` as the scanned keys, so every key type compares
        exactly) are anti-joined against the run's stored keys in one query. Memory stays at one batch.
        """
        key_columns = sql.SQL(", ").join(sql.Identifier(c) for c in entity.key)
        query = sql.SQL("SELECT {} FROM {}").format(key_columns, table_identifier(entity))
        unseen = sql.SQL(
            "SELECT k.key FROM unnest(%s::jsonb[]) AS k(key) WHERE NOT EXISTS"
            " (SELECT 1 FROM {} AS s WHERE s.run_id = %s AND s.entity = %s AND s.key = k.key)"
        ).format(self.rec.store.table("reconcile_keys"))
        entity_tally = tally.entity(entity.name)
        version_spec = entity.all_columns.get(entity.version) if entity.version else None
        started = None if version_spec is None else canon_postgres(version_spec, run_started)
        key_object = key_object_sql(entity, table_columns(conn, entity.schema_name, entity.table_name) or {})
        if key_object is not None:
            with postgres_errors(f"anti-join of {entity.table}"):
                # plan the cursor for all its rows (a hash anti-join), not for a fast first row
                conn.execute("SET LOCAL cursor_tuple_fraction = 1.0")
            with postgres_errors(f"anti-join of {entity.table}"), conn.cursor(name=f"unseen_{entity.name}") as cur:
                cur.itersize = _ANTI_JOIN_BATCH
                cur.execute(unseen_rows_sql(entity, self.rec.store, key_object), (self.rec.options.run_id, entity.name))
                while rows := cur.fetchmany(_ANTI_JOIN_BATCH):
                    self._decide_missing(entity, rows, started, entity_tally, found, cleared)
            return
        with postgres_errors(f"anti-join of {entity.table}"), conn.cursor(name=f"keys_{entity.name}") as cur:
            cur.itersize = _ANTI_JOIN_BATCH
            cur.execute(query)
            while True:
                rows = cur.fetchmany(_ANTI_JOIN_BATCH)
                if not rows:
                    break
                keys = [Jsonb(key_to_json(entity, row_key(entity, row))) for row in rows]
                missing = [r["key"] for r in conn.execute(unseen, (keys, self.rec.options.run_id, entity.name))]
                if missing:
                    missing_keys = [key_from_json(entity, k) for k in missing]
                    fresh = fetch_rows(conn, entity, missing_keys)
                    present = [fresh[k] for k in missing_keys if k in fresh]
                    self._decide_missing(entity, present, started, entity_tally, found, cleared)

    def _decide_missing(
        self,
        entity: EntityConfig,
        rows: Sequence[Mapping[str, Any]],
        run_started: Canon,
        entity_tally: Any,
        found: list[Discrepancy],
        cleared: dict[str, list[dict[str, Any]]],
    ) -> None:
        canon_rows = [canonical_row(entity, row) for row in rows]
        table_keys = [render_item_key(entity, c) for c in canon_rows]
        items = self.rec.batch_get([k for k in table_keys if k]) if any(table_keys) else {}
        for row, canon_row, table_key in zip(rows, canon_rows, table_keys, strict=True):
            key_json = key_to_json(entity, row_key(entity, row))
            version = version_of(entity, canon_row)
            item = None if table_key is None else items.get(json_key_id(plain_key(table_key)))
            item_canon = canon_item(entity, item)
            entity_tally.rechecked += 1
            result = compare_canonical(entity, item_canon, canon_row)
            if result.is_match:
                entity_tally.cleared += 1
                entity_tally.add_verdict(Verdict.MATCH)
                cleared.setdefault(entity.name, []).append(key_json)
                continue
            if version is not None and run_started is not None and not compare_versions(run_started, version).newer:
                entity_tally.in_flight += 1  # written after the run started: the scan could not see it
                continue
            entity_tally.add_verdict(result.verdict, result.columns)
            values = discrepancy_values(entity, result, item_canon, canon_row)
            found.append(Discrepancy(entity.name, key_json, result.verdict, result.columns, values))
