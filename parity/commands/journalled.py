"""What the journalled commands (``parity replay``, ``parity repair``; :mod:`parity.journal`) share on
the command line: ``--apply`` and ``--json``, which keys a run considers (``--entity``, ``--keys``,
``--exclude``), ``--undo RUN_ID`` and ``--runs``; their checks, the refusal of a plan with keys that
cannot be written, the apply under signals and the listing of runs."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from parity.commands.common import print_json
from parity.config import ParityConfig
from parity.errors import InputError
from parity.journal import Applied, RunKind, Undone
from parity.keyfile import read_key_file
from parity.mapping import key_text
from parity.pg import Connection
from parity.plans import Step
from parity.signals import stop_signals
from parity.store import Store, stored_json
from parity.store.journal import RUN_FIELDS

KeySet = frozenset[tuple[str, str]]
Progress = Callable[[int, int], None]
T = TypeVar("T")


def add_plan_arguments(parser: argparse.ArgumentParser) -> None:
    """``--apply`` (a dry run without it) and ``--json``."""
    parser.add_argument("--apply", action="store_true", help="write the plan (default: dry run, prints it)")
    parser.add_argument("--json", action="store_true", help="print the JSON summary (docs/reference.md) with the plan")


def add_key_arguments(parser: argparse.ArgumentParser, *, keys: bool) -> None:
    """``--entity NAME`` (repeatable), ``--keys FILE`` when ``keys``, ``--exclude FILE``."""
    parser.add_argument("--entity", action="append", default=[], metavar="NAME", help="only this entity (repeatable)")
    if keys:
        parser.add_argument(
            "--keys", default=None, metavar="FILE", help='only these keys: JSON lines or a list of {"entity", "key"}'
        )
    parser.add_argument(
        "--exclude",
        default=None,
        metavar="FILE",
        help='leave these keys out: JSON lines or a JSON list of {"entity": ..., "key": {...}}'
        " (a reviewed dry run's plan entries work)",
    )


def add_run_arguments(parser: argparse.ArgumentParser, kind: RunKind, undoes: str) -> None:
    """``--undo RUN_ID`` (which restores ``undoes``) and ``--runs``."""
    parser.add_argument("--undo", default=None, metavar="RUN_ID", help=f"restore {undoes}")
    parser.add_argument("--runs", action="store_true", help=f"list the {kind.name} runs recorded in the store")


def check_selection(args: argparse.Namespace, config: ParityConfig, *, not_with_undo: Sequence[str]) -> None:
    """Every ``--entity`` names one of the config's; ``--undo`` comes without the options ``not_with_undo``."""
    names = [e.name for e in config.entity]
    for name in args.entity:
        if name not in names:
            raise InputError(f"--entity {name!r}: no such entity in {args.config} (entities: {', '.join(names)})")
    if args.undo is not None and any(getattr(args, option[2:].replace("-", "_")) for option in not_with_undo):
        either = (
            f"{', '.join(not_with_undo[:-1])} or {not_with_undo[-1]}" if len(not_with_undo) > 1 else not_with_undo[0]
        )
        raise InputError(f"--undo RUN_ID cannot be combined with {either}")


def selected_keys(args: argparse.Namespace, config: ParityConfig) -> tuple[KeySet | None, KeySet]:
    """The keys of ``--keys`` (None without it: every key) and those of ``--exclude``, as (entity, key id)."""
    only = vars(args).get("keys")
    return (
        None if only is None else read_key_file(only, config, "--keys"),
        read_key_file(args.exclude, config, "--exclude") if args.exclude else frozenset(),
    )


def refuse_unwritable(steps: Sequence[Step[Any]], target: str, fix: str, action: str) -> None:
    """``--apply`` writes nothing while the plan holds keys that cannot be written to ``target``
    (the steps of ``action``): InputError naming how many, the first and why, ``fix`` and how to go on."""
    if not steps:
        return
    first = steps[0]
    raise InputError(
        f"{len(steps)} key(s) cannot be written to {target}, e.g. {first.entity} {key_text(first.key_json)}:"
        f" {first.decision.reason}; nothing was written",
        hint=f"{fix}, or leave them out with --exclude FILE (the dry run's --json plan entries of action '{action}')",
    )


