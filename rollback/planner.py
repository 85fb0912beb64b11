"""Build a replay plan: gather candidates, read each key's current item and row, decide.

Every key is judged on the *current* state of both stores (a consistent read of the item, a fresh
read of the row), never on an old image: an image from the archive or the stream only says which
key to look at. That is what makes replay safe to rerun and safe while the app still writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from parity import plans
from parity.config import EntityConfig, ParityConfig
from parity.dynamo_json import Item
from parity.dynamo_reads import read_items, scan_for_keys, table_key_id
from parity.errors import InputError
from parity.mapping import Key, Row, canonical_row, json_key_id, match_entity
from parity.pg import Connection, fetch_rows
from parity.plans import Decision
from parity.rollback.candidates import Candidate, gather, render_from
from parity.rollback.plan import Action, change_values, decide_delete, decide_upsert
from parity.rollback.values import item_to_row
from parity.rollback.writer import TableInfo, describe
from parity.telemetry import get_logger

log = get_logger("rollback.planner")

_ROW_BATCH = 1000


@dataclass(frozen=True)
class ReplayOptions:
    """What the user asked for."""

    include_deletes: bool = False
    include_conflicts: bool = False
    from_stream: bool = False
    max_rows: int | None = None
    entities: tuple[str, ...] = ()
    exclude: frozenset[tuple[str, str]] = frozenset()  # (entity, key id) left out after review


@dataclass(frozen=True)
class Step(plans.Step[Action]):
    """One key's decision, with where the key was found and the current item an insert or update will write."""

    sources: frozenset[str]
    item: Item | None = field(default=None, repr=False)
    # what a reviewer reads: {column: {"old": V, "new": V}} for writes (plan.change_values)
    values: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)
    # the item's DynamoDB key, so that an apply bound to this plan (--plan) finds it without a Scan
    item_key: dict[str, Any] | None = field(default=None, repr=False)


@dataclass
class Plan(plans.Plan[Step]):
    """Every candidate's step, the changes capped by ``--max-rows``, and where candidates came from."""

    changes: list[Step]
    remaining: int  # changes left for a later run by --max-rows
    sources: dict[str, int]
    scanned_for_keys: int = 0
    excluded: int = 0  # candidates left out by --exclude
    tables: dict[str, TableInfo] = field(default_factory=dict)  # described while planning, reused to write

    @cached_property
    def _change_slots(self) -> frozenset[tuple[str, Key]]:
        return frozenset((s.entity, s.key) for s in self.changes)

    def is_change(self, step: Step) -> bool:
        """Is this step one this run writes (not left for a later run by --max-rows)?"""
        return (step.entity, step.key) in self._change_slots

    @property
    def unstorable(self) -> list[Step]:
        return [s for s in self.steps if s.action is Action.UNSTORABLE]


