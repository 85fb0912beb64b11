"""The consumer's liveness signal, read by ``parity health`` (the ECS container health check).

After every loop turn that committed its work (or found nothing to do), the consumer
- touches ``[consumer].health_file`` when configured (cheap to check, works while PostgreSQL is down:
  then the file simply stops being touched), and
- upserts its row in the store's ``consumer_heartbeats`` table (migration 020) with counts.

A consumer stuck on a dependency, or wedged, stops refreshing both, and the check fails once the
last heartbeat is older than ``[consumer].health_max_age_seconds``.

Each row names the *worker* that wrote it and the table it checks (``detail.worker``,
``detail.table``), so that ``parity health`` judges only its own task: with several KCL tasks
sharing one store, one healthy task must not make a wedged one look healthy. The worker identity
(:func:`worker_identity`) is the same for the consumer and for a health check run inside its
container: ``PARITY_WORKER_ID`` when set, else the ECS container (the last part of
``ECS_CONTAINER_METADATA_URI_V4``, unique per container and task), else the host name.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from psycopg import sql
from psycopg.types.json import Jsonb

from parity.jsontext import dumps_exact
from parity.pg import Connection, postgres_errors
from parity.store import Store


def touch(path: str | None, *, next_due: datetime | None = None) -> None:
    """Renew the health file, writing when the earliest pending re-check left falls due.

    Written after due re-checks were decided, so a ``next_due`` already in the past means they are
    not being decided (``parity health`` then says unhealthy although the file is fresh). Replaced
    atomically: a health check never reads half a file.
    """
    if not path:
        return
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_text(dumps_exact({"next_due": next_due}, separators=(", ", ": ")) + "\n")
    tmp.replace(target)


def worker_identity(env: Mapping[str, str] | None = None, hostname: str | None = None) -> str:
    """Who is writing heartbeats: ``PARITY_WORKER_ID``, else ``ecs:<container>``, else ``host:<name>``."""
    env = os.environ if env is None else env
    explicit = env.get("PARITY_WORKER_ID", "").strip()
    if explicit:
        return explicit
    for name in ("ECS_CONTAINER_METADATA_URI_V4", "ECS_CONTAINER_METADATA_URI"):
        uri = env.get(name, "").strip().rstrip("/")
        if uri:
            return "ecs:" + uri.rsplit("/", 1)[-1]
    return "host:" + (hostname if hostname is not None else socket.gethostname())


def beat(
    conn: Connection,
    store: Store,
    consumer_id: str,
    records: int,
    detail: dict[str, Any],
    *,
    table: str,
    worker: str | None = None,
) -> None:
    """Upsert the heartbeat row of ``consumer_id`` (a stream or a shard), stamped with table and worker."""
    stamped = {**detail, "table": table, "worker": worker or worker_identity()}
    query = sql.SQL(
        "INSERT INTO {} AS h (consumer_id, committed_at, records, detail) VALUES (%s, now(), %s, %s)"
        " ON CONFLICT (consumer_id) DO UPDATE SET committed_at = now(), records = h.records + EXCLUDED.records,"
        " detail = EXCLUDED.detail"
    ).format(store.table("consumer_heartbeats"))
    with postgres_errors("writing the consumer heartbeat"):
        conn.execute(query, (consumer_id, records, Jsonb(stamped)))


def last_beats(
    conn: Connection, store: Store, *, worker: str | None = None, table: str | None = None
) -> list[dict[str, Any]]:
    """Heartbeat rows with their age, only those of ``worker`` and ``table`` when given."""
    query = sql.SQL(
        "SELECT consumer_id, committed_at, records, detail, now() - committed_at AS age FROM {}"
        " WHERE (%(worker)s::text IS NULL OR detail->>'worker' = %(worker)s)"
        " AND (%(table)s::text IS NULL OR detail->>'table' = %(table)s)"
        " ORDER BY consumer_id"
    ).format(store.table("consumer_heartbeats"))
    with postgres_errors("reading consumer heartbeats"):
        return [dict(r) for r in conn.execute(query, {"worker": worker, "table": table})]


def records_checked(conn: Connection, store: Store) -> int:
    """Stream records checked so far, by every consumer together."""
    query = sql.SQL("SELECT coalesce(sum(records), 0) AS n FROM {}").format(store.table("consumer_heartbeats"))
    with postgres_errors("reading consumer heartbeats"):
        row = conn.execute(query).fetchone()
    return int(row["n"]) if row else 0


def file_age_seconds(path: str, now: datetime) -> float | None:
    try:
        mtime = Path(path).stat().st_mtime
    except FileNotFoundError:
        return None
    return now.timestamp() - mtime


def file_next_due(path: str) -> datetime | None:
    """The earliest pending re-check's due time the consumer last wrote (None: none, or unknown)."""
    try:
        data = json.loads(Path(path).read_text() or "{}")
        return datetime.fromisoformat(data["next_due"]) if data.get("next_due") else None
    except (OSError, ValueError, TypeError, KeyError, AttributeError):  # an empty or older file
        return None
