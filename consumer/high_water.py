"""Per-key high-water marks for Kinesis mode: stale events are counted, not checked.

Kinesis Data Streams for DynamoDB may deliver a change more than once and out of order, and its
records carry no DynamoDB sequence number, so ``ApproximateCreationDateTime`` (microseconds) is the
only order there is. For every item key the store keeps the newest creation time already checked
(table ``kcl_high_water``, migration 030). An event strictly older than its key's mark is *stale*:
a newer state of the item was already checked, so checking the older image would raise a false
alarm. An event *equal* to the mark is checked again: it is either a replay (verdict writes are
idempotent) or a second change in the same microsecond (must not be lost).

The split (:func:`partition`) is pure; :func:`read_marks` and :func:`advance` are the store
adapters. :func:`advance` runs inside the checker's transaction (its ``in_transaction`` hook), so
the marks move exactly when the batch's verdicts commit.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import sql

from parity.pg import Connection, postgres_errors
from parity.store import Store
from parity.stream.records import ChangeRecord

TABLE = "kcl_high_water"


def mark_key(record: ChangeRecord) -> str:
    """The item's identity: its DynamoDB key attributes as canonical JSON (entity-independent)."""
    return json.dumps(record.keys, sort_keys=True, separators=(",", ":"), default=_text)


def _text(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return value.hex()
    if isinstance(value, set | frozenset):
        return json.dumps(sorted(str(v) for v in value))
    return str(value)


@dataclass(frozen=True)
class Split:
    """A batch split by the marks: ``fresh`` records are checked, ``stale`` ones only counted."""

    fresh: tuple[ChangeRecord, ...]
    stale: tuple[ChangeRecord, ...]


def partition(records: Sequence[ChangeRecord], marks: Mapping[str, datetime]) -> Split:
    """Records older than their key's mark are stale; equal or newer are fresh (order kept)."""
    fresh: list[ChangeRecord] = []
    stale: list[ChangeRecord] = []
    for record in records:
        mark = marks.get(mark_key(record))
        (stale if mark is not None and record.approximate_created < mark else fresh).append(record)
    return Split(tuple(fresh), tuple(stale))


def newest(records: Iterable[ChangeRecord]) -> dict[str, ChangeRecord]:
    """The newest record of every key (by creation time; the later one in the batch on a tie)."""
    best: dict[str, ChangeRecord] = {}
    for record in records:
        key = mark_key(record)
        current = best.get(key)
        if current is None or record.approximate_created >= current.approximate_created:
            best[key] = record
    return best


def read_marks(conn: Connection, store: Store, keys: Iterable[str]) -> dict[str, datetime]:
    """The marks of ``keys`` (one round trip; keys without a mark are absent)."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    query = sql.SQL("SELECT item_key, approximate_created FROM {} WHERE item_key = ANY(%s)").format(store.table(TABLE))
    with postgres_errors("reading KCL high-water marks"):
        return {r["item_key"]: r["approximate_created"] for r in conn.execute(query, (wanted,))}


def advance(conn: Connection, store: Store, records: Iterable[ChangeRecord]) -> int:
    """Move each key's mark up to its newest record (never backwards); returns the keys written."""
    best = newest(records)
    if not best:
        return 0
    query = sql.SQL(
        "INSERT INTO {} AS h (item_key, approximate_created, event_id, updated_at)"
        " SELECT k, c, e, now() FROM unnest(%s::text[], %s::timestamptz[], %s::text[]) AS u(k, c, e)"
        " ON CONFLICT (item_key) DO UPDATE SET approximate_created = EXCLUDED.approximate_created,"
        "  event_id = EXCLUDED.event_id, updated_at = now()"
        " WHERE EXCLUDED.approximate_created >= h.approximate_created"
    ).format(store.table(TABLE))
    keys = list(best)
    with postgres_errors("advancing KCL high-water marks"):
        conn.execute(
            query,
            (keys, [best[k].approximate_created for k in keys], [best[k].event_id for k in keys]),
        )
    return len(keys)