def build_plan(
    conn: Connection,
    dynamodb: Any,
    config: ParityConfig,
    groups: dict[str, list[Candidate]],
    schema: Sequence[str],
    options: ReplayOptions,
) -> Plan:
    """Decide every candidate of ``groups`` (source name -> candidates) against both stores."""
    entities = {e.name: e for e in config.entity if not options.entities or e.name in options.entities}
    gathered = {slot: c for slot, c in gather(groups.values()).items() if c.entity in entities}
    merged = {slot: c for slot, c in gathered.items() if (c.entity, json_key_id(c.key_json)) not in options.exclude}
    by_entity: dict[str, list[Candidate]] = {}
    for found in merged.values():
        by_entity.setdefault(found.entity, []).append(found)
    rows: dict[tuple[str, Key], Row] = {}
    for name, found_list in by_entity.items():
        keys = [c.key for c in found_list]
        for start in range(0, len(keys), _ROW_BATCH):
            for key, found_row in fetch_rows(conn, entities[name], keys[start : start + _ROW_BATCH]).items():
                rows[(name, key)] = found_row
    tables = {name: describe(conn, entities[name]) for name in by_entity}
    item_keys, scanned = _item_keys(dynamodb, config, entities, merged, rows, schema)
    items = read_items(dynamodb, config.dynamodb.table, item_keys.values())
    steps = []
    for slot, found in sorted(merged.items(), key=lambda kv: (kv[0][0], str(kv[1].key_json))):
        entity = entities[found.entity]
        row = rows.get(slot)
        item = items.get(table_key_id(item_keys[slot])) if slot in item_keys else None
        if item is not None and match_entity([entity], item) is None:
            item = None  # the key now holds another entity's item: this entity's item is gone
        if item is not None:
            decision = decide_upsert(entity, item, row, include_conflicts=options.include_conflicts)
        else:
            ttl = None if found.removal is None else found.removal.ttl
            decision = decide_delete(row, include_deletes=options.include_deletes, ttl=ttl)
        if item is not None and decision.action in (Action.INSERT, Action.UPDATE):
            problem = _unstorable(tables, entity, item, insert=decision.action is Action.INSERT)
            if problem:
                decision = Decision(Action.UNSTORABLE, decision.columns, reason=problem)
        values = change_values(entity, decision.action, decision.columns, item, row)
        steps.append(
            Step(found.entity, found.key, found.key_json, decision, found.sources, item, values, item_keys.get(slot))
        )
    changes = [s for s in steps if s.action.writes]
    remaining = 0
    if options.max_rows is not None and len(changes) > options.max_rows:
        remaining = len(changes) - options.max_rows
        changes = changes[: options.max_rows]
    counts = {name: len(found_list) for name, found_list in groups.items()}
    log.info("replay plan built", candidates=len(merged), changes=len(changes), remaining=remaining, **counts)
    return Plan(steps, changes, remaining, counts, scanned, excluded=len(gathered) - len(merged), tables=tables)


def _unstorable(tables: dict[str, TableInfo], entity: EntityConfig, item: Item, *, insert: bool) -> str:
    """Why the item cannot be written to its row ('' when it can): a value of the wrong type for the
    column, NULL where the table says NOT NULL, or a value the column's declared type cannot hold
    (U+0000 in text/jsonb, a number beyond bigint or numeric(p,s): :mod:`parity.rollback.storable`)."""
    try:
        values = item_to_row(entity, item)
    except InputError as exc:
        return exc.message
    missing = tables[entity.name].missing_values(values, insert=insert)
    if missing:
        return f"{entity.table} column(s) {', '.join(missing)} are NOT NULL and the item gives no value"
    beyond = tables[entity.name].unstorable_values(values)
    if beyond:
        return f"{entity.table} {'; '.join(beyond)}"
    return ""


def _rendered(entities: dict[str, EntityConfig], found: Candidate, rows: dict[tuple[str, Key], Row]) -> Any:
    entity = entities[found.entity]
    row = rows.get((found.entity, found.key))
    canon = canonical_row(entity, row) if row is not None else dict(zip(entity.key, found.key, strict=True))
    return render_from(entity, canon)


def _item_keys(
    dynamodb: Any,
    config: ParityConfig,
    entities: dict[str, EntityConfig],
    merged: dict[tuple[str, Key], Candidate],
    rows: dict[tuple[str, Key], Row],
    schema: Sequence[str],
) -> tuple[dict[tuple[str, Key], dict[str, Any]], int]:
    """Each candidate's DynamoDB key: from its source, else the templates, else one Scan (the
    second value counts the keys that needed it)."""
    resolved: dict[tuple[str, Key], dict[str, Any]] = {}
    unresolved: set[tuple[str, Key]] = set()
    for slot, found in merged.items():
        key = found.item_key or _rendered(entities, found, rows)
        if key is not None and all(name in key for name in schema):
            resolved[slot] = {name: key[name] for name in schema}
        else:
            unresolved.add(slot)
    if unresolved:
        log.warning(
            "some keys' items can only be found by a Scan; give the entity item_key templates built from key"
            " columns to avoid it",
            keys=len(unresolved),
        )
        resolved.update(scan_for_keys(dynamodb, config.dynamodb.table, schema, list(entities.values()), unresolved))
    return resolved, len(unresolved)
