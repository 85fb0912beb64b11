"""The demo's dual-writing workload: session updates written to both stores, a share of them made
to go wrong on the PostgreSQL side (a write that fails, lands late, or carries a wrong column) and
announced as they are injected, so that the checkers' findings can be told apart from noise."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from parity.local.example import Campaign, Session, generate, write_dynamodb, write_postgres


@dataclass
class Faults:
    dynamodb_only: list[Session] = field(default_factory=list)  # the PostgreSQL half of an update failed
    new_dynamodb_only: list[Session] = field(default_factory=list)  # the PostgreSQL half of an insert failed
    deleted_dynamodb_only: list[Session] = field(default_factory=list)  # the PostgreSQL half of a delete failed
    wrong_column: list[Session] = field(default_factory=list)
    late: list[Session] = field(default_factory=list)


def _fault(text: str, session: Session) -> None:
    print(f"  fault  {text:<36} session id={session.id}", flush=True)


LATE_SECONDS = 0.5  # a late PostgreSQL write lands this long after DynamoDB's (grace is 2 s in the demo)


def workload(
    conn: Any,
    dynamodb: Any,
    campaigns: list[Campaign],
    updates: int,
    fault_rate: float,
    stop: threading.Event | None = None,
    *,
    table: str,
) -> Faults:
    """Dual writes of session updates; a share of them fail or go wrong on the PostgreSQL side.

    Each fault is announced as it is injected, so the stream checker's findings can be told apart.
    Late writes land LATE_SECONDS after their DynamoDB half, within the grace period: the checker
    must not report them.
    """
    rng = random.Random(42)
    sessions = [s for c in campaigns for s in c.sessions]
    faults = Faults()
    touched: set[str] = set()
    waiting: list[tuple[float, Session]] = []

    def land_late(until: float) -> None:
        due: list[Session | Campaign] = [s for at, s in waiting if at <= until]
        if due:
            write_postgres(conn, due)
            waiting[:] = [(at, s) for at, s in waiting if at > until]

    for n in range(updates):
        if stop is not None and stop.is_set():
            break
        land_late(time.monotonic())
        session = rng.choice(sessions)
        if session.id in touched:
            continue
        touched.add(session.id)
        newer = session.touched(summary=f"{session.summary or ''} Update {n}: reviewed the launch plan.".strip())
        write_dynamodb(dynamodb, table, [newer])
        roll = rng.random()
        if roll < fault_rate:
            faults.dynamodb_only.append(newer)  # the PostgreSQL half failed
            _fault("update: PostgreSQL write failed", newer)
        elif roll < 2 * fault_rate:
            wrong = newer.touched(updated_at=newer.updated_at, name=newer.name + " (typo)")
            write_postgres(conn, [wrong])
            faults.wrong_column.append(newer)
            _fault("update: PostgreSQL got a wrong name", newer)
        elif roll < 3 * fault_rate:
            faults.late.append(newer)  # lands a moment later, within the grace period
            waiting.append((time.monotonic() + LATE_SECONDS, newer))
        else:
            write_postgres(conn, [newer])
    # a few inserts and deletes whose PostgreSQL half failed
    fresh = generate(1, max(2, round(updates * fault_rate / 3)), seed=99)[0].sessions
    for session in fresh:
        moved = Session(**{**session.__dict__, "campaign_id": rng.choice(campaigns).id})
        write_dynamodb(dynamodb, table, [moved])
        faults.new_dynamodb_only.append(moved)
        _fault("insert: PostgreSQL write failed", moved)
    for session in rng.sample([s for s in sessions if s.id not in touched], len(fresh)):
        dynamodb.delete_item(TableName=table, Key=session.key())
        faults.deleted_dynamodb_only.append(session)
        _fault("delete: PostgreSQL write failed", session)
    if waiting:
        time.sleep(max(0.0, max(at for at, _ in waiting) - time.monotonic()))
        land_late(float("inf"))
    return faults


def describe(faults: Faults) -> str:
    """One sentence naming what was injected, by kind."""
    return (
        f"injected: {len(faults.dynamodb_only)} updates and {len(faults.new_dynamodb_only)} inserts whose PostgreSQL "
        f"write failed, {len(faults.deleted_dynamodb_only)} deletes that reached DynamoDB only,\n"
        f"{len(faults.wrong_column)} PostgreSQL writes with a wrong column, {len(faults.late)} that arrive late "
        "(within the grace period: no discrepancy expected)"
    )
