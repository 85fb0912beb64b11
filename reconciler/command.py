"""``parity reconcile``: parse flags, run this process's segments, print the report.

Exit codes: 0 done (or this slice done, the run still waiting for other slices), 1 parity below
``--fail-under``, 2 bad input, an unreachable store, or an interrupted run (SIGTERM: the current
pages finish and are persisted, the run is marked interrupted; resume with ``--resume``).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from parity.commands.common import config_from, print_json, require_tables, store_connection, write_report
from parity.errors import InputError, ReconcileInterrupted
from parity.pg import resolve_dsn
from parity.reconciler import MIGRATIONS, runs_store
from parity.reconciler.engine import Progress, ReconcileOptions, Reconciler
from parity.reconciler.summary import ProgressDisplay, summary_text
from parity.telemetry import get_logger

log = get_logger("reconcile")


EXAMPLES = """\
examples:
  parity reconcile --segments 8 --report reconcile.json
  parity reconcile --json --fail-under 99.9 --max-rcu 500   # exit 1 below 99.9 %
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--segments",
        type=int,
        default=None,
        metavar="N",
        help="parallel Scan segments (default: [reconcile].segments, 4)",
    )
    parser.add_argument(
        "--segment", type=int, default=None, metavar="K", help="run only segment K (0-based; default: all) ..."
    )
    parser.add_argument("--total-segments", type=int, default=None, metavar="N", help="... of N (one slice per task)")
    parser.add_argument(
        "--run-id",
        default=None,
        metavar="ID",
        help="name the run; slices of one run share it (default: a timestamp, or TABLE-DATE-N for slices)",
    )
    parser.add_argument(
        "--report", default=None, metavar="FILE", help="also write the JSON report to FILE (default: none)"
    )
    parser.add_argument("--json", action="store_true", help="print the JSON report on stdout")
    parser.add_argument(
        "--fail-under",
        type=float,
        default=None,
        metavar="PERCENT",
        help="exit 1 below this parity %% (default: no threshold)",
    )
    parser.add_argument(
        "--max-rcu",
        type=float,
        default=None,
        metavar="N",
        help="read capacity units per second, all workers together (default: no limit)",
    )
    parser.add_argument(
        "--max-listed",
        type=int,
        default=None,
        metavar="N",
        help="discrepancies listed in the report (default: [reconcile].max_listed, 10000)",
    )
    parser.add_argument(
        "--recheck-delay",
        type=float,
        default=None,
        metavar="SECONDS",
        help="wait before re-reading keys that differed (default: [reconcile].recheck_delay_seconds, 2)",
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=None,
        metavar="N",
        help="worker processes sharing the segments (default: one per CPU, at most one per segment; 1: threads only)",
    )
    parser.add_argument(
        "--allow-empty",
        action="store_true",
        help="reconcile even when DynamoDB holds no item of an entity whose PostgreSQL table has rows",
    )
    parser.add_argument(
        "--resume",
        nargs="?",
        const="latest",
        default=None,
        metavar="RUN_ID",
        help="resume an interrupted run (default: the latest unfinished)",
    )
    parser.add_argument(
        "--open", action="store_true", help="re-check only the keys of open and accepted discrepancies (no Scan)"
    )
    parser.add_argument("--keys", default=None, metavar="F.jsonl", help='re-check only these {"entity", "key"} lines')


def _validate(args: argparse.Namespace) -> None:
    if args.segments is not None and args.segments < 1:
        raise InputError(f"--segments must be at least 1, got {args.segments}")
    if args.segment is not None and args.total_segments is None:
        raise InputError("--segment needs --total-segments (e.g. --segment 0 --total-segments 4)")
    if args.total_segments is not None:
        if args.total_segments < 1:
            raise InputError(f"--total-segments must be at least 1, got {args.total_segments}")
        if args.segment is None:
            raise InputError("--total-segments needs --segment K (0 <= K < N)")
        if not 0 <= args.segment < args.total_segments:
            raise InputError(f"--segment {args.segment} is outside 0..{args.total_segments - 1}")
        if args.segments is not None:
            raise InputError("--segments and --segment/--total-segments exclude each other")
    if args.fail_under is not None and not 0 <= args.fail_under <= 100:
        raise InputError(f"--fail-under must be a percentage between 0 and 100, got {args.fail_under}")
    if args.max_rcu is not None and args.max_rcu <= 0:
        raise InputError(f"--max-rcu must be positive, got {args.max_rcu}")
    if args.max_listed is not None and args.max_listed < 0:
        raise InputError(f"--max-listed must be 0 or more, got {args.max_listed}")
    if args.processes is not None and args.processes < 1:
        raise InputError(f"--processes must be at least 1, got {args.processes}")
    if args.recheck_delay is not None and args.recheck_delay < 0:
        raise InputError(f"--recheck-delay must be 0 or more, got {args.recheck_delay}")
    if args.report:
        _check_report_path(Path(args.report))


