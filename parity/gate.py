"""The cutover gate: is it safe to cut over now? Every check named, decided and explained.

Pure functions from what the store and the stream's shard positions say (:class:`GateInput`) to
named checks (docs/workflow.md). ``parity gate`` (parity/commands/gate.py) reads the inputs and prints.

Parity of the latest finished full reconcile counts as matched the discrepancies it found that are
accepted since (known, tolerated) or resolved since (a later check, e.g. ``reconcile --open``, saw
them match); the ones still open keep it below 100 %.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from parity.stream.positions import ShardPosition


@dataclass(frozen=True)
class GateOptions:
    min_parity: float = 100.0
    max_age_hours: float = 24.0
    max_lag_seconds: float = 300.0


@dataclass(frozen=True)
class LatestRun:
    """The latest finished full reconcile: when, what it compared, and its findings' status now."""

    run_id: str
    finished_at: datetime
    compared: int
    matched: int
    findings: int  # discrepancies the run found
    findings_still_open: int  # of those, open now (neither accepted nor resolved since)


@dataclass(frozen=True)
class GateInput:
    now: datetime
    latest_run: LatestRun | None
    counts: dict[str, int]  # discrepancies by status
    dead_letters: int
    gaps: int
    overdue_rechecks: int
    stream: str | None  # what the stream lag check looked at; None when there is no stream to read
    shards: Sequence[ShardPosition] = ()
    stream_problem: str | None = None  # why the stream could not be read, when it could not


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "detail": self.detail}


def effective_parity(run: LatestRun) -> float:
    """Parity % of a run with its accepted and since-resolved findings counted as matched."""
    if run.compared == 0:
        return 100.0
    counted = run.matched + (run.findings - run.findings_still_open)
    return min(100.0, 100.0 * counted / run.compared)


def evaluate(data: GateInput, options: GateOptions) -> list[Check]:
    """Every check of the gate, in the order docs/workflow.md lists them."""
    return [
        _age(data, options),
        _parity(data, options),
        _count_check(
            "open_discrepancies",
            data.counts.get("open", 0),
            "open discrepancy",
            "open discrepancies",
            f" ({data.counts.get('accepted', 0)} accepted)",
        ),
        _count_check("dead_letters", data.dead_letters, "dead letter", "dead letters", " (parity dead-letters)"),
        _count_check("stream_gaps", data.gaps, "stream gap", "stream gaps", " (records trimmed before they were read)"),
        _lag(data, options),
        _count_check(
            "pending_rechecks",
            data.overdue_rechecks,
            "pending re-check overdue",
            "pending re-checks overdue",
            f" (due more than {options.max_lag_seconds:g} s ago)",
        ),
    ]


def _count_check(name: str, count: int, one: str, many: str, suffix: str = "") -> Check:
    return Check(name, count == 0, f"{count} {one if count == 1 else many}{suffix}")


def _age(data: GateInput, options: GateOptions) -> Check:
    run = data.latest_run
    if run is None:
        return Check("reconcile_age", False, "no finished reconcile run: run `parity reconcile`")
    hours = (data.now - run.finished_at).total_seconds() / 3600
    ok = hours <= options.max_age_hours
    return Check(
        "reconcile_age",
        ok,
        f"latest finished reconcile {run.run_id} finished {_hours(hours)} ago"
        f" ({'within' if ok else 'older than'} --max-age {options.max_age_hours:g} h)",
    )


def _parity(data: GateInput, options: GateOptions) -> Check:
    run = data.latest_run
    if run is None:
        return Check("reconcile_parity", False, "no finished reconcile run to take parity from")
    percent = effective_parity(run)
    ok = percent >= options.min_parity
    settled = run.findings - run.findings_still_open
    return Check(
        "reconcile_parity",
        ok,
        f"{_percent(percent)}% of {run.compared} compared ({run.findings} found, {settled} accepted or resolved"
        f" since, {run.findings_still_open} still open); --min-parity {options.min_parity:g}",
    )


def _lag(data: GateInput, options: GateOptions) -> Check:
    if data.stream_problem is not None:
        return Check("stream_lag", False, data.stream_problem)
    if data.stream is None:
        return Check("stream_lag", False, "no stream to check")
    if not data.shards:
        return Check("stream_lag", True, f"{data.stream}: no shard listed")
    trimmed = [s.shard_id for s in data.shards if s.trimmed]
    late = sorted(
        (
            (s.lag_seconds(data.now), s.shard_id)
            for s in data.shards
            if s.lag_seconds(data.now) > options.max_lag_seconds
        ),
        reverse=True,
    )
    worst = max((s.lag_seconds(data.now) for s in data.shards), default=0.0)
    if trimmed:
        return Check("stream_lag", False, f"shard(s) {', '.join(trimmed)}: the checkpoint fell off the stream")
    if late:
        lag, shard = late[0]
        return Check(
            "stream_lag",
            False,
            f"{len(late)} of {len(data.shards)} shard(s) behind by more than --max-lag {options.max_lag_seconds:g} s"
            f" (shard {shard}: oldest unchecked record {lag:.0f} s old)",
        )
    return Check(
        "stream_lag",
        True,
        f"{len(data.shards)} shard(s), oldest unchecked record {worst:.0f} s old"
        f" (--max-lag {options.max_lag_seconds:g} s)",
    )


def _hours(hours: float) -> str:
    if hours < 1:
        return f"{hours * 60:.0f} min"
    return f"{hours:.1f} h"


def _percent(value: float) -> str:
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return "100" if value >= 100 else ("99.9999" if text == "100" else text)
