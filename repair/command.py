"""``parity repair``: rewrite DynamoDB items from their PostgreSQL rows (dry run by default).

    parity repair                       # the plan: keys, action, changed columns
    parity repair --apply               # write it, version-guarded and journalled; prints RUN_ID
    parity repair --undo RUN_ID         # put back what that run wrote
    parity repair --runs                # the repair runs recorded in the store

JSON (``--json``): ``{"run_id", "planned", "applied", "skipped_newer_in_dynamodb", "deletes", ...}``.
"""

from __future__ import annotations

import argparse
from typing import Any

from parity.commands import journalled
from parity.commands.common import config_from, print_json
from parity.config import ParityConfig
from parity.dynamo import client
from parity.dynamo_reads import key_schema
from parity.errors import InputError
from parity.mapping import key_text
from parity.pg import connect, resolve_dsn
from parity.repair.apply import REPAIR, Applied, Settings, apply_plan
from parity.repair.permissions import check_write_permissions
from parity.repair.plan import Action
from parity.repair.planner import Plan, RepairOptions, build_plan
from parity.repair.undo import undo_run
from parity.repair.writer import CapacityBudget, Writer
from parity.store import Store

_SKIP_WORDS = {
    Action.SKIP_NEWER_IN_DYNAMODB: "newer in DynamoDB (the app wrote since), left alone",
    Action.SKIP_DELETE_EXCLUDED: "row gone: the item is deleted only with --include-deletes",
    Action.UNBUILDABLE: "cannot be written to DynamoDB",
}


