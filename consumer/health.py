"""``parity health``: exit 0 when the consumer committed progress recently (the ECS health check).

With ``[consumer].health_file`` set, the check is the file's age (no database round trip; fails
when the consumer is stuck, including while PostgreSQL is down). Otherwise it reads the newest
heartbeat row that *this worker* wrote for the config's table (``consumer_heartbeats``; the worker
identity of :func:`consumer.heartbeat.worker_identity`, or ``--worker``): other tasks' fresh rows
never make a wedged task look healthy. ``--any-worker`` checks that anyone is consuming the table.
``--worker`` and ``--any-worker`` always read the store, even with a health file configured: they
are for checking from outside the consumer's task, where its file does not exist.
Healthy when the last heartbeat is younger than ``[consumer].health_max_age_seconds`` (or
``--max-age``) and no pending re-check has been due for longer than that: a consumer that beats
but never decides its re-checks (a KCL daemon whose properties lack
``callProcessRecordsEvenForEmptyRecordList``, so idle shards are never called) is unhealthy. The
store path counts them in ``consumer_pending``; the health file carries the earliest due time the
consumer left after deciding. Exit 1 when stale or absent, 2 when the check itself cannot run (bad config,
PostgreSQL unreachable).
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta

from parity.commands.common import config_from, print_json, store_connection
from parity.consumer import MIGRATIONS, heartbeat, pending

EXAMPLES = """\
examples:
  parity health                             # exit 0 healthy, 1 unhealthy
  parity health --any-worker --json
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--max-age",
        type=float,
        metavar="SECONDS",
        help="override [consumer].health_max_age_seconds (default: the config's, 120)",
    )
    parser.add_argument("--json", action="store_true", help="print the heartbeat as JSON")
    who = parser.add_mutually_exclusive_group()
    who.add_argument("--worker", metavar="ID", help="check this worker's heartbeat (default: this task's identity)")
    who.add_argument("--any-worker", action="store_true", help="healthy when any worker beats for the table")


def run(args: argparse.Namespace) -> int:
    config = config_from(args)
    max_age = args.max_age if args.max_age is not None else config.consumer.health_max_age_seconds
    now = datetime.now(UTC)
    path = config.consumer.health_file
    age: float | None
    overdue: int | None  # None: how many is unknown (the file says only the earliest)
    oldest_due: datetime | None
    worker = None if args.any_worker else (args.worker or heartbeat.worker_identity())
    due_before = now - timedelta(seconds=max_age)
    if path and not (args.any_worker or args.worker):
        age = heartbeat.file_age_seconds(path, now)
        source = f"health file {path}"
        next_due = heartbeat.file_next_due(path)
        oldest_due = next_due if next_due is not None and next_due < due_before else None
        overdue = None
    else:
        table = config.dynamodb.table
        with store_connection(config, MIGRATIONS) as (conn, store):
            beats = heartbeat.last_beats(conn, store, worker=worker, table=table)
            overdue, oldest_due = pending.overdue(conn, store, due_before)
        age = min((b["age"].total_seconds() for b in beats), default=None)
        whose = "any worker" if worker is None else f"worker {worker!r}"
        source = f"store schema {config.postgres.store_schema!r}, table {table!r}, {whose}"
    beating = age is not None and age <= max_age
    healthy = beating and oldest_due is None
    if args.json:
        print_json(
            {
                "healthy": healthy,
                "age_seconds": age,
                "max_age_seconds": max_age,
                "source": source,
                "worker": worker,
                "overdue_rechecks": overdue if oldest_due is not None else 0,
                "oldest_overdue_due_at": oldest_due,
            }
        )
    elif age is None:
        print(f"unhealthy: no heartbeat yet in {source}")
    elif not beating and args.any_worker:
        # no worker at all beats for the table: say so, rather than a staleness a reader takes for a hang
        print(
            f"unhealthy: no consumer running for table {config.dynamodb.table!r}"
            f" (the last heartbeat of any worker was {age:.0f}s ago; limit {max_age:g}s)"
        )
    elif not beating:
        print(f"unhealthy: last heartbeat {age:.1f}s ago ({source}, limit {max_age:g}s)")
    elif oldest_due is not None:
        late = (now - oldest_due).total_seconds()
        count = "pending re-checks are" if overdue is None else f"{overdue} pending re-check(s) are"
        print(
            f"unhealthy: {count} overdue, the oldest due {late:.0f}s ago (limit {max_age:g}s), though the last"
            f" heartbeat was {age:.1f}s ago ({source}): the consumer is not deciding them; under KCL, set"
            " callProcessRecordsEvenForEmptyRecordList = true (parity kcl-properties)"
        )
    else:
        print(f"healthy: last heartbeat {age:.1f}s ago ({source}, limit {max_age:g}s)")
    return 0 if healthy else 1
