"""What the HTML report shows, read from the store in a few queries and kept as plain values.

Every table may be empty (a store where only the reconciler or only the consumer ran); the report then
says so instead of drawing an empty chart.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from parity.pg import Connection, postgres_errors
from parity.store import Store, stored_json, workflow


@dataclass(frozen=True)
class Run:
    run_id: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    parity_percent: float | None
    compared: int | None
    found: dict[str, int] = field(default_factory=dict)  # kind -> count in this run's report
    columns: dict[str, int] = field(default_factory=dict)  # differing column -> count in this run's report


@dataclass(frozen=True)
class History:
    """Every discrepancy the store ever recorded, counted: what was found, by whom, and what became of it."""

    total: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    by_column: dict[str, int] = field(default_factory=dict)
    by_checker: dict[str, int] = field(default_factory=dict)
    by_status: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class OpenDiscrepancy:
    entity: str
    key: dict[str, Any]
    kind: str
    columns: tuple[str, ...]
    detected_by: str
    first_seen: datetime
    last_seen: datetime
    status: str = "open"
    values: dict[str, Any] = field(default_factory=dict)  # what each store holds (redacted where set)
    note: str | None = None
    accepted_by: str | None = None


@dataclass(frozen=True)
class Lag:
    """One consumer position: a shard checkpoint or a consumer heartbeat, and how old it is."""

    source: str
    name: str
    updated_at: datetime
    seconds: float
    detail: str


@dataclass(frozen=True)
class ReportData:
    generated_at: datetime
    runs: tuple[Run, ...]
    open_discrepancies: tuple[OpenDiscrepancy, ...]
    by_entity: dict[str, int]
    by_kind: dict[str, int]
    by_column: dict[str, int]
    resolved_count: int
    lags: tuple[Lag, ...] = ()
    pending_rechecks: int = 0
    totals: dict[str, int] = field(default_factory=dict)
    accepted_discrepancies: tuple[OpenDiscrepancy, ...] = ()
    history: History = field(default_factory=History)
    status_history: tuple[tuple[datetime, int, int, int], ...] = ()  # (moment, open, accepted, resolved)
    gate: tuple[tuple[str, bool, str], ...] = ()  # the gate's store checks: (name, ok, detail)


def status_counts(events: list[dict[str, Any]]) -> list[tuple[datetime, int, int, int]]:
    """Open / accepted / resolved counts after each moment a status changed (events in order)."""
    state: dict[tuple[str, str], str] = {}
    counts = Counter[str]()
    out: list[tuple[datetime, int, int, int]] = []
    for event in events:
        key = (event["entity"], event["key_id"])
        before = state.get(key)
        if before is not None:
            counts[before] -= 1
        state[key] = event["status"]
        counts[event["status"]] += 1
        point = (event["at"], counts["open"], counts["accepted"], counts["resolved"])
        if out and out[-1][0] == event["at"]:
            out[-1] = point
        else:
            out.append(point)
    return out


def summarize(
    open_items: list[OpenDiscrepancy],
) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
    """Open discrepancies counted by entity, by kind and by differing column (most first)."""
    entities = Counter(d.entity for d in open_items)
    kinds = Counter(d.kind for d in open_items)
    columns = Counter(f"{d.entity}.{c}" for d in open_items for c in d.columns)
    return dict(entities.most_common()), dict(kinds.most_common()), dict(columns.most_common())


def _found(report: Any) -> tuple[dict[str, int], dict[str, int]]:
    """(kind -> count, column -> count) of a run's JSON report; empty where absent."""
    if not isinstance(report, dict):
        return {}, {}
    kinds = {k: int(report[k]) for k in ("missing_in_postgres", "missing_in_dynamodb", "mismatched") if report.get(k)}
    columns: Counter[str] = Counter()
    for name, entity in (report.get("entities") or {}).items():
        for column, count in ((entity or {}).get("columns") or {}).items():
            columns[f"{name}.{column}"] += int(count)
    return kinds, dict(columns.most_common())


