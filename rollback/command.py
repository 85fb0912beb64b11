"""``parity replay``: copy writes that reached DynamoDB only into PostgreSQL (dry run by default).

    parity replay                       # the plan: keys, action, changed columns, where found
    parity replay --apply               # write it, version-guarded and journalled; prints RUN_ID
    parity replay --undo RUN_ID         # put back what that run changed
    parity replay --runs                # the replay runs recorded in the store

JSON (``--json``): ``{"planned", "applied", "skipped_newer_in_postgres", "deletes", ...}``.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from parity.commands import journalled
from parity.commands.common import config_from, print_json
from parity.config import ParityConfig
from parity.dynamo import client
from parity.dynamo_reads import key_schema
from parity.errors import InputError
from parity.mapping import key_text
from parity.pg import Connection, connect, resolve_dsn
from parity.rollback import review
from parity.rollback.apply import REPLAY, Applied, apply_plan, new_run_id
from parity.rollback.candidates import Candidate, SourceName
from parity.rollback.plan import Action
from parity.rollback.planner import Plan, ReplayOptions, build_plan
from parity.rollback.sources import from_archive, from_discrepancies, from_stream
from parity.rollback.undo import undo_run
from parity.rollback.writer import check_privileges
from parity.store import Store
from parity.store.journal import RUN_FIELDS
from parity.stream.shards import StreamReader, stream_arn_of
from parity.telemetry import get_logger

log = get_logger("rollback.command")


_SKIP_WORDS = {
    Action.SKIP_NEWER_IN_POSTGRES: "newer in PostgreSQL, left alone",
    Action.SKIP_CONFLICT: "same version, different values: not replayed without --include-conflicts",
    Action.SKIP_DELETE_EXCLUDED: "deleted in DynamoDB only: not replayed without --include-deletes",
    Action.SKIP_TTL_DELETE: "expired by DynamoDB TTL: never replayed as a delete",
    Action.SKIP_GONE: "item gone, no stream record of its delete: left alone",
    Action.UNSTORABLE: "cannot be written to PostgreSQL",
}


EXAMPLES = """\
examples:
  parity replay                             # the plan (dry run)
  parity replay --apply --include-deletes   # write it; prints the RUN_ID to undo it
  parity replay --undo RUN_ID
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    journalled.add_plan_arguments(parser)
    parser.add_argument(
        "--from-stream", action="store_true", help="also read the stream window still retained (writes never checked)"
    )
    parser.add_argument("--include-deletes", action="store_true", help="replay deletes made in DynamoDB only")
    parser.add_argument(
        "--include-conflicts",
        action="store_true",
        help="also overwrite rows that hold the same version as the item with different values",
    )
    journalled.add_key_arguments(parser, keys=False)
    parser.add_argument("--max-rows", type=int, default=None, metavar="N", help="change at most N rows in this run")
    parser.add_argument("--batch-size", type=int, default=500, metavar="N", help="rows per transaction (default 500)")
    parser.add_argument(
        "--plan",
        default=None,
        metavar="FILE",
        help="apply only the changes of this reviewed dry run (parity replay --json > FILE), each judged again;"
        " the rest are counted as not_in_plan",
    )
    journalled.add_run_arguments(parser, REPLAY, "the rows a replay run changed")


def _validate(args: argparse.Namespace, config: ParityConfig) -> None:
    if args.max_rows is not None and args.max_rows < 1:
        raise InputError(f"--max-rows {args.max_rows}: must be at least 1")
    if args.batch_size < 1:
        raise InputError(f"--batch-size {args.batch_size}: must be at least 1")
    journalled.check_selection(args, config, not_with_undo=("--apply", "--from-stream", "--runs"))
    if args.plan is not None and args.from_stream:
        raise InputError("--plan FILE takes its keys from the reviewed plan; drop --from-stream")


def run(args: argparse.Namespace) -> int:
    config = config_from(args)
    _validate(args, config)
    entities = [e for e in config.entity if not args.entity or e.name in args.entity]
    conn = connect(resolve_dsn(config))
    try:
        store = Store(config.postgres.store_schema)
        if not args.runs:
            # before planning and before touching the store: a role that cannot write is refused now
            check_privileges(conn, entities, deletes=args.include_deletes or args.undo is not None)
        store.migrate(conn)
        if args.runs:  # the shape replay's --runs --json always had: no undone_at
            return journalled.print_runs(conn, store, REPLAY, args.json, [f for f in RUN_FIELDS if f != "undone_at"])
        if args.undo is not None:
            undone = undo_run(conn, store, config, args.undo, batch_size=args.batch_size)
            return journalled.print_undone(undone, REPLAY, "row", args.json)
        return _replay(args, config, conn, store)
    finally:
        conn.close()


