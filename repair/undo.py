"""``parity repair --undo RUN_ID``: put back the items a repair run wrote, from its journal.

Newest write first (:func:`parity.journal.undo`). An item is restored only while it still is
exactly what the repair wrote (a condition on every attribute of the journalled after image, or the
item still absent after a repaired delete); an item the app changed since is left alone and
counted, because undoing over it would lose that later write. A put is undone by deleting the item,
an update or a delete by putting the whole before image back. Undoing twice restores nothing more.
The discrepancies the run had resolved are not reopened here: the next ``parity reconcile`` (or the
stream checker) finds them.
"""

from __future__ import annotations

from collections.abc import Sequence

from parity.errors import ConditionFailed
from parity.journal import Undone, journal_of, undo
from parity.pg import Connection
from parity.repair.apply import REPAIR
from parity.repair.journal import restored
from parity.repair.writer import Writer
from parity.store import JournalEntry, Store


def undo_run(conn: Connection, store: Store, writer: Writer, schema: Sequence[str], run_id: str) -> Undone:
    entries = journal_of(conn, store, REPAIR, run_id)

    def restore(entry: JournalEntry) -> str | None:
        before = None if entry.before is None else restored(entry.before)
        after = None if entry.after is None else restored(entry.after)
        try:
            writer.restore(restored(entry.target), before, after, schema)
        except ConditionFailed:
            return "the item was changed since the repair (it no longer holds what the repair wrote)"
        return None

    return undo(conn, store, REPAIR, run_id, entries, restore)
