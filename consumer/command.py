"""``parity consume``: check every write on the table's DynamoDB stream against PostgreSQL.

Start-up problems (bad config, the table has no stream, PostgreSQL unreachable at start) exit 2
with one line; once running, dependencies that fail are retried with backoff until they return
(see :mod:`consumer.runner`). SIGTERM (ECS stop) and SIGINT finish the batch in hand, commit it with
its checkpoint, and exit 0.
"""

from __future__ import annotations

import argparse
import gc
import signal
import threading
from types import FrameType

from parity.commands.common import config_from, require_tables
from parity.consumer.checker import Checker
from parity.consumer.runner import Consumer, RunOptions
from parity.dynamo import client
from parity.errors import ConfigError, InputError
from parity.pg import resolve_dsn
from parity.stream.records import Source
from parity.stream.shards import StartAt, stream_arn_of
from parity.telemetry import configure_logging, configure_metrics, get_logger, shutdown_metrics

log = get_logger("consumer")


EXAMPLES = """\
examples:
  parity consume                            # runs until SIGTERM
  parity consume --from latest --stop-when-idle 10   # a batch job: exits once the stream is quiet
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--from",
        dest="start",
        choices=[s.value for s in StartAt],
        default=StartAt.TRIM_HORIZON.value,
        help="where shards without a checkpoint start (default trim_horizon: the oldest retained record)",
    )
    parser.add_argument(
        "--stop-when-idle",
        type=float,
        metavar="SECONDS",
        help="exit 0 once no record arrived for SECONDS and every pending re-check is decided",
    )
    parser.add_argument(
        "--grace-seconds",
        type=float,
        metavar="SECONDS",
        help="override [consumer].grace_seconds (default: the config's, 30)",
    )


def run(args: argparse.Namespace) -> int:
    configure_logging()
    configure_metrics("parity-consumer")
    config = config_from(args)
    if args.stop_when_idle is not None and args.stop_when_idle < 0:
        raise InputError(f"--stop-when-idle {args.stop_when_idle} must be >= 0")
    if args.grace_seconds is not None and args.grace_seconds < 0:
        raise InputError(f"--grace-seconds {args.grace_seconds} must be >= 0")
    if config.consumer.source != "dynamodb-streams":
        raise ConfigError(
            f"[consumer].source is {config.consumer.source!r}: `parity consume` reads DynamoDB Streams",
            hint="in kinesis mode run `parity kcl-processor` under the KCL MultiLangDaemon",
        )
    arn = stream_arn_of(client(config.dynamodb, "dynamodb"), config.dynamodb.table)
    if arn is None:
        raise ConfigError(
            f"table {config.dynamodb.table!r} has no DynamoDB stream",
            hint="enable a stream with StreamViewType NEW_AND_OLD_IMAGES",
        )
    checker = Checker(config, resolve_dsn(config), source=Source.DYNAMODB_STREAMS, grace_seconds=args.grace_seconds)
    stop = threading.Event()

    def on_signal(signum: int, _: FrameType | None) -> None:
        log.info("stop requested; finishing the batch in hand", signal=signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        # fail fast (exit 2) when PostgreSQL is unreachable at start or a mapped table is misspelt
        require_tables(checker.connection(), config, args.config)
        consumer = Consumer(
            config,
            checker,
            client(config.dynamodb, "dynamodbstreams"),
            arn,
            RunOptions(start=StartAt(args.start), stop_when_idle=args.stop_when_idle),
            stop,
        )
        # Start-up objects (boto3's service models, config, telemetry: ~90,000) live as long as the
        # process; frozen, the cyclic collector stops walking them on every full collection
        # (~25 ms each, in the middle of some batch).
        gc.collect()
        gc.freeze()
        return consumer.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        checker.close()
        shutdown_metrics()