def _replay(args: argparse.Namespace, config: ParityConfig, conn: Connection, store: Store) -> int:
    options = ReplayOptions(
        include_deletes=args.include_deletes,
        include_conflicts=args.include_conflicts,
        from_stream=args.from_stream,
        max_rows=args.max_rows,
        entities=tuple(args.entity),
        exclude=journalled.selected_keys(args, config)[1],
    )
    dynamodb = client(config.dynamodb)
    schema = key_schema(dynamodb, config.dynamodb.table)
    stream_records = 0
    reviewed = None if args.plan is None else review.read_reviewed(args.plan, config)
    groups = {
        SourceName.DISCREPANCY: from_discrepancies(conn, store, config.entity),
        SourceName.ARCHIVE: from_archive(conn, store, config.entity, schema),
    }
    if reviewed is not None:
        # the reviewed keys, plus what the store knows (cheap), so that a change nobody reviewed is
        # counted as not_in_plan; the stream window, minutes on a busy table, is not read again
        groups[review.SOURCE] = review.candidates(reviewed, config)
    elif options.from_stream:
        groups[SourceName.STREAM], stream_records = _stream_candidates(config, dynamodb, schema)
    plan = build_plan(conn, dynamodb, config, groups, schema, options)
    not_in_plan: list[review.NotInPlan] = []
    if reviewed is not None:
        plan, not_in_plan = review.bind(plan, reviewed)
    if args.apply:
        journalled.refuse_unwritable(
            plan.unstorable, "PostgreSQL", "fix the mapping (docs/configuration.md)", "unstorable"
        )
    applied: Applied | None = None
    if args.apply and plan.changes:
        applied = journalled.apply_in_foreground(
            lambda progress, should_stop: apply_plan(
                conn,
                store,
                config,
                plan,
                options,
                run_id=new_run_id(),
                batch_size=args.batch_size,
                progress=progress,
                should_stop=should_stop,
            ),
            quiet=args.json,
            doing="replaying",
            unit="rows",
        )
    summary = _summary(plan, applied, dry_run=not args.apply, stream_records=stream_records)
    if reviewed is not None:
        summary["not_in_plan"] = len(not_in_plan)
        summary["not_in_plan_keys"] = [
            {"entity": n.step.entity, "key": n.step.key_json, "action": str(n.step.action), "reason": n.reason}
            for n in not_in_plan
        ]
    if args.json:
        print_json(summary)
    else:
        _print_plan(plan, applied, summary, dry_run=not args.apply)
        for left in not_in_plan:
            print(f"  left    {left.step.entity:<12} {key_text(left.step.key_json)}  {left.reason}")
        if reviewed is not None:
            print(
                f"bound to the reviewed plan {args.plan}: {len(not_in_plan)} change(s) not in it left for another"
                " review (not_in_plan)"
            )
    return 0


def _stream_candidates(config: ParityConfig, dynamodb: Any, schema: list[str]) -> tuple[list[Candidate], int]:
    arn = stream_arn_of(dynamodb, config.dynamodb.table)
    if arn is None:
        raise InputError(f"--from-stream: table {config.dynamodb.table!r} has no stream enabled")
    reader = StreamReader(client(config.dynamodb, "dynamodbstreams"), arn, refresh_seconds=3600)
    window = from_stream(reader, config.entity, schema)
    return window.candidates, window.records


