"""The consumer's liveness signal, read by ``parity health`` (the ECS container health check).

After every loop turn that committed its work (or found nothing to do), the consumer
- touches ``[consumer].health_file`` when configured (cheap to check, works while PostgreSQL is down:
  then the file simply stops being touched), and
- upserts its row in the store's ``consumer_heartbeats`` table (migration 020) with counts.

A consumer stuck on a dependency, or wedged, stops refreshing both, and the check fails once the
last heartbeat is older than ``[consumer].health_max_age_seconds``.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any

from psycopg import sql
from psycopg.types.json import Jsonb

from parity.pg import Connection, postgres_errors
from parity.store import Store


def touch(path: str | None) -> None:
    if not path:
        return
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.touch()
    os.utime(target)


def beat(conn: Connection, store: Store, consumer_id: str, records: int, detail: dict[str, Any]) -> None:
    query = sql.SQL(
        "INSERT INTO {} AS h (consumer_id, committed_at, records, detail) VALUES (%s, now(), %s, %s)"
        " ON CONFLICT (consumer_id) DO UPDATE SET committed_at = now(), records = h.records + EXCLUDED.records,"
        " detail = EXCLUDED.detail"
    ).format(store.table("consumer_heartbeats"))
    with postgres_errors("writing the consumer heartbeat"):
        conn.execute(query, (consumer_id, records, Jsonb(detail)))


def last_beats(conn: Connection, store: Store) -> list[dict[str, Any]]:
    query = sql.SQL(
        "SELECT consumer_id, committed_at, records, detail, now() - committed_at AS age FROM {} ORDER BY consumer_id"
    ).format(store.table("consumer_heartbeats"))
    with postgres_errors("reading consumer heartbeats"):
        return [dict(r) for r in conn.execute(query)]


def file_age_seconds(path: str, now: datetime) -> float | None:
    try:
        mtime = Path(path).stat().st_mtime
    except FileNotFoundError:
        return None
    return now.timestamp() - mtime
