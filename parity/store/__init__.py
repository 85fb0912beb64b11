"""parity's own tables in PostgreSQL, and the only code that writes SQL against the core's ones.

The core's tables (discrepancies, stream checkpoints and gaps, reconcile runs, archive, dead
letters, the journal of replay's and repair's runs) are read and written through :class:`Store`'s
methods, one module per table group. An app's own working tables (the consumer's re-checks, the
reconciler's segments) are its own, created by the migrations in the app's package and written by
one module of that app.

Every method takes an open connection and leaves the transaction to the caller, so that a checker
can commit its verdicts and its checkpoint together. Every write is an idempotent upsert: a
replayed record or a rerun never doubles a row.
"""

from __future__ import annotations

from dataclasses import dataclass

from parity.pg import Connection
from parity.store.archive import ArchiveTables
from parity.store.discrepancies import DiscrepancyTable, discrepancy_json, matched_param, stored_json
from parity.store.journal import JournalEntry, JournalTables
from parity.store.migrate import migrate, register
from parity.store.runs import RunTable
from parity.store.schema import StoreSchema
from parity.store.stream import StreamTables

__all__ = [
    "JournalEntry",
    "Store",
    "StoreSchema",
    "discrepancy_json",
    "matched_param",
    "migrate",
    "register",
    "stored_json",
]


@dataclass(frozen=True)
class Store(DiscrepancyTable, StreamTables, RunTable, ArchiveTables, JournalTables):
    """The store schema and every core table's SQL (see the table modules)."""

    def migrate(self, conn: Connection, *packages: str) -> list[str]:
        """Apply the core's migrations, the registered apps' and those of ``packages`` (an app's own,
        e.g. ``"parity.consumer"``); see :mod:`parity.store.migrate`."""
        return migrate(conn, self.schema, packages)
