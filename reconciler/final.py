"""The final phase of a run: rows without items (an anti-join), started as soon as it can be.

The anti-join needs every key the run scanned, not every re-check decided: once every segment of
this invocation has scanned its last page (and the segments of other slices are done), it starts
in a thread on its own connection while the last re-checks wait out their delay. Its outcome is
saved later, under the run's lock, by :meth:`FinalPhase.finish_if_complete` (or thrown away when
another slice finished the run first). The lock (the run's row, ``FOR UPDATE``) is held from the
check that the run is not finished yet to the commit that finishes it, so of several slices
finishing together exactly one runs the final phase; the others wait and return its report.
Candidates are re-read (a consistent BatchGetItem through the entity's ``item_key`` templates) and
decided: match, in flight (written after the run started), or ``missing_in_dynamodb``.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from psycopg import sql
from psycopg.types.json import Jsonb

from parity.compare import Discrepancy
from parity.config import EntityConfig
from parity.dynamo_reads import table_key_id
from parity.errors import ParityError
from parity.mapping import key_from_json, key_to_json, render_item_key, row_key
from parity.pg import Connection, connect, fetch_rows, postgres_errors, table_columns, table_identifier
from parity.reconciler import empty, runs_store
from parity.reconciler.anti_join import key_object_sql, unseen_rows_sql
from parity.reconciler.page import canon_item, count_decision, decide_missing, safe_canonical_row
from parity.reconciler.run_report import run_report
from parity.reconciler.runs_store import FINAL_SEGMENT
from parity.reconciler.segment import Job
from parity.reconciler.shared import Events
from parity.reconciler.source import TableSource
from parity.reconciler.tally import EntityTally, Tally
from parity.telemetry import get_logger

log = get_logger("reconcile")
_ANTI_JOIN_BATCH = 5000

AntiJoin = tuple[Tally, list[Discrepancy], dict[str, list[dict[str, Any]]]]


def _now() -> datetime:
    return datetime.now(UTC)


class FinalPhase:
    """The anti-join of one invocation (see the module docstring)."""

    def __init__(
        self, job: Job, mine: Sequence[int], source: TableSource, *, max_listed: int, allow_empty: bool = False
    ) -> None:
        self.job = job
        self.allow_empty = allow_empty
        self.mine = frozenset(mine)
        self.source = source
        self.max_listed = max_listed
        self.store = job.store
        self._scanned: set[int] = set()
        self._lock = threading.Lock()
        self._early: threading.Thread | None = None
        self._prepared: AntiJoin | None = None

    def segment_scanned(self, segment: int) -> None:
        """A segment of this invocation scanned its last page; once all have, start the anti-join."""
        with self._lock:
            self._scanned.add(segment)
            if self._early is not None or not self._scanned.issuperset(self.mine):
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
        try:
            conn = connect(self.job.dsn, application_name="parity-reconcile-anti-join")
        except ParityError:
            return
        try:
            run_id = self.job.run_id
            states = runs_store.segments(conn, self.store, run_id)
            if any(s.status != "done" for s in states if s.segment not in self.mine and s.segment != FINAL_SEGMENT):
                return
            run = runs_store.run_info(conn, self.store, run_id)
            if run is None or run["status"] == "finished":
                return
            self._prepared = self._anti_join(conn, run["started_at"])
            conn.rollback()  # read only
        except ParityError as exc:
            log.warning("early anti-join failed; running it at the end", error=exc.message)
        finally:
            conn.close()

    def finish_if_complete(self, conn: Connection, events: Events) -> dict[str, Any] | None:
        """When every segment is done, save the anti-join's outcome once and finish the run; else None.

        Everything from taking the run's lock to finishing the run is ONE transaction on ``conn``:
        no read in between commits, so the lock holds until the run is marked finished.
        """
        self.join()
        prepared, self._prepared = self._prepared, None
        run_id = self.job.run_id
        states = runs_store.segments(conn, self.store, run_id)
        if any(s.status != "done" for s in states if s.segment != FINAL_SEGMENT):
            return None
        run = runs_store.lock_run(conn, self.store, run_id)
        if run is None:
            conn.rollback()
            return None
        if run["status"] == "finished":
            conn.commit()
            return dict(run["report"])
        if not self.allow_empty:
            try:
                empty.check_scanned(self.job.config, conn, runs_store.scanned_entities(conn, self.store, run_id))
            except ParityError:
                conn.rollback()
                runs_store.set_run_status(conn, self.store, run_id, "failed")
                raise
        final, found, cleared = prepared or self._anti_join(conn, run["started_at"])
        runs_store.save_decisions(
            conn,
            self.store,
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
        report = run_report(
            conn,
            self.store,
            run_id,
            [e.name for e in self.job.config.entity],
            total_segments=self.job.total_segments,
            max_listed=self.max_listed,
            complete=True,
            commit=False,
        )
        runs_store.finish_run(conn, self.store, run_id, report, _now())
        with postgres_errors("finishing a reconcile run"):
            conn.commit()
        for discrepancy in found:
            events.found(str(discrepancy.kind))
        events.finished(report["parity_percent"])
        return report

    def _anti_join(self, conn: Connection, run_started: datetime) -> AntiJoin:
        final = Tally()
        found: list[Discrepancy] = []
        cleared: dict[str, list[dict[str, Any]]] = {}
        for entity in self.job.config.entity:
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
        ).format(self.store.table("reconcile_keys"))
        entity_tally = tally.entity(entity.name)
        key_object = key_object_sql(entity, table_columns(conn, entity.schema_name, entity.table_name) or {})
        if key_object is not None:
            with postgres_errors(f"anti-join of {entity.table}"):
                # plan the cursor for all its rows (a hash anti-join), not for a fast first row
                conn.execute("SET LOCAL cursor_tuple_fraction = 1.0")
            with postgres_errors(f"anti-join of {entity.table}"), conn.cursor(name=f"unseen_{entity.name}") as cur:
                cur.itersize = _ANTI_JOIN_BATCH
                cur.execute(unseen_rows_sql(entity, self.store, key_object), (self.job.run_id, entity.name))
                while rows := cur.fetchmany(_ANTI_JOIN_BATCH):
                    self._decide_missing(entity, rows, run_started, entity_tally, found, cleared)
            return
        with postgres_errors(f"anti-join of {entity.table}"), conn.cursor(name=f"keys_{entity.name}") as cur:
            cur.itersize = _ANTI_JOIN_BATCH
            cur.execute(query)
            while True:
                rows = cur.fetchmany(_ANTI_JOIN_BATCH)
                if not rows:
                    break
                keys = [Jsonb(key_to_json(entity, row_key(entity, row))) for row in rows]
                missing = [r["key"] for r in conn.execute(unseen, (keys, self.job.run_id, entity.name))]
                if missing:
                    missing_keys = [key_from_json(entity, k) for k in missing]
                    fresh = fetch_rows(conn, entity, missing_keys)
                    present = [fresh[k] for k in missing_keys if k in fresh]
                    self._decide_missing(entity, present, run_started, entity_tally, found, cleared)

    def _decide_missing(
        self,
        entity: EntityConfig,
        rows: Sequence[Mapping[str, Any]],
        run_started: datetime,
        entity_tally: EntityTally,
        found: list[Discrepancy],
        cleared: dict[str, list[dict[str, Any]]],
    ) -> None:
        canon_rows = [safe_canonical_row(entity, row) for row in rows]
        table_keys = [render_item_key(entity, c) for c in canon_rows]
        items = self.source.batch_get([k for k in table_keys if k]) if any(table_keys) else {}
        for row, canon_row, table_key in zip(rows, canon_rows, table_keys, strict=True):
            key_json = key_to_json(entity, row_key(entity, row))
            item = None if table_key is None else items.get(table_key_id(table_key))
            decision = decide_missing(entity, run_started, canon_item(entity, item), canon_row)
            count_decision(entity_tally, entity.name, key_json, decision, found, cleared)
