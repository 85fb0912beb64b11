"""Targeted re-checks: ``parity reconcile --open`` and ``--keys F.jsonl``.

Re-reads only the given keys, never a Scan: the rows from PostgreSQL by primary key, the items
with consistent ``BatchGetItem`` (100 keys a request) at the table keys the entity's ``item_key``
templates render. A key that now matches resolves its discrepancy (open or accepted); one that
still differs is recorded again with fresh values, which reopens an accepted discrepancy whose
values changed. ``--max-rcu`` paces the reads with the reconciler's read-capacity budget.

The template is filled from the row; for a key without a row (``missing_in_postgres``) from the
key and the values the discrepancy recorded from the item (a template column that is redacted or
unknown makes that key *unlocatable*: reported, left as it is).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from parity.compare import Discrepancy, compare_canonical, discrepancy_values
from parity.config import EntityConfig, ParityConfig
from parity.dynamo import client
from parity.dynamo_json import Item
from parity.dynamo_reads import batch_get, table_key_id
from parity.errors import InputError
from parity.keyfile import key_lines
from parity.mapping import (
    canonical_item,
    canonical_row,
    json_key_id,
    key_from_json,
    match_entity,
    projected_attributes,
    render_item_key,
)
from parity.pg import Connection, fetch_rows
from parity.reconciler.budget import RcuBudget
from parity.store import Store
from parity.telemetry import get_logger

log = get_logger("reconcile")
_BATCH = 100  # BatchGetItem's limit


@dataclass(frozen=True)
class Target:
    entity: str
    key: dict[str, Any]
    values: Mapping[str, Any] = field(default_factory=dict)  # the discrepancy's recorded values, if any


@dataclass
class RecheckResult:
    """What a targeted re-check did (``reconcile --open --json``)."""

    rechecked: int = 0
    resolved: int = 0
    still_different: int = 0
    unlocatable: int = 0
    requests: int = 0
    consumed_rcu: float = 0.0
    kinds: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "rechecked": self.rechecked,
            "resolved": self.resolved,
            "still_different": self.still_different,
            "unlocatable": self.unlocatable,
            "kinds": dict(sorted(self.kinds.items())),
            "batch_get_requests": self.requests,
            "consumed_rcu": round(self.consumed_rcu, 1),
        }


def open_targets(conn: Connection, store: Store) -> list[Target]:
    """The keys of every open and accepted discrepancy, with the values they recorded."""
    by_key = {(d["entity"], json_key_id(d["key"])): d for d in store.list_discrepancies(conn, "open")}
    by_key.update({(d["entity"], json_key_id(d["key"])): d for d in store.list_discrepancies(conn, "accepted")})
    conn.commit()
    return [Target(d["entity"], d["key"], d.get("values") or {}) for d in by_key.values()]


def file_targets(config: ParityConfig, path: Path) -> list[Target]:
    """Lines ``{"entity", "key"}`` of a JSONL file, every key checked before anything is read."""
    from parity.commands.discrepancies import normalized_key

    return [
        Target(str(obj["entity"]), normalized_key(config, str(obj["entity"]), obj["key"], where))
        for where, obj in key_lines(path, "--keys")
    ]


class Rechecker:
    """Re-reads given keys in both stores and settles their discrepancies (module docstring)."""

    def __init__(self, config: ParityConfig, store: Store, *, max_rcu: float | None = None) -> None:
        self.config = config
        self.store = store
        self.table = config.dynamodb.table
        self.dynamodb = client(config.dynamodb, "dynamodb")
        self.budget = RcuBudget(max_rcu)
        self.result = RecheckResult()

    def check_entities(self, targets: Iterable[Target]) -> None:
        """A clear error, before any read, when an entity cannot be re-checked by key."""
        for name in sorted({t.entity for t in targets}):
            entity = self.config.entity_named(name)
            if entity is None:
                raise InputError(f"entity '{name}' of a discrepancy is not in the config; cannot re-check it")
            if not entity.item_key:
                raise InputError(
                    f"entity '{name}' has no item_key templates, so its items cannot be read by key"
                    " (re-checks never Scan)",
                    hint=f'add item_key = {{ pk = "...{{column}}...", sk = "..." }} to [[entity]] {name}',
                )

    def run(self, conn: Connection, targets: Sequence[Target]) -> RecheckResult:
        self.check_entities(targets)
        by_entity: dict[str, list[Target]] = {}
        for target in targets:
            by_entity.setdefault(target.entity, []).append(target)
        for name, group in by_entity.items():
            entity = self.config.entity_named(name)
            assert entity is not None
            for start in range(0, len(group), _BATCH):
                self._batch(conn, entity, group[start : start + _BATCH])
        return self.result

    def _batch(self, conn: Connection, entity: EntityConfig, targets: Sequence[Target]) -> None:
        keys = [key_from_json(entity, t.key) for t in targets]
        rows = fetch_rows(conn, entity, keys)
        located: list[tuple[Target, Any, dict[str, Any] | None]] = []
        for target, key in zip(targets, keys, strict=True):
            row = rows.get(key)
            canon_row = None if row is None else canonical_row(entity, row)
            table_key = (
                render_item_key(entity, canon_row) if canon_row is not None else _key_from_values(entity, target)
            )
            located.append((target, canon_row, table_key))
        items = self.batch_get(entity, [k for _, _, k in located if k is not None])
        now = datetime.now(UTC)
        found: list[Discrepancy] = []
        matched: list[dict[str, Any]] = []
        for target, canon_row, table_key in located:
            if table_key is None:
                self.result.unlocatable += 1
                log.warning("key cannot be located in DynamoDB", entity=entity.name, key=target.key)
                continue
            item = items.get(table_key_id(table_key))
            canon_item = None if item is None else canonical_item(entity, item)
            result = compare_canonical(entity, canon_item, canon_row)
            self.result.rechecked += 1
            if result.is_match:
                matched.append(target.key)
                continue
            self.result.kinds[str(result.verdict)] = self.result.kinds.get(str(result.verdict), 0) + 1
            values = discrepancy_values(entity, result, canon_item, canon_row)
            found.append(Discrepancy(entity.name, target.key, result.verdict, result.columns, values))
        self.result.resolved += self.store.resolve(conn, entity.name, matched, "reconcile", now) if matched else 0
        self.store.record_discrepancies(conn, found, "reconcile", now)
        self.result.still_different += len(found)
        conn.commit()

    def batch_get(self, entity: EntityConfig, table_keys: list[dict[str, Any]]) -> dict[str, Item]:
        """Consistent BatchGetItem of the table keys -> items of this entity by :func:`table_key_id`."""

        def spent(units: float) -> None:
            self.result.requests += 1
            self.result.consumed_rcu += units
            self.budget.spend(units)

        items = batch_get(
            self.dynamodb,
            self.table,
            table_keys,
            attributes=projected_attributes([entity], list(entity.item_key or {})),
            config=self.config.dynamodb,
            before_request=self.budget.acquire,
            consumed=spent,
        )
        key_names = list(entity.item_key or {})
        return {
            table_key_id({a: item[a] for a in key_names if a in item}): item
            for item in items
            if match_entity([entity], item) is not None
        }


def _key_from_values(entity: EntityConfig, target: Target) -> dict[str, Any] | None:
    """The item's table key from the key and the values the discrepancy recorded from the item."""
    shown = dict(target.values.get("dynamodb") or {}) if isinstance(target.values, Mapping) else {}
    for column, pair in target.values.items():
        if isinstance(pair, Mapping) and "dynamodb" in pair and column in entity.all_columns:
            shown.setdefault(column, pair["dynamodb"])
    shown.update(target.key)
    needed = _template_columns(entity)
    usable = {c: v for c, v in shown.items() if c in needed and v is not None and not str(v).startswith("redacted:")}
    if set(needed) - set(usable):
        return None
    return render_item_key(entity, usable)


def _template_columns(entity: EntityConfig) -> list[str]:
    import re

    return sorted({name for t in (entity.item_key or {}).values() for name in re.findall(r"{([^{}]*)}", t)})
