"""``parity kcl-processor``: the record processor the KCL MultiLangDaemon starts once per shard.

stdout is the MultiLang protocol. Before anything else runs, :func:`reserve_stdout` duplicates the
real stdout to a private file that only amazon_kclpy writes, and points file descriptor 1 (and
``sys.stdout``) at stderr: a stray ``print``, a warning, a library or a C extension writing to
stdout can then never corrupt the protocol. Logs go to stderr (structlog via parity.telemetry),
which the daemon copies into its own log.

Exit codes: 0 when the daemon closes stdin; 1 when a batch keeps failing after retries (the daemon
restarts the shard from its last checkpoint); 2 for a bad config.
"""

from __future__ import annotations

import argparse
import gc
import io
import os
import sys
from typing import IO

from parity.commands.common import config_from
from parity.consumer.backoff import Backoff
from parity.consumer.checker import Checker
from parity.consumer.kcl_processor import CheckerHandler, ParityRecordProcessor, RetryPolicy
from parity.errors import ConfigError
from parity.pg import resolve_dsn
from parity.stream.records import Source
from parity.telemetry import get_logger

log = get_logger("consumer.kcl")


EXAMPLES = """\
examples:
  parity kcl-processor --config /etc/parity/parity.toml   # as executableName in the KCL properties
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--max-attempts",
        type=int,
        default=6,
        metavar="N",
        help="tries of a failing batch before exiting non-zero so the daemon restarts the shard (default 6)",
    )
    parser.add_argument(
        "--max-backoff",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="longest wait between tries (default 10; first wait 0.5 s, doubling)",
    )


def reserve_stdout() -> IO[str]:
    """The protocol channel: a private copy of stdout; fd 1 and sys.stdout now go to stderr."""
    sys.stdout.flush()
    protocol_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return io.TextIOWrapper(io.FileIO(protocol_fd, "w"), encoding="utf-8", line_buffering=True)


def run(args: argparse.Namespace) -> int:
    protocol = reserve_stdout()
    from amazon_kclpy import kcl  # after stdout is reserved: nothing may print on import

    if args.max_attempts < 1:
        raise ConfigError(f"--max-attempts must be at least 1, not {args.max_attempts}")
    config = config_from(args)
    if config.consumer.source != "kinesis":
        log.warning(
            "[consumer].source is not 'kinesis'; checking the records as Kinesis payloads anyway",
            source=config.consumer.source,
        )
    dsn = resolve_dsn(config)
    policy = RetryPolicy(attempts=args.max_attempts, backoff=Backoff(first=0.5, ceiling=args.max_backoff))

    def handler(shard_id: str) -> CheckerHandler:
        checker = Checker(config, dsn, source=Source.KINESIS, application_name="parity-kcl")
        return CheckerHandler(checker, consumer_id=f"kcl:{shard_id}", health_file=config.consumer.health_file)

    processor = ParityRecordProcessor(handler, policy=policy)
    gc.collect()
    gc.freeze()  # start-up objects live as long as the process: keep full collections off them
    try:
        kcl.KCLProcess(processor, input_file=sys.stdin, output_file=protocol, error_file=sys.stderr).run()
    finally:
        processor._close()
        protocol.flush()
    return 0
