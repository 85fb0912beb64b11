"""What the journalled commands (``parity replay``, ``parity repair``; :mod:`parity.journal`) share on
the command line: which keys a run considers (``--entity``, ``--keys``, ``--exclude``), ``--undo
RUN_ID`` and ``--runs``, their checks and the listing of runs."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from parity.commands.common import print_json
from parity.config import ParityConfig
from parity.errors import InputError
from parity.journal import RunKind
from parity.keyfile import read_key_file
from parity.pg import Connection
from parity.store import Store, stored_json
from parity.store.journal import RUN_FIELDS

KeySet = frozenset[tuple[str, str]]


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
