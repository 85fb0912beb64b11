"""``parity repair --undo RUN_ID``: put back exactly what a repair run changed, from its journal.

Newest write first (:func:`parity.journal.undo`); an item the app changed since is left alone and
counted, because undoing over it would lose that later write. Undoing twice restores nothing more.

- an **update** is undone by setting back, to their values before it, only the attributes whose
  values differ between its before and after images (:func:`parity.repair.images.difference`),
  and removing those it added, on condition that they, and the entity's version attribute (every
  mapped attribute for an entity without a version column, as the apply's guard), still hold what
  the repair wrote. Attributes the repair did not change, and any the app added since,
  stay as they are;
- a **put** is undone by deleting the item, unless it now holds anything beyond what the repair
  put (an attribute added since: the app wrote to it). A condition cannot say "no other
  attributes", so the item is read (consistently) and compared whole first; the delete is still
  conditional on every attribute the repair put, for a write landing between the read and it;
- a **delete** is undone by putting the whole item back, on condition that the key is still free.

The discrepancies the run had resolved are opened again for the items put back
(:func:`parity.journal.undo`): DynamoDB holds the damaged items again, and the gate must see it.
"""

from __future__ import annotations

from collections.abc import Sequence

from parity.config import ParityConfig
from parity.dynamo_json import Item
from parity.errors import ConditionFailed
from parity.journal import Undone, journal_of, undo
from parity.pg import Connection
from parity.repair.apply import REPAIR
from parity.repair.images import difference, same_item, same_value
from parity.repair.journal import restored
from parity.repair.writer import Writer, watched
from parity.store import JournalEntry, Store

CHANGED = "the item was changed since the repair (it no longer holds what the repair wrote)"
ADDED = "the app wrote to the item since the repair (it holds attributes the repair did not put)"


def undo_run(
    conn: Connection, store: Store, writer: Writer, config: ParityConfig, schema: Sequence[str], run_id: str
) -> Undone:
    entries = journal_of(conn, store, REPAIR, run_id)

    def watching(name: str) -> list[str]:
        entity = config.entity_named(name)
        return [] if entity is None else watched(entity)

    def restore(entry: JournalEntry) -> str | None:
        key = restored(entry.target)
        before = None if entry.before is None else restored(entry.before)
        after = None if entry.after is None else restored(entry.after)
        try:
            if after is None:
                if before is not None:  # (a journal entry of neither has nothing to put back)
                    writer.undo_delete(before, schema)
            elif before is None:
                now = writer.read(key)
                if now is None or not same_item(now, after):
                    return _left_alone(now, after)
                writer.undo_put(key, after)
            else:
                changed = difference(before, after)
                expected = {name: new for name, (_, new) in changed.items()}
                expected |= {name: after.get(name) for name in watching(entry.entity)}
                if changed:
                    writer.undo_update(key, {name: old for name, (old, _) in changed.items()}, expected, after)
        except ConditionFailed:
            return CHANGED
        return None

    return undo(conn, store, REPAIR, run_id, entries, restore)


def _left_alone(now: Item | None, after: Item) -> str:
    """Why a put's item that is no longer exactly what the repair put is left alone."""
    holds = now is not None and all(name in now and same_value(now[name], value) for name, value in after.items())
    return ADDED if holds else CHANGED
