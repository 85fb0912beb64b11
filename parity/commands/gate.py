"""``parity gate``: is it safe to cut over now? Exit 0 when every check holds, 1 when any fails.

Reads only parity's store and the stream's shard positions (two small calls per open shard), so it
is cheap enough for CI/CD or a scheduled alarm every minute. ``--json`` prints
``{"ready": bool, "checks": [{"name", "ok", "detail"}]}`` (docs/reference.md §5).
"""

from __future__ import annotations

import argparse
from typing import Any

from parity.commands.common import config_from, print_json, store_connection
from parity.config import ParityConfig
from parity.errors import InputError
from parity.gate import Check, GateInput, GateOptions, LatestRun, evaluate
from parity.pg import Connection
from parity.store import Store
from parity.store.workflow import gate_readings
from parity.telemetry import meter

# Gauges set once per run (the deploy's scheduled gate task exports them; the dashboard and the gate
# alarm read them): readiness, parity with accepted counted as matched, discrepancies by status, dead letters.
_meter = meter("gate")
_ready = _meter.create_gauge("parity.gate.ready", description="1 when parity gate passes, 0 when it fails")
_parity = _meter.create_gauge(
    "parity.gate.parity_percent", unit="%", description="latest reconcile parity with accepted counted as matched"
)
_discrepancies = _meter.create_gauge("parity.gate.discrepancies", description="discrepancies by status")
_dead_letters = _meter.create_gauge("parity.gate.dead_letters", description="records that could not be checked")


EXAMPLES = """\
examples:
  parity gate                               # exit 0 when it is safe to cut over, 1 naming what is not
  parity gate --min-parity 99.99 --max-age 6 --json
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--min-parity", type=float, default=100.0, metavar="P", help="percent (default 100)")
    parser.add_argument(
        "--max-age", type=float, default=24.0, metavar="HOURS", help="age of the latest reconcile (default 24)"
    )
    parser.add_argument(
        "--max-lag", type=float, default=300.0, metavar="SECONDS", help="stream checkpoint lag (default 300)"
    )
    parser.add_argument("--json", action="store_true", help='print {"ready", "checks"}')


def options_from(args: argparse.Namespace) -> GateOptions:
    if not 0 <= args.min_parity <= 100:
        raise InputError(f"--min-parity must be a percentage between 0 and 100, got {args.min_parity:g}")
    if args.max_age <= 0:
        raise InputError(f"--max-age must be a positive number of hours, got {args.max_age:g}")
    if args.max_lag < 0:
        raise InputError(f"--max-lag must be zero or more seconds, got {args.max_lag:g}")
    return GateOptions(args.min_parity, args.max_age, args.max_lag)


def run(args: argparse.Namespace) -> int:
    options = options_from(args)
    config = config_from(args)
    with store_connection(config) as (conn, store):
        data = gather(config, conn, store, options)
    checks = evaluate(data, options)
    ready = all(c.ok for c in checks)
    _ready.set(1 if ready else 0)
    if data.latest_run is not None:
        from parity.gate import effective_parity

        _parity.set(effective_parity(data.latest_run))
    for status in ("open", "accepted"):
        _discrepancies.set(data.counts.get(status, 0), {"status": status})
    _dead_letters.set(data.dead_letters)
    if args.json:
        print_json({"ready": ready, "checks": [c.to_json() for c in checks]})
    else:
        print_checks(checks, ready)
    return 0 if ready else 1


def print_checks(checks: list[Check], ready: bool) -> None:
    width = max(len(c.name) for c in checks)
    for check in checks:
        print(f"{'ok  ' if check.ok else 'FAIL'}  {check.name:<{width}}  {check.detail}")
    failed = [c.name for c in checks if not c.ok]
    print("READY: safe to cut over" if ready else f"NOT READY: {', '.join(failed)}")


def gather(config: ParityConfig, conn: Connection, store: Store, options: GateOptions) -> GateInput:
    """What the checks need: the store's readings and, in DynamoDB Streams mode, the shard positions."""
    readings = gate_readings(conn, store, options.max_lag_seconds)
    conn.commit()
    latest = None if readings.latest_run is None else LatestRun(**readings.latest_run)
    stream, shards, problem = _stream(config, conn, store)
    return GateInput(
        now=readings.now,
        latest_run=latest,
        counts=readings.counts,
        dead_letters=readings.dead_letters,
        gaps=readings.gaps,
        overdue_rechecks=readings.overdue_rechecks,
        stream=stream,
        shards=shards,
        stream_problem=problem,
    )


def _stream(config: ParityConfig, conn: Connection, store: Store) -> tuple[str | None, list[Any], str | None]:
    from parity.dynamo import client
    from parity.stream.positions import shard_positions
    from parity.stream.shards import stream_arn_of

    if config.consumer.source != "dynamodb-streams":
        return None, [], "Kinesis mode: the KCL keeps shard checkpoints in its lease table; not checked by the gate"
    # DynamoDB unreachable is an unreachable dependency (exit 2), not a failed check
    arn = stream_arn_of(client(config.dynamodb, "dynamodb"), config.dynamodb.table)
    if arn is None:
        return None, [], f"table {config.dynamodb.table} has no stream enabled"
    checkpoints = store.checkpoints(conn, arn)
    conn.commit()
    return arn, shard_positions(client(config.dynamodb, "dynamodbstreams"), arn, checkpoints), None