EXAMPLES = """\
examples:
  parity repair                             # the plan (dry run): which items would be rewritten from rows
  parity repair --apply --max-wcu 200       # write it; prints the RUN_ID to undo it with --undo
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    journalled.add_plan_arguments(parser)
    parser.add_argument(
        "--include-deletes",
        action="store_true",
        help="also delete the items of rows that are gone (missing_in_postgres) and the items"
        " rows that moved to another key left at their old keys",
    )
    journalled.add_key_arguments(parser, keys=True)
    parser.add_argument(
        "--max-wcu",
        type=float,
        default=None,
        metavar="N",
        help="spend at most N write units a second (default: no limit)",
    )
    parser.add_argument("--concurrency", type=int, default=16, metavar="N", help="writes in flight (default 16)")
    parser.add_argument(
        "--batch-puts",
        action="store_true",
        help="puts of missing items in BatchWriteItem, without the absent-item condition:"
        " only while the app does not write these keys",
    )
    journalled.add_run_arguments(parser, REPAIR, "the items a repair run wrote")


def _validate(args: argparse.Namespace, config: ParityConfig) -> None:
    if args.max_wcu is not None and args.max_wcu <= 0:
        raise InputError(f"--max-wcu {args.max_wcu}: must be more than 0")
    if args.concurrency < 1:
        raise InputError(f"--concurrency {args.concurrency}: must be at least 1")
    journalled.check_selection(args, config, not_with_undo=("--apply", "--runs"))


def _writer(dynamodb: Any, config: ParityConfig, args: argparse.Namespace) -> Writer:
    return Writer(dynamodb, config.dynamodb.table, budget=CapacityBudget(args.max_wcu))


def run(args: argparse.Namespace) -> int:
    config = config_from(args)
    _validate(args, config)
    only, exclude = journalled.selected_keys(args, config)
    options = RepairOptions(
        include_deletes=args.include_deletes, entities=tuple(args.entity), only=only, exclude=exclude
    )
    conn = connect(resolve_dsn(config))
    try:
        store = Store(config.postgres.store_schema)
        store.migrate(conn)
        if args.runs:
            return journalled.print_runs(conn, store, REPAIR, args.json)
        # the writer's client retries throttling itself (counted, with backoff): botocore does not
        dynamodb = client(config.dynamodb, max_pool=max(32, args.concurrency * 2))
        writes = client(config.dynamodb, max_pool=max(32, args.concurrency * 2), max_attempts=0)
        table = config.dynamodb.table
        schema = key_schema(dynamodb, table)
        writer = _writer(writes, config, args)
        if args.undo is not None:
            check_write_permissions(writer, ["PutItem", "UpdateItem", "DeleteItem"])
            undone = undo_run(conn, store, writer, config, schema, args.undo)
            return journalled.print_undone(undone, REPAIR, "item", args.json)
        if args.apply:
            actions = ["PutItem", "UpdateItem"]
            actions += ["DeleteItem"] if args.include_deletes else []
            actions += ["BatchWriteItem"] if args.batch_puts else []
            check_write_permissions(writer, actions)
        plan = build_plan(conn, store, dynamodb, config, schema, options)
        if args.apply:
            journalled.refuse_unwritable(plan.unbuildable, "DynamoDB", "fix the row or the mapping", "unbuildable")
        applied: Applied | None = None
        if args.apply and plan.changes:
            settings = Settings(concurrency=args.concurrency, batch_puts=args.batch_puts)
            applied = journalled.apply_in_foreground(
                lambda progress, should_stop: apply_plan(
                    conn,
                    store,
                    dynamodb,
                    writer,
                    config,
                    schema,
                    plan,
                    options,
                    settings,
                    run_id=REPAIR.new_run_id(),
                    progress=progress,
                    should_stop=should_stop,
                ),
                quiet=args.json,
                doing="repairing",
                unit="items",
            )
        summary = _summary(plan, applied, dry_run=not args.apply)
        if args.json:
            print_json(summary)
        else:
            _print_plan(plan, applied, summary, dry_run=not args.apply)
        return 0
    finally:
        conn.close()


def _summary(plan: Plan, applied: Applied | None, *, dry_run: bool) -> dict[str, Any]:
    changes = plan.changes
    newer = plan.count(Action.SKIP_NEWER_IN_DYNAMODB) + (0 if applied is None else applied.skipped_newer_in_dynamodb)
    return {
        "run_id": None if applied is None else applied.run_id,
        "planned": len(changes),
        "applied": 0 if applied is None else applied.applied,
        "skipped_newer_in_dynamodb": newer,
        "deletes": plan.count(Action.DELETE) if applied is None else applied.deleted,
        "dry_run": dry_run,
        "puts": plan.count(Action.PUT) if applied is None else applied.put,
        "updates": plan.count(Action.UPDATE) if applied is None else applied.updated,
        "skipped_equal": plan.count(Action.SKIP_EQUAL),
        "skipped_delete_excluded": plan.count(Action.SKIP_DELETE_EXCLUDED),
        "unbuildable": len(plan.unbuildable),
        "excluded": plan.excluded,
        "found_by_scan": plan.found_by_scan,
        "resolved": 0 if applied is None else applied.resolved,
        "unverified": [] if applied is None else applied.unverified,
        "throttled_retries": 0 if applied is None else applied.throttled,
        "write_units": 0 if applied is None else applied.units,
        "plan": [
            {
                "entity": s.entity,
                "key": s.key_json,
                "kind": s.kind,
                "action": str(s.action),
                "columns": list(s.decision.columns),
                **({"attributes": list(s.decision.attributes)} if s.decision.attributes else {}),
                **({"reason": s.decision.reason} if s.decision.reason else {}),
                **({"item_key": dict(s.item_key)} if s.left_behind and s.item_key else {}),
            }
            for s in plan.steps
            if s.action is not Action.SKIP_EQUAL
        ],
    }


def _print_plan(plan: Plan, applied: Applied | None, summary: dict[str, Any], *, dry_run: bool) -> None:
    for step in plan.steps:
        if step.action is Action.SKIP_EQUAL:
            continue
        key = key_text(step.key_json)
        listed = [*step.decision.columns, *step.decision.attributes]
        columns = f"  [{', '.join(listed)}]" if listed else ""
        if step.action.writes:
            note = f"  note: {step.decision.reason}" if step.decision.reason else ""
            print(f"  {step.action:<7} {step.entity:<12} {key}{columns}{note}")
        else:
            word = "error" if step.action is Action.UNBUILDABLE else "skip"
            why = f": {step.decision.reason}" if step.decision.reason else ""
            print(f"  {word:<7} {step.entity:<12} {key}  {_SKIP_WORDS.get(step.action, step.action)}{why}{columns}")
    head = (
        f"{summary['planned']} write(s): {summary['puts']} put(s), {summary['updates']} update(s),"
        f" {summary['deletes']} delete(s)"
    )
    tail = (
        f"; {summary['skipped_newer_in_dynamodb']} newer in DynamoDB left alone;"
        f" {summary['skipped_equal']} already equal"
    )
    if plan.unbuildable:
        print(
            f"{len(plan.unbuildable)} key(s) cannot be written (see 'error' above): --apply refuses until they are"
            " fixed or left out with --exclude FILE"
        )
    if plan.excluded:
        print(f"{plan.excluded} key(s) left out by --exclude")
    written = (
        ""
        if applied is None
        else f"{applied.applied} item(s) written ({applied.put} put, {applied.updated} updated,"
        f" {applied.deleted} deleted); {summary['skipped_newer_in_dynamodb']} newer in DynamoDB left alone"
    )
    journalled.print_ending(
        REPAIR,
        applied,
        dry_run=dry_run,
        totals=f"{head}{tail}",
        has_changes=bool(plan.changes),
        changes="these items",
        written=written,
        unverified="repaired key(s) did not match their row when read back",
    )
