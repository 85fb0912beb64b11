"""``parity reconcile --open`` / ``--keys F.jsonl``: the command side of :mod:`parity.reconciler.recheck`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from parity.commands.common import config_from, print_json, store_connection, write_report
from parity.errors import InputError
from parity.reconciler import MIGRATIONS
from parity.reconciler.recheck import Rechecker, file_targets, open_targets
from parity.telemetry import get_logger

log = get_logger("reconcile")

_EXCLUSIVE = ("segments", "segment", "total_segments", "resume", "run_id", "fail_under", "processes")


def run_recheck(args: argparse.Namespace) -> int:
    if args.open and args.keys:
        raise InputError("--open and --keys exclude each other")
    for name in _EXCLUSIVE:
        if getattr(args, name, None) is not None:
            flag = "--" + name.replace("_", "-")
            raise InputError(f"{flag} applies to a full reconcile, not to --open/--keys")
    config = config_from(args)
    targets = file_targets(config, Path(args.keys)) if args.keys else None
    with store_connection(config, MIGRATIONS) as (conn, store):
        if targets is None:
            targets = open_targets(conn, store)
        rechecker = Rechecker(config, store, max_rcu=args.max_rcu)
        result = rechecker.run(conn, targets)
    report = {"mode": "open" if args.open else "keys", **result.to_json()}
    log.info("targeted re-check finished", **report)
    if args.report:
        write_report(Path(args.report), report)
    if args.json:
        print_json(report)
    else:
        what = "open and accepted discrepancies" if args.open else f"keys of {args.keys}"
        sys.stdout.write(
            f"re-checked {result.rechecked} {what}: {result.resolved} now match (resolved),"
            f" {result.still_different} still differ"
            + (f", {result.unlocatable} could not be located in DynamoDB" if result.unlocatable else "")
            + f" ({result.requests} BatchGetItem requests, {result.consumed_rcu:.1f} RCU)\n"
        )
    return 0
