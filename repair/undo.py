"""``parity repair --undo RUN_ID``: put back the items a repair run wrote, from its journal.

Newest write first. An item is restored only while it still is exactly what the repair wrote (a
condition on every attribute of the journalled after image, or the item still absent after a
repaired delete); an item the app changed since is left alone and counted, because undoing over it
would lose that later write. A put is undone by deleting the item, an update or a delete by putting
the whole before image back. Undoing twice restores nothing more. The discrepancies the run had
resolved are not reopened here: the next ``parity reconcile`` (or the stream checker) finds them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from parity.config import ParityConfig
from parity.errors import ConditionFailed, InputError
from parity.pg import Connection
from parity.repair.journal import journal_of, mark_undone, run_status, runs
from parity.repair.writer import Writer
from parity.store import Store
from parity.telemetry import get_logger

log = get_logger("repair.undo")


@dataclass
class Undone:
    run_id: str
    restored: int = 0
    skipped_changed_since: int = 0
    already_undone: int = 0


def undo_run(
    conn: Connection, store: Store, writer: Writer, config: ParityConfig, schema: Sequence[str], run_id: str
) -> Undone:
    status = run_status(conn, store, run_id)
    if status is None:
        known = [r["run_id"] for r in runs(conn, store)][-5:]
        hint = f"; recent runs: {', '.join(known)}" if known else "; no repair run was applied yet"
        raise InputError(f"--undo {run_id!r}: no such repair run{hint}")
    result = Undone(run_id)
    entries = journal_of(conn, store, run_id)
    done: list[int] = []
    for entry in entries:
        if entry.undone_at is not None:
            result.already_undone += 1
            continue
        try:
            writer.restore(entry.item_key, entry.before, entry.after, schema)
        except ConditionFailed:
            result.skipped_changed_since += 1
            log.warning("an item changed since the repair is left alone", entity=entry.entity, key=entry.key)
            continue
        result.restored += 1
        done.append(entry.seq)
    finished = result.skipped_changed_since == 0
    mark_undone(conn, store, run_id, done, finished=finished)
    conn.commit()
    return result


def as_json(result: Undone) -> dict[str, Any]:
    return {
        "run_id": result.run_id,
        "restored": result.restored,
        "skipped_changed_since": result.skipped_changed_since,
        "already_undone": result.already_undone,
    }
