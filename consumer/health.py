"""``parity health``: exit 0 when the consumer committed progress recently (the ECS health check).

With ``[consumer].health_file`` set, the check is the file's age (no database round trip; fails
when the consumer is stuck, including while PostgreSQL is down). Otherwise it reads the newest
heartbeat row that *this worker* wrote for the config's table (``consumer_heartbeats``; the worker
identity of :func:`consumer.heartbeat.worker_identity`, or ``--worker``): other tasks' fresh rows
never make a wedged task look healthy. ``--any-worker`` checks that anyone is consuming the table.
``--worker`` and ``--any-worker`` always read the store, even with a health file configured: they
are for checking from outside the consumer's task, where its file does not exist.
Healthy when the last heartbeat is younger than ``[consumer].health_max_age_seconds`` (or
``--max-age``). Exit 1 when stale or absent, 2 when the check itself cannot run (bad config,
PostgreSQL unreachable).
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from parity.commands.common import config_from, print_json, store_connection
from parity.consumer import MIGRATIONS, heartbeat

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
    worker = None if args.any_worker else (args.worker or heartbeat.worker_identity())
    if path and not (args.any_worker or args.worker):
        age = heartbeat.file_age_seconds(path, now)
        source = f"health file {path}"
    else:
        table = config.dynamodb.table
        with store_connection(config, MIGRATIONS) as (conn, store):
            beats = heartbeat.last_beats(conn, store, worker=worker, table=table)
        age = min((b["age"].total_seconds() for b in beats), default=None)
        whose = "any worker" if worker is None else f"worker {worker!r}"
        source = f"store schema {config.postgres.store_schema!r}, table {table!r}, {whose}"
    healthy = age is not None and age <= max_age
    if args.json:
        print_json(
            {"healthy": healthy, "age_seconds": age, "max_age_seconds": max_age, "source": source, "worker": worker}
        )
    elif age is None:
        print(f"unhealthy: no heartbeat yet in {source}")
    else:
        print(f"{'healthy' if healthy else 'unhealthy'}: last heartbeat {age:.1f}s ago ({source}, limit {max_age:g}s)")
    return 0 if healthy else 1
