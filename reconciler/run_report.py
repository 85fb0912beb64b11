"""A run's report from the store: every segment's counters summed, its findings listed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from parity.pg import Connection
from parity.reconciler import runs_store
from parity.reconciler.runs_store import FINAL_SEGMENT
from parity.reconciler.tally import build_report, merged
from parity.store import Store


def run_report(
    conn: Connection,
    store: Store,
    run_id: str,
    entity_names: Sequence[str],
    *,
    total_segments: int,
    max_listed: int,
    complete: bool,
    commit: bool = True,
) -> dict[str, Any]:
    """The JSON report (docs/reference.md §5) of a run as the store holds it now (``complete``: the run finished).

    ``commit=False`` reads inside the caller's transaction (the final phase, which holds the run's lock).
    """
    states = runs_store.segments(conn, store, run_id, commit=commit)
    run = runs_store.run_info(conn, store, run_id, commit=commit) or {}
    listed, truncated = runs_store.findings(conn, store, run_id, max_listed, commit=commit)
    started: datetime = run.get("started_at") or datetime.now(UTC)
    finished = datetime.now(UTC)
    done = sum(1 for s in states if s.segment != FINAL_SEGMENT and s.status == "done")
    return build_report(
        merged(s.tally for s in states),
        entity_names,
        listed,
        listed_truncated=truncated,
        started_at=started.isoformat(),
        finished_at=finished.isoformat() if complete else None,
        seconds=max((finished - started).total_seconds(), 1e-6),
        run_id=run_id,
        complete=complete,
        segments_done=done,
        total_segments=total_segments,
    )


__all__ = ["run_report"]