def _summary(plan: Plan, applied: Applied | None, *, dry_run: bool, stream_records: int) -> dict[str, Any]:
    changes = plan.changes
    skipped_newer = plan.count(Action.SKIP_NEWER_IN_POSTGRES)
    if applied is not None:
        skipped_newer += applied.skipped_newer_in_postgres
    return {
        "planned": len(changes),
        "applied": 0 if applied is None else applied.applied,
        "skipped_newer_in_postgres": skipped_newer,
        "deletes": sum(1 for s in changes if s.action is Action.DELETE) if applied is None else applied.deleted,
        "dry_run": dry_run,
        "run_id": None if applied is None else applied.run_id,
        "inserts": sum(1 for s in changes if s.action is Action.INSERT),
        "updates": sum(1 for s in changes if s.action is Action.UPDATE),
        "remaining": plan.remaining,
        "excluded": plan.excluded,
        "skipped": {
            str(action).removeprefix("skip_"): plan.count(action)
            for action in Action
            if not action.writes and action is not Action.SKIP_NEWER_IN_POSTGRES
        },
        "resolved": 0 if applied is None else applied.resolved,
        "unverified": [] if applied is None else applied.unverified,
        "sources": {**plan.sources, "stream_records": stream_records, "found_by_scan": plan.scanned_for_keys},
        "plan": [
            {
                "entity": s.entity,
                "key": s.key_json,
                "action": str(s.action),
                "columns": list(s.decision.columns),
                "sources": sorted(s.sources),
                **({"reason": s.decision.reason} if s.decision.reason else {}),
                **({"values": s.values} if s.values else {}),
                **({"item_key": s.item_key} if s.item_key else {}),
            }
            for s in plan.steps
            if s.action is not Action.SKIP_EQUAL
        ],
    }


def _print_plan(plan: Plan, applied: Applied | None, summary: dict[str, Any], *, dry_run: bool) -> None:
    shown = [s for s in plan.steps if s.action is not Action.SKIP_EQUAL]
    for step in shown:
        key = key_text(step.key_json)
        if step.action.writes:
            columns = f"  [{', '.join(step.decision.columns)}]" if step.decision.columns else ""
            marker = "" if plan.is_change(step) else "  (over --max-rows: next run)"
            print(f"  {step.action:<7} {step.entity:<12} {key}{columns}{marker}")
            if step.action is Action.UPDATE:  # what the reviewer must see: a value about to turn empty
                for column, change in step.values.items():
                    print(f"          {column}: {_shown(change['old'])} -> {_shown(change['new'])}")
        else:
            columns = f" [{', '.join(step.decision.columns)}]" if step.decision.columns else ""
            word = "error" if step.action is Action.UNSTORABLE else "skip"
            why = f": {step.decision.reason}" if step.decision.reason else ""
            print(f"  {word:<7} {step.entity:<12} {key}  {_SKIP_WORDS.get(step.action, step.action)}{why}{columns}")
    equal = plan.count(Action.SKIP_EQUAL)
    head = (
        f"{summary['planned']} change(s): {summary['inserts']} insert(s), {summary['updates']} update(s),"
        f" {sum(1 for s in plan.changes if s.action is Action.DELETE)} delete(s)"
    )
    tail = (
        f"; {summary['skipped_newer_in_postgres']} newer in PostgreSQL left alone;"
        f" {equal} already equal in both stores (nothing to write)"
    )
    if plan.unstorable:
        print(
            f"{len(plan.unstorable)} key(s) cannot be written (see 'error' above): --apply refuses until the"
            " mapping is fixed or they are left out with --exclude FILE"
        )
    if plan.excluded:
        print(f"{plan.excluded} key(s) left out by --exclude")
    newer_in_dynamodb = sum(1 for s in plan.steps if s.action is Action.UPDATE)
    print(
        f"which side is newer: {newer_in_dynamodb} update(s) newer in DynamoDB (replayed),"
        f" {plan.count(Action.SKIP_NEWER_IN_POSTGRES)} newer in PostgreSQL (left alone),"
        f" {plan.count(Action.SKIP_CONFLICT)} same version with different values (--include-conflicts)"
    )
    written = (
        ""
        if applied is None
        else f"{applied.applied} row(s) written ({applied.inserted} inserted, {applied.updated} updated,"
        f" {applied.deleted} deleted); {summary['skipped_newer_in_postgres']} newer in PostgreSQL left alone"
    )
    journalled.print_ending(
        REPLAY,
        applied,
        dry_run=dry_run,
        totals=f"{head}{tail}",
        has_changes=bool(plan.changes),
        changes="these changes",
        written=written,
        unverified="replayed key(s) did not match their item when read back",
        remaining=plan.remaining,
    )


def _shown(value: Any) -> str:
    """A plan value as the reviewer reads it: JSON (strings quoted, so an empty string is visible)."""
    return json.dumps(value, ensure_ascii=False, default=str)
