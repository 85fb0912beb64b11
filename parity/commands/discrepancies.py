"""``parity discrepancies``: what the checkers found, with what each store holds; and triage.

``parity discrepancies`` lists (filters ``--status``, ``--entity``, ``--kind``, ``--key``);
``parity discrepancies accept`` marks known, tolerated differences accepted with a note, and
``parity discrepancies reopen`` undoes that. Triage of several keys (``--file``) is all or nothing.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from parity.commands.common import config_from, print_json, store_connection
from parity.compare import DISCREPANCY_KINDS
from parity.config import ParityConfig
from parity.errors import InputError
from parity.jsontext import dumps_exact
from parity.keyfile import key_lines
from parity.mapping import key_from_json, key_text, key_to_json
from parity.store import workflow

STATUSES = ("open", "accepted", "resolved", "all")

EXAMPLES = """\
examples:
  parity discrepancies                      # the open ones, with what each store holds
  parity discrepancies --status all --json
  parity discrepancies accept --entity session --key '{"id": "4f1c..."}' --note "known: trimmed by the app"
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "action", nargs="?", choices=["accept", "reopen"], help="accept or reopen discrepancies (default: list them)"
    )
    parser.add_argument("--status", choices=STATUSES, default="open", help="which to list (default: open)")
    parser.add_argument("--entity", metavar="E", help="only this entity")
    parser.add_argument("--kind", choices=[str(k) for k in DISCREPANCY_KINDS], help="only this kind")
    parser.add_argument("--key", metavar="JSON", help='only this key, e.g. \'{"id": "4f1c..."}\' (needs --entity)')
    parser.add_argument("--note", metavar="TEXT", help="accept: why this difference is tolerated")
    parser.add_argument("--by", metavar="WHO", help="accept: who decided (default: the OS user)")
    parser.add_argument("--file", metavar="F.jsonl", help='accept/reopen: lines of {"entity", "key", "note"}')
    parser.add_argument("--json", action="store_true", help="print the JSON list (docs/reference.md)")


def run(args: argparse.Namespace) -> int:
    config = config_from(args)
    if args.action is not None:
        return _triage(args, config)
    key = None
    if args.key is not None:
        if args.entity is None:
            raise InputError("--key needs --entity (a key belongs to one entity)")
        key = parse_key(config, args.entity, args.key, "--key")
    elif args.entity is not None:
        _entity(config, args.entity, "--entity")
    with store_connection(config) as (conn, store):
        found = store.list_discrepancies(conn, args.status, entity=args.entity, kind=args.kind, key=key)
    if args.json:
        print_json(found)
        return 0
    print_table(found, args.status)
    return 0


# --- the text table ----------------------------------------------------------------------------

_WIDTH = 100


def print_table(found: list[dict[str, Any]], status: str) -> None:
    """One line per discrepancy, then what each store holds (and the note), indented under it."""
    if not found:
        print(f"no {status if status != 'all' else ''} discrepancies".replace("  ", " "))
        return
    header = ("entity", "kind", "status", "found by", "last seen (UTC)")
    rows = [(d["entity"], d["kind"], d["status"], d["detected_by"], _when(d["last_seen"])) for d in found]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    print("  ".join(f"{cell:<{width}}" for cell, width in zip(header, widths, strict=True)) + "  key  [columns]")
    for d, row in zip(found, rows, strict=True):
        columns = f"  [{', '.join(d['columns'])}]" if d["columns"] else ""
        head = "  ".join(f"{cell:<{width}}" for cell, width in zip(row, widths, strict=True))
        print(f"{head}  {key_text(d['key'])}{columns}")
        for line in value_lines(d["kind"], d.get("values") or {}):
            print(f"    {line}")
        if d.get("note"):
            by = f" ({d['accepted_by']})" if d.get("accepted_by") else ""
            print(f"    note{by}: {d['note']}")
    counts: dict[str, int] = {}
    for d in found:
        counts[d["status"]] = counts.get(d["status"], 0) + 1
    detail = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    print(f"{len(found)} discrepanc{'y' if len(found) == 1 else 'ies'} ({detail})")