def _check_report_path(path: Path) -> None:
    """Refuse a --report FILE that cannot be written before scanning, not after an hour of it."""
    folder = path.parent
    if path.is_dir():
        raise InputError(f"--report {path}: is a directory; name a file")
    if not folder.is_dir():
        raise InputError(f"--report {path}: directory {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise InputError(f"--report {path}: not writable by this user")


def run(args: argparse.Namespace, *, stop_after_pages: int | None = None) -> int:
    _validate(args)
    if getattr(args, "open", False) or getattr(args, "keys", None):
        from parity.reconciler.recheck_command import run_recheck

        return run_recheck(args)
    config = config_from(args)
    dsn = resolve_dsn(config)
    settings = config.reconcile
    with store_connection(config, MIGRATIONS) as (conn, store):
        for orphan in runs_store.mark_orphaned(conn, store):
            log.warning("reconcile run without a live process marked interrupted", run_id=orphan)
        require_tables(conn, config, args.config)
        run_id, total, mine = _plan(args, conn, store, settings.segments, config.dynamodb.table)
        options = ReconcileOptions(
            run_id=run_id,
            total_segments=total,
            segments=mine,
            page_size=settings.page_size,
            recheck_delay=settings.recheck_delay_seconds if args.recheck_delay is None else args.recheck_delay,
            max_rcu=args.max_rcu,
            max_listed=settings.max_listed if args.max_listed is None else args.max_listed,
            stop_after_pages=stop_after_pages,
            processes=args.processes or _cpus(),
            allow_empty=bool(getattr(args, "allow_empty", False)),
        )
        stop = threading.Event()
        progress = Progress()
        reconciler = Reconciler(config, dsn, options, stop=stop, progress=progress)
        reconciler.check_not_empty(conn)
        conn.commit()
        # from here on SIGTERM/SIGINT stop at the next safe point and the run is marked interrupted
        previous = _install_signals(stop)
        try:
            store.hold_run(conn, run_id)  # until this process ends, however it ends; before the row exists
            runs_store.create_run(conn, store, run_id, total, {"segments": total})
            runs_store.set_run_status(conn, store, run_id, "running")
            log.info("reconcile started", run_id=run_id, segments=list(mine), total_segments=total)
            display = ProgressDisplay(progress, reconciler.item_count, total_segments=len(mine))
            try:
                reconciler.run_segments(started=display.start)
            except BaseException:
                runs_store.set_run_status(conn, store, run_id, "failed")
                raise
            finally:
                display.stop()
                reconciler.join_early()
            if stop.is_set():
                runs_store.set_run_status(conn, store, run_id, "interrupted")
                log.warning("reconcile interrupted", run_id=run_id, items=progress.items)
                raise ReconcileInterrupted(
                    f"reconcile run '{run_id}' interrupted after {progress.items} items; progress is saved",
                    hint=f"resume with: parity reconcile --resume {run_id}",
                )
            report = reconciler.finish_if_complete(conn)
            if report is None:
                report = reconciler.report(conn, complete=False)
        finally:
            _restore_signals(previous)
    return _output(args, with_rules(report, config))


def with_rules(report: dict[str, Any], config: Any) -> dict[str, Any]:
    """The report with the per-column comparison rules in force (``compare``, ``normalize``,
    ``redact``), so that no rule is ever silent."""
    from parity.compare import column_rules

    rules = {e.name: column_rules(e) for e in config.entity if column_rules(e)}
    return {**report, "rules": rules}


def _cpus() -> int:
    """CPUs this process may run on (its affinity mask, e.g. an ECS task's cpuset)."""
    import os

    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _plan(
    args: argparse.Namespace, conn: Any, store: Any, default_segments: int, table: str
) -> tuple[str, int, list[int]]:
    """(run id, total segments, the segments this process scans)."""
    if args.resume is not None:
        run_id = runs_store.latest_unfinished(conn, store) if args.resume == "latest" else args.resume
        if run_id is None:
            raise InputError("--resume: there is no unfinished reconcile run to resume")
        info = runs_store.run_info(conn, store, run_id)
        if info is None:
            raise InputError(f"--resume: no reconcile run '{run_id}' in the store")
        total = int(info["total_segments"])
        if args.segment is not None:
            if args.total_segments != total:
                raise InputError(f"--resume: run '{run_id}' has {total} segments, not {args.total_segments}")
            return run_id, total, [args.segment]
        return run_id, total, list(range(total))
    if args.segment is not None:
        run_id = args.run_id or f"{table}-{datetime.now(UTC):%Y-%m-%d}-{args.total_segments}"
        return run_id, int(args.total_segments), [int(args.segment)]
    total = args.segments or default_segments
    run_id = args.run_id or f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"
    return run_id, total, list(range(total))


def _install_signals(stop: threading.Event) -> dict[int, Any]:
    previous: dict[int, Any] = {}
    if threading.current_thread() is not threading.main_thread():
        return previous

    def handler(signum: int, frame: FrameType | None) -> None:
        log.warning("signal received; finishing the current pages", signal=signal.Signals(signum).name)
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        previous[sig] = signal.signal(sig, handler)
    return previous


def _restore_signals(previous: dict[int, Any]) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)


def _output(args: argparse.Namespace, report: dict[str, Any]) -> int:
    if args.report:
        write_report(Path(args.report), report)
    if args.json:
        print_json(report)
    else:
        sys.stdout.write(summary_text(report, args.report))
        rules = "; ".join(
            f"{entity}.{column} " + ", ".join(f"{k}={v}" for k, v in rule.items())
            for entity, columns in report.get("rules", {}).items()
            for column, rule in columns.items()
        )
        sys.stdout.write(f"Column rules in force: {rules}\n" if rules else "")
        sys.stdout.flush()
    if args.fail_under is not None and report.get("complete") and report["parity_percent"] < args.fail_under:
        log.warning("parity below threshold", parity_percent=report["parity_percent"], fail_under=args.fail_under)
        return 1
    return 0


__all__ = ["add_arguments", "run"]
