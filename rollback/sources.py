"""Reading the three sources of replay candidates: the store's open discrepancies, the store's
archive of DynamoDB-only images, and the DynamoDB stream's retained window (``--from-stream``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from parity.config import EntityConfig
from parity.errors import DecodeError, InputError
from parity.mapping import Key, key_from_json
from parity.pg import Connection
from parity.rollback.candidates import Candidate, Removal, SourceName, candidate, table_key_of
from parity.store import Store
from parity.stream.grouping import Located, group
from parity.stream.records import TTL_PRINCIPAL, EventName, parse_stream_record
from parity.stream.shards import StreamReader
from parity.telemetry import get_logger

log = get_logger("rollback.sources")


def from_discrepancies(conn: Connection, store: Store, entities: Sequence[EntityConfig]) -> list[Candidate]:
    """Open ``missing_in_postgres`` and ``mismatched`` discrepancies of configured entities."""
    rows = store.discrepancy_rows(conn, "open", kinds=("missing_in_postgres", "mismatched"), order="key")
    by_name = {e.name: e for e in entities}
    located = (_entity_key(by_name, row, "discrepancy") for row in rows)
    return [candidate(entity, key, SourceName.DISCREPANCY) for entity, key in filter(None, located)]


def from_archive(
    conn: Connection, store: Store, entities: Sequence[EntityConfig], key_schema: Sequence[str]
) -> list[Candidate]:
    """Keys of the archived DynamoDB-only writes, with the item key and the newest delete per key."""
    rows = store.archived(conn)
    by_name = {e.name: e for e in entities}
    found: list[Candidate] = []
    for row in rows:
        located = _entity_key(by_name, row, "archived write")
        if located is None:
            continue
        entity, key = located
        removal = None
        if row["event_name"] == EventName.REMOVE and row["approximate_created_at"] is not None:
            removal = Removal(row["approximate_created_at"], row["user_identity"] == TTL_PRINCIPAL)
        image = row["new_image"] or row["old_image"]
        found.append(
            candidate(entity, key, SourceName.ARCHIVE, item_key=table_key_of(image, key_schema), removal=removal)
        )
    return found


def _entity_key(
    by_name: Mapping[str, EntityConfig], row: Mapping[str, Any], what: str
) -> tuple[EntityConfig, Key] | None:
    """The configured entity and canonical key of a store row; None (with a warning) when the entity
    is no longer in the config or the key cannot be read."""
    entity = by_name.get(row["entity"])
    if entity is None:
        log.warning(f"{what} of an entity not in the config is ignored", entity=row["entity"])
        return None
    try:
        return entity, key_from_json(entity, row["key"])
    except (InputError, DecodeError, ValueError, TypeError) as exc:
        log.warning(f"{what} with an unreadable key is ignored", entity=entity.name, error=str(exc))
        return None


@dataclass(frozen=True)
class StreamWindow:
    """What ``--from-stream`` read: the candidates and how many records they came from."""

    candidates: list[Candidate]
    records: int
    undecodable: int


def from_stream(
    reader: StreamReader, entities: Sequence[EntityConfig], key_schema: Sequence[str], *, idle_polls: int = 3
) -> StreamWindow:
    """Read every retained record of every shard and keep the newest record of each key.

    A closed shard ends by itself; an open one is read until ``idle_polls`` reads in a row return
    nothing (DynamoDB Streams may answer an empty page before the shard's tip, so one empty page is
    not proof of the end).
    """
    newest: dict[tuple[str, Any], Located] = {}
    records = undecodable = 0
    idle = 0
    while idle < idle_polls:
        batches = reader.poll()
        got = [raw for batch in batches for raw in batch.records]
        if not got and all(state.finished for state in reader.states.values()):
            break
        idle = 0 if got else idle + 1
        parsed = []
        for raw in got:
            records += 1
            try:
                parsed.append(parse_stream_record(raw))
            except DecodeError:
                undecodable += 1
        grouped = group(entities, parsed)
        undecodable += len(grouped.dead)
        for name, keys in grouped.by_entity.items():
            for key, located in keys.items():
                newest[(name, key)] = located  # shards are read parents first: later batches are newer
    found = []
    for (_, key), located in newest.items():
        record = located.record
        removal = None
        if record.event_name is EventName.REMOVE:
            removal = Removal(record.approximate_created, record.is_ttl_delete)
        found.append(
            candidate(
                located.entity,
                key,
                SourceName.STREAM,
                item_key=table_key_of(record.keys, key_schema),
                removal=removal,
            )
        )
    return StreamWindow(found, records, undecodable)