def _when(value: Any) -> str:
    """A timestamp in UTC to the second: it fits its column (the JSON keeps the full value)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    return str(value)[:19].replace("T", " ")


def value_lines(kind: str, values: dict[str, Any]) -> Iterator[str]:
    """What each store holds, as short text lines: ``column: dynamodb=V postgres=V`` for a mismatch,
    ``dynamodb: col=V, ...`` (or ``postgres:``) for a missing one."""
    if kind == "mismatched":
        for column, pair in values.items():
            a, b = _from_difference(_show(pair.get("dynamodb")), _show(pair.get("postgres")))
            left, right = f"dynamodb={a}", f"postgres={b}"
            line = f"{column}: {left}  {right}"
            if len(line) <= _WIDTH:
                yield line
            else:  # long values: one side per line, each clipped on its own
                yield _clip(f"{column}: {left}")
                yield _clip(f"{' ' * len(column)}  {right}")
        return
    for side, columns in values.items():
        shown = ", ".join(f"{c}={_show(v)}" for c, v in columns.items())
        yield _clip(f"{side}: {shown}")


def _from_difference(a: str, b: str, context: int = 24) -> tuple[str, str]:
    """Two long texts that start alike, both cut to start shortly before they differ (``…`` marks
    the cut), so the difference shows within the line."""
    same = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        same += 1
    if same <= context + 8 or len(a) + len(b) < _WIDTH - 30:
        return a, b
    start = same - context
    return "…" + a[start:], "…" + b[start:]


def _show(value: Any) -> str:
    return dumps_exact(value) if not isinstance(value, str) or not value.startswith("redacted:") else value


def _clip(text: str) -> str:
    return text if len(text) <= _WIDTH else text[: _WIDTH - 1] + "…"


# --- triage --------------------------------------------------------------------------------------


def _triage(args: argparse.Namespace, config: ParityConfig) -> int:
    wanted = list(_wanted(args, config))
    by = args.by or _os_user()
    now = datetime.now(UTC)
    done = 0
    with store_connection(config) as (conn, store):
        for entity, key, note, where in wanted:
            if args.action == "accept":
                before = workflow.accept(conn, store, entity, key, note or "", by, now)
                if before not in ("open", "accepted"):
                    conn.rollback()
                    what = "has no discrepancy" if before is None else f"is {before}, not open"
                    raise InputError(f"{where}: {entity} {dumps_exact(key)} {what}; nothing was accepted")
            elif not workflow.reopen(conn, store, entity, key, by):
                before = workflow.status_of(conn, store, entity, key)
                conn.rollback()
                what = "has no discrepancy" if before is None else f"is {before}, not accepted"
                raise InputError(f"{where}: {entity} {dumps_exact(key)} {what}; nothing was reopened")
            done += 1
        conn.commit()
    verb = "accepted" if args.action == "accept" else "reopened"
    if args.json:
        print_json({verb: done})
    else:
        print(f"{verb} {done} discrepanc{'y' if done == 1 else 'ies'}" + (f" (by {by})" if verb == "accepted" else ""))
    return 0


def _wanted(args: argparse.Namespace, config: ParityConfig) -> Iterator[tuple[str, dict[str, Any], str | None, str]]:
    """(entity, key, note, where) of each key to triage, all validated before anything is written."""
    accept = args.action == "accept"
    if args.file is not None:
        if args.key is not None:
            raise InputError("give --key or --file, not both")
        out = list(_file_lines(config, Path(args.file), args.note if accept else None))
        if accept:
            for _, _, note, where in out:
                if not note:
                    raise InputError(f"{where}: no note (give it on the line or with --note)")
        yield from out
        return
    if args.entity is None or args.key is None:
        raise InputError(f"discrepancies {args.action} needs --entity and --key (or --file)")
    if accept and not args.note:
        raise InputError("discrepancies accept needs --note saying why the difference is tolerated")
    yield args.entity, parse_key(config, args.entity, args.key, "--key"), args.note, "--key"


def _file_lines(
    config: ParityConfig, path: Path, default_note: str | None
) -> Iterator[tuple[str, dict[str, Any], str | None, str]]:
    for where, obj in key_lines(path):
        entity = str(obj["entity"])
        _entity(config, entity, where)
        key = normalized_key(config, entity, obj["key"], where)
        note = obj.get("note", default_note)
        yield entity, key, None if note is None else str(note), where


def _entity(config: ParityConfig, name: str, where: str) -> Any:
    entity = config.entity_named(name)
    if entity is None:
        known = ", ".join(e.name for e in config.entity)
        raise InputError(f"{where}: unknown entity '{name}' (configured: {known})")
    return entity


def parse_key(config: ParityConfig, entity_name: str, text: str, where: str) -> dict[str, Any]:
    """A key given as JSON text on the command line, checked against the entity's key columns."""
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{where}: not a JSON object ({exc.msg}): {text}") from exc
    return normalized_key(config, entity_name, obj, where)


def normalized_key(config: ParityConfig, entity_name: str, obj: Any, where: str) -> dict[str, Any]:
    """The key object as the checkers store it (canonical: a uuid in lower case, numbers as numbers)."""
    entity = _entity(config, entity_name, where)
    if not isinstance(obj, dict):
        raise InputError(f'{where}: a key is a JSON object of key columns, e.g. {{"{next(iter(entity.key))}": ...}}')
    unknown = sorted(set(obj) - set(entity.key))
    if unknown:
        raise InputError(f"{where}: {unknown} are not key columns of entity '{entity.name}' ({list(entity.key)})")
    try:
        return key_to_json(entity, key_from_json(entity, obj))
    except InputError as exc:
        raise InputError(f"{where}: {exc.message}") from exc


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER") or "unknown"
