"""Build a repair plan: the keys of open discrepancies, each judged on both stores' current state.

For every key: the row (one query per 1,000 keys) and the item (consistent BatchGetItem, found by
the ``item_key`` templates, or one Scan for keys whose row is gone and whose templates need more
than the key), then :func:`~parity.repair.plan.decide`. The discrepancy only names the key: its
recorded values are never trusted, so a plan is right however old the discrepancy is, and a rerun
after an apply finds nothing to write. They only say where to look for the item a row that moved
to another table key left at its old one (:mod:`parity.repair.moved`), which is then read and
checked before anything is said or done about it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from parity import plans
from parity.config import EntityConfig, ParityConfig
from parity.dynamo_json import AttributeValue, Item
from parity.dynamo_reads import read_items, scan_for_keys, table_key_id
from parity.errors import DecodeError, InputError, Unbuildable
from parity.mapping import (
    Key,
    Row,
    canonical_row,
    json_key_id,
    key_from_json,
    key_to_json,
    match_entity,
    render_item_key,
)
from parity.pg import Connection, fetch_rows
from parity.plans import Decision
from parity.repair.build import Built, build_item
from parity.repair.moved import DELETED_THERE, LEFT_BEHIND, LEFT_THERE, left_behind, old_item_key, shown_key
from parity.repair.plan import Action, decide
from parity.store import Store
from parity.store.discrepancies import stored_json
from parity.telemetry import get_logger

log = get_logger("repair.planner")

#: why a put of a key a checker saw an item for may leave that item behind (when the planner cannot
#: tell where it is: the checker's values were not kept exactly, or no such item is there)
MOVED = (
    "a checker saw an item for this key, but none is at the table key the row's templates give now:"
    " it may sit at an older key (a key-template column changed), and this put leaves it there"
)
_ROW_BATCH = 1000
_READ_CHUNK = 100  # BatchGetItem's limit
_READERS = 8


@dataclass(frozen=True)
class RepairOptions:
    """What the user asked for."""

    include_deletes: bool = False
    entities: tuple[str, ...] = ()
    only: frozenset[tuple[str, str]] | None = None  # --keys: (entity, key id) to consider, None for all
    exclude: frozenset[tuple[str, str]] = frozenset()  # --exclude: (entity, key id) left out after review


@dataclass(frozen=True)
class Step(plans.Step[Action]):
    """One key: what to do, and what was found."""

    kind: str  # the discrepancy's kind
    item_key: dict[str, AttributeValue] | None = None
    item: Item | None = field(default=None, repr=False)  # the item read while planning
    built: Built | None = field(default=None, repr=False)  # the row's item
    row: Row | None = field(default=None, repr=False)  # the row read while planning
    # the item a moved row left at its old key (item_key): deleted with --include-deletes, its
    # key's own step (the put at the new key) is the one verified and resolved
    left_behind: bool = False


@dataclass
class Plan(plans.Plan[Step]):
    excluded: int = 0
    found_by_scan: int = 0

    @property
    def changes(self) -> list[Step]:
        return [s for s in self.steps if s.action.writes]

    @property
    def unbuildable(self) -> list[Step]:
        return [s for s in self.steps if s.action is Action.UNBUILDABLE]


@dataclass(frozen=True)
class _Candidate:
    entity: EntityConfig
    key: Key
    kind: str
    # what the checker saw on each side, as the store returned it (read by :func:`_moved` only)
    observed: dict[str, Any] | None = None


def candidates(
    conn: Connection, store: Store, config: ParityConfig, options: RepairOptions
) -> tuple[list[_Candidate], int]:
    """The open discrepancies to look at after --entity, --keys and --exclude (and how many --exclude left out)."""
    by_name = {e.name: e for e in config.entity if not options.entities or e.name in options.entities}
    found: list[_Candidate] = []
    excluded = 0
    kinds = ["missing_in_dynamodb", "mismatched", *(["missing_in_postgres"] if options.include_deletes else [])]
    # open only: an accepted discrepancy is a difference someone decided to keep, never repaired
    for row in store.discrepancy_rows(conn, "open", kinds=kinds, order="key"):
        entity = by_name.get(row["entity"])
        if entity is None:
            continue
        try:
            key = key_from_json(entity, row["key"])
        except (InputError, DecodeError, ValueError, TypeError) as exc:
            log.warning("a discrepancy with an unreadable key is ignored", entity=entity.name, error=str(exc))
            continue
        slot = (entity.name, json_key_id(key_to_json(entity, key)))
        if options.only is not None and slot not in options.only:
            continue
        if slot in options.exclude:
            excluded += 1
            continue
        found.append(_Candidate(entity, key, str(row["kind"]), row["observed"]))
    return found, excluded


def build_plan(
    conn: Connection,
    store: Store,
    dynamodb: Any,
    config: ParityConfig,
    schema: Sequence[str],
    options: RepairOptions,
) -> Plan:
    """Decide every candidate against the current row and item (see the module docstring)."""
    found, excluded = candidates(conn, store, config, options)
    observed = {(c.entity.name, c.key): c.observed for c in found if c.kind == "mismatched" and c.observed}
    keys = [(c.entity, c.key, c.kind) for c in found]
    steps, scanned = judge(conn, dynamodb, config, schema, keys, options, observed=observed)
    log.info("repair plan built", keys=len(steps), changes=sum(1 for s in steps if s.action.writes))
    return Plan(steps, excluded=excluded, found_by_scan=scanned)


def judge(
    conn: Connection,
    dynamodb: Any,
    config: ParityConfig,
    schema: Sequence[str],
    keys: Sequence[tuple[EntityConfig, Key, str]],
    options: RepairOptions,
    *,
    observed: Mapping[tuple[str, Key], Mapping[str, Any]] | None = None,
) -> tuple[list[Step], int]:
    """Read the rows and items of ``keys`` now and decide each (also the apply's re-check).

    With ``observed`` (the checkers' values of ``mismatched`` keys), the put of a key whose row
    moved to another table key looks for the item it left at its old key (:func:`_moved`); the
    step that deletes it follows the key's own step.

    The work of this process overlaps DynamoDB's: each 100 keys' items are asked for (up to
    ``_READERS`` requests in flight) as soon as their rows are built, and the keys are decided as
    the answers come in, while the later requests are still out."""
    rows = read_rows(conn, [(entity, key) for entity, key, _ in keys])
    built: dict[tuple[str, Key], Built | str] = {}
    item_keys: dict[tuple[str, Key], dict[str, AttributeValue]] = {}
    unresolved: set[tuple[str, Key]] = set()
    table_key = tuple(schema)
    table = config.dynamodb.table
    items: dict[Any, Item] = {}
    steps: dict[tuple[str, Key], Step] = {}
    with ThreadPoolExecutor(max_workers=_READERS, thread_name_prefix="repair-read") as pool:
        reads: list[tuple[list[tuple[EntityConfig, Key, str]], Future[dict[Any, Item]]]] = []
        group: list[tuple[EntityConfig, Key, str]] = []
        for entity, key, kind in keys:
            slot = (entity.name, key)
            row = rows.get(slot)
            if row is not None:
                try:
                    built[slot] = made = build_item(entity, row, table_key)
                    item_keys[slot] = made.key
                except Unbuildable as exc:
                    built[slot] = str(exc)
            else:
                rendered = _key_only_render(entity, key, table_key)
                if rendered is None:
                    unresolved.add(slot)
                    continue
                item_keys[slot] = rendered
            group.append((entity, key, kind))
            if len(group) == _READ_CHUNK:
                reads.append((group, pool.submit(read_items, dynamodb, table, _keys_of(group, item_keys))))
                group = []
        if unresolved:
            log.warning("the items of some keys whose row is gone can only be found by a Scan", keys=len(unresolved))
            entities = [e for e in config.entity if not options.entities or e.name in options.entities]
            item_keys.update(scan_for_keys(dynamodb, table, schema, entities, unresolved))
            group += [(entity, key, kind) for entity, key, kind in keys if (entity.name, key) in unresolved]
        if group:
            reads.append((group, pool.submit(read_items, dynamodb, table, _keys_of(group, item_keys))))
        for decided, read in reads:
            items.update(read.result())
            for entity, key, kind in decided:
                slot = (entity.name, key)
                steps[slot] = _step(
                    entity, key, kind, rows.get(slot), built.get(slot), item_keys.get(slot), items, options
                )
    by_name = {entity.name: entity for entity, _, _ in keys}
    behind = _moved(dynamodb, table, by_name, table_key, steps, observed or {}, options)
    ordered = []
    for entity, key, _ in keys:
        ordered.append(steps[(entity.name, key)])
        if (entity.name, key) in behind:
            ordered.append(behind[(entity.name, key)])
    return ordered, len(unresolved)


def _moved(
    dynamodb: Any,
    table: str,
    entities: Mapping[str, EntityConfig],
    schema: tuple[str, ...],
    steps: dict[tuple[str, Key], Step],
    observed: Mapping[tuple[str, Key], Mapping[str, Any]],
    options: RepairOptions,
) -> dict[tuple[str, Key], Step]:
    """For each put of a moved row (reason :data:`MOVED`) whose old item the checker's values
    locate (:func:`~parity.repair.moved.old_item_key`): read that key (consistent) and, when the
    item there is the one the row left (:func:`~parity.repair.moved.left_behind`), say so in the
    put's reason and, with ``--include-deletes``, plan its delete (guarded like any delete: on the
    item as read here). Otherwise the put keeps :data:`MOVED`: a key is never guessed."""
    wanted: dict[tuple[str, Key], dict[str, AttributeValue]] = {}
    for slot, step in steps.items():
        seen = observed.get(slot)
        if step.action is Action.PUT and step.decision.reason == MOVED and seen and step.row is not None:
            entity = entities[step.entity]
            old = old_item_key(entity, canonical_row(entity, step.row), stored_json(seen), schema)
            if old is not None:
                wanted[slot] = old
    if not wanted:
        return {}
    found = read_items(dynamodb, table, wanted.values())
    behind: dict[tuple[str, Key], Step] = {}
    located = 0
    for slot, old in wanted.items():
        step, entity = steps[slot], entities[slot[0]]
        item = found.get(table_key_id(old))
        if not left_behind(entity, step.key, old, step.item_key, item):
            continue
        located += 1
        shown = shown_key(old, schema)
        if not options.include_deletes:
            steps[slot] = replace(step, decision=replace(step.decision, reason=LEFT_THERE.format(old=shown)))
            continue
        steps[slot] = replace(step, decision=replace(step.decision, reason=DELETED_THERE.format(old=shown)))
        delete = Decision(Action.DELETE, reason=LEFT_BEHIND.format(old=shown))
        behind[slot] = replace(step, decision=delete, item_key=old, item=item, built=None, left_behind=True)
    log.info("items moved rows left at their old keys", looked_for=len(wanted), found=located)
    return behind


def _keys_of(
    group: Sequence[tuple[EntityConfig, Key, str]], item_keys: dict[tuple[str, Key], dict[str, AttributeValue]]
) -> list[dict[str, AttributeValue]]:
    return [found for entity, key, _ in group if (found := item_keys.get((entity.name, key))) is not None]


def _step(
    entity: EntityConfig,
    key: Key,
    kind: str,
    row: Row | None,
    outcome: Built | str | None,
    item_key: dict[str, AttributeValue] | None,
    items: dict[Any, Item],
    options: RepairOptions,
) -> Step:
    """One key decided on its row and the item read at ``item_key``."""
    item = items.get(table_key_id(item_key)) if item_key is not None else None
    if item is not None and match_entity([entity], item) is None:
        item = None  # another entity's item at this key: not ours to change
    decision = decide(entity, row, item, outcome, include_deletes=options.include_deletes)
    if decision.action is Action.PUT and kind == "mismatched":
        decision = replace(decision, reason=MOVED)
    return Step(
        entity.name,
        key,
        key_to_json(entity, key),
        decision,
        kind,
        item_key,
        item,
        outcome if isinstance(outcome, Built) else None,
        row,
    )


def read_rows(conn: Connection, keys: Sequence[tuple[EntityConfig, Key]]) -> dict[tuple[str, Key], Row]:
    by_entity: dict[str, tuple[EntityConfig, list[Key]]] = {}
    for entity, key in keys:
        by_entity.setdefault(entity.name, (entity, []))[1].append(key)
    rows: dict[tuple[str, Key], Row] = {}
    for name, (entity, entity_keys) in by_entity.items():
        for start in range(0, len(entity_keys), _ROW_BATCH):
            for key, row in fetch_rows(conn, entity, entity_keys[start : start + _ROW_BATCH]).items():
                rows[(name, key)] = row
    return rows


def _key_only_render(entity: EntityConfig, key: Key, schema: tuple[str, ...]) -> dict[str, AttributeValue] | None:
    """The item key from the templates when they need only key columns (the row is gone)."""
    canon = dict(zip(entity.key, key, strict=True))
    try:
        rendered = render_item_key(entity, {c: canon.get(c) for c in entity.all_columns})
    except (KeyError, ValueError):
        return None
    if rendered is None or any(name not in rendered for name in schema):
        return None
    fields = {name for template in (entity.item_key or {}).values() for name in _fields(template)}
    if not fields <= set(entity.key):
        return None
    return {name: rendered[name] for name in schema}


def _fields(template: str) -> list[str]:
    import string

    return [name for _, name, _, _ in string.Formatter().parse(template) if name]