def apply_in_foreground(
    apply: Callable[[Progress | None, Callable[[], bool]], T], *, quiet: bool, doing: str, unit: str
) -> T:
    """``apply(progress, should_stop)``: SIGTERM and SIGINT ask it to stop after the batch in hand
    (:func:`parity.signals.stop_signals`), and on a terminal, unless ``quiet`` (``--json``), a line
    counts the ``unit`` done (``replaying: 500/2000 rows``)."""
    progress: Progress | None = None
    if sys.stderr.isatty() and not quiet:

        def progress(done: int, total: int) -> None:
            sys.stderr.write(f"\r{doing}: {done}/{total} {unit}")
            sys.stderr.flush()

    with stop_signals() as stopped:
        result = apply(progress, stopped.is_set)
    if progress is not None:
        sys.stderr.write("\n")
    return result


def print_ending(
    kind: RunKind,
    applied: Applied | None,
    *,
    dry_run: bool,
    totals: str,
    has_changes: bool,
    changes: str,
    written: str,
    unverified: str,
    remaining: int = 0,
) -> None:
    """The last lines of a plan's text output: the dry run's ``totals`` (and, when it ``has_changes``,
    how to write ``changes``), that there was nothing to write, or what the run wrote (``written``),
    resolved and left ``unverified``, and how to undo it; ``remaining`` changes wait for a later run."""
    if dry_run:
        print(f"{kind.name} plan (dry run): {totals}")
        if remaining:
            print(f"{remaining} more change(s) wait for a later run (--max-rows)")
        if has_changes:
            print(f"nothing was written; run again with --apply to write {changes}")
        return
    if applied is None:
        print(f"nothing to {kind.name}: {totals}")
        return
    resolved = f"{applied.resolved} discrepanc{'y' if applied.resolved == 1 else 'ies'} resolved"
    print(f"{kind.name} run {applied.run_id}: {written}; {resolved}")
    if applied.unverified:
        print(f"warning: {len(applied.unverified)} {unverified}", file=sys.stderr)
    if remaining:
        print(f"{remaining} more change(s) wait for the next run (--max-rows)")
    print(f"undo with: parity {kind.name} --undo {applied.run_id}")


def print_undone(undone: Undone, kind: RunKind, written: str, as_json: bool) -> int:
    """``--undo``'s answer: its JSON, or a line of counts and a line per write left alone;
    ``written`` names what the command writes ("row", "item")."""
    if as_json:
        print_json(undone.summary())
        return 0
    reopened = f"{undone.reopened} discrepanc{'y' if undone.reopened == 1 else 'ies'}"
    print(
        f"undid {kind.name} run {undone.run_id}: {undone.restored} {written}(s) restored,"
        f" {undone.skipped_changed_since} left alone (changed since the {kind.name}),"
        f" {undone.already_undone} already undone; {reopened} it had resolved open again"
    )
    for left in undone.left_alone:
        print(f"  left alone  {left['entity']:<12} {key_text(left['key'])}  {left['reason']}")
    return 0


def print_runs(conn: Connection, store: Store, kind: RunKind, as_json: bool, fields: Sequence[str] = RUN_FIELDS) -> int:
    """``--runs``: the runs oldest first, as JSON objects of ``fields`` or a line each."""
    runs = store.journal_runs(conn, kind.name)
    if as_json:
        print_json([{name: r[name] for name in fields} for r in runs])
    elif not runs:
        print(f"no {kind.name} runs yet")
    else:
        for r in runs:
            done = ", ".join(f"{k.replace('_', ' ')} {stored_json(v)}" for k, v in r["summary"].items())
            print(f"{r['run_id']}  {r['status']:<9} started {r['started_at'].isoformat(timespec='seconds')}  {done}")
    return 0