def history_of(rows: list[dict[str, Any]]) -> History:
    """Counts over every discrepancy row (open, accepted and resolved)."""
    return History(
        total=len(rows),
        by_kind=dict(Counter(str(r["kind"]) for r in rows).most_common()),
        by_column=dict(Counter(f"{r['entity']}.{c}" for r in rows for c in r["columns"]).most_common()),
        by_checker=dict(Counter(str(r["detected_by"]) for r in rows).most_common()),
        by_status=dict(Counter(str(r["status"]) for r in rows).most_common()),
    )


def _percent(report: Any) -> tuple[float | None, int | None]:
    """parity_percent and compared of a run's JSON report; None where absent (a running or failed run)."""
    if not isinstance(report, dict):
        return None, None
    value, compared = report.get("parity_percent"), report.get("compared")
    percent = float(value) if isinstance(value, int | float | Decimal) and not isinstance(value, bool) else None
    count = int(compared) if isinstance(compared, int | Decimal) and not isinstance(compared, bool) else None
    return percent, count


def load(conn: Connection, store: Store, now: datetime | None = None) -> ReportData:
    """Read runs, discrepancies and consumer positions from the store (already migrated)."""
    now = now or datetime.now(UTC)
    with postgres_errors("reading the store for the report"):
        runs = tuple(
            Run(
                r["run_id"],
                r["status"],
                r["started_at"],
                r["finished_at"],
                *_percent(r["report"]),
                *_found(r["report"]),
            )
            for r in store.runs(conn)
        )
        history = history_of(store.discrepancy_rows(conn, "all"))
        unresolved = [
            OpenDiscrepancy(
                r["entity"],
                stored_json(r["key"]),
                r["kind"],
                tuple(r["columns"]),
                r["detected_by"],
                r["first_seen"],
                r["last_seen"],
                r["status"],
                stored_json(r["observed"]) or {},
                r["note"],
                r["accepted_by"],
            )
            for r in store.discrepancy_rows(conn, "unresolved")
        ]
        open_items = [d for d in unresolved if d.status == "open"]
        resolved = store.count_discrepancies(conn, "resolved")
        lags = [
            Lag(
                "stream checkpoint",
                f"{r['stream_id'].rsplit('/', 1)[-1]} {r['shard_id']}",
                r["updated_at"],
                max(0.0, (now - r["updated_at"]).total_seconds()),
                "closed" if r["shard_closed"] else (r["sequence_number"] or "no record yet"),
            )
            for r in store.all_checkpoints(conn)
        ]
        lags += [
            Lag(
                "consumer heartbeat",
                r["consumer_id"].rsplit("/", 1)[-1],
                r["committed_at"],
                max(0.0, (now - r["committed_at"]).total_seconds()),
                f"{r['records']} records",
            )
            for r in store.rows_if_present(
                conn, "consumer_heartbeats", "SELECT consumer_id, committed_at, records FROM {} ORDER BY consumer_id"
            )
        ]
        pending = store.rows_if_present(conn, "consumer_pending", "SELECT count(*) AS n FROM {}")
        status_history = status_counts(workflow.status_history(conn, store))
        gate = _gate(conn, store)
    by_entity, by_kind, by_column = summarize(open_items)
    return ReportData(
        generated_at=now,
        runs=runs,
        open_discrepancies=tuple(open_items),
        by_entity=by_entity,
        by_kind=by_kind,
        by_column=by_column,
        resolved_count=resolved,
        lags=tuple(lags),
        pending_rechecks=int(pending[0]["n"]) if pending else 0,
        accepted_discrepancies=tuple(d for d in unresolved if d.status == "accepted"),
        history=history,
        status_history=tuple(status_history),
        gate=gate,
    )


def _gate(conn: Connection, store: Store) -> tuple[tuple[str, bool, str], ...]:
    """The gate's checks with its defaults, from the store alone (the stream's positions are not read
    here: stream_lag is left to `parity gate`)."""
    from parity.gate import GateInput, GateOptions, LatestRun, evaluate

    options = GateOptions()
    readings = workflow.gate_readings(conn, store, options.max_lag_seconds)
    latest = None if readings.latest_run is None else LatestRun(**readings.latest_run)
    data = GateInput(
        readings.now, latest, readings.counts, readings.dead_letters, readings.gaps, readings.overdue_rechecks, None
    )
    return tuple((c.name, c.ok, c.detail) for c in evaluate(data, options) if c.name != "stream_lag")
