"""The pure middle of a reconcile run: one Scan page (or one batch of re-checks) in, verdicts out.

No I/O: the segment loop (:mod:`reconciler.segment`) scans, reads rows and writes the store; the
functions here only decide. A page goes through :func:`group_page` (which entity, which key; items
whose key cannot be decoded become dead letters, never the page's problem), then, once the rows of
its keys are read, :func:`compare_page` (matches, and first discrepancies waiting for their
re-check). Re-checks and the final phase's candidates are decided by :func:`decide_recheck` and
:func:`decide_missing`.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from parity.canonical import Canon, WrongType, canon_dynamo, canon_postgres
from parity.compare import Comparison, Discrepancy, Verdict, compare_canonical, discrepancy_values
from parity.config import ColumnSpec, EntityConfig
from parity.dynamo_json import Item
from parity.errors import DecodeError
from parity.jsontext import dumps_exact
from parity.mapping import (
    Key,
    Row,
    canonical_item,
    canonical_row,
    item_key,
    json_key_id,
    key_to_json,
    match_entity,
)
from parity.reconciler.tally import EntityTally, Tally
from parity.versions import version_of, written_since

DEAD_LETTER_SOURCE = "reconcile"
# what decoding one hostile value may raise (besides DecodeError): that value's problem, not the page's
_UNDECODABLE = (DecodeError, RecursionError, ValueError, TypeError, ArithmeticError)
_BIGINT = 2**63


@dataclass(frozen=True)
class Pending:
    """A first discrepancy waiting for its re-check."""

    entity: str
    key: dict[str, Any]
    key_id: str
    kind: str
    columns: tuple[str, ...]
    table_key: dict[str, Any]  # typed DynamoDB JSON as boto3 takes it (B as bytes)
    item_version: str | None
    row_version: str | None
    due_at: datetime


@dataclass(frozen=True)
class DeadItem:
    """An item that cannot be checked (its key cannot be decoded): kept as a dead letter."""

    record_id: str
    reason: str
    raw: dict[str, Any]


@dataclass(frozen=True)
class Grouped:
    """A page's items by entity, with their decoded keys."""

    by_entity: dict[str, list[tuple[Key, Item]]]
    skipped: int
    dead: list[DeadItem]


@dataclass(frozen=True)
class PageResult:
    """What one page decided: its keys and matches (by entity) and its first discrepancies."""

    keys: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    matched: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    pending: list[Pending] = field(default_factory=list)

    @property
    def compared(self) -> int:
        return sum(len(v) for v in self.matched.values())


def text(value: Canon) -> str | None:
    return None if value is None else str(value)


# --- one page ---------------------------------------------------------------------------------


def group_page(entities: Sequence[EntityConfig], key_attributes: Sequence[str], items: Sequence[Item]) -> Grouped:
    """Sort a page's items by entity and decode their keys.

    Items of no entity are skipped (counted). An item whose key cannot be decoded (a missing or
    mistyped key attribute, a uuid key that is no uuid, text PostgreSQL cannot hold) cannot be
    compared, nor listed as a discrepancy (a discrepancy is named by its key): it becomes a dead
    letter, named by its table key, and the page goes on.
    """
    by_entity: dict[str, list[tuple[Key, Item]]] = {}
    skipped = 0
    dead: list[DeadItem] = []
    for item in items:
        entity = match_entity(entities, item)
        if entity is None:
            skipped += 1
            continue
        try:
            key = item_key(entity, item)
            problem = key_problem(entity, key)
        except _UNDECODABLE as exc:
            problem = exc.message if isinstance(exc, DecodeError) else f"{type(exc).__name__}: {exc}"
        if problem is not None:
            dead.append(_dead_item(entity, key_attributes, item, problem))
            continue
        by_entity.setdefault(entity.name, []).append((key, item))
    return Grouped(by_entity, skipped, dead)


def key_problem(entity: EntityConfig, key: Key) -> str | None:
    """Why PostgreSQL cannot look a decoded key up (so it can name no row), or None.

    Text holding U+0000, an integer beyond ``bigint`` (a uuid that is no uuid is already a
    DecodeError of :func:`~parity.mapping.item_key`).
    """
    for (column, spec), part in zip(entity.key.items(), key, strict=True):
        if isinstance(part, str) and "\x00" in part:
            return f"key column '{column}' holds U+0000, which PostgreSQL text cannot hold"
        if spec.type == "integer" and isinstance(part, Decimal) and not -_BIGINT <= part < _BIGINT:
            return f"key column '{column}' holds {part}, beyond PostgreSQL's bigint"
    return None


def compare_page(
    entities: Mapping[str, EntityConfig],
    key_attributes: Sequence[str],
    grouped: Grouped,
    rows: Mapping[str, Mapping[Key, Row]],
    tally: Tally,
    due: datetime,
) -> PageResult:
    """Compare a grouped page with the rows of its keys; counts matches into ``tally``.

    A mismatch is not a verdict yet: it becomes a :class:`Pending` re-check due at ``due``.
    """
    result = PageResult()
    for name, pairs in grouped.by_entity.items():
        entity = entities[name]
        entity_rows = rows.get(name, {})
        entity_tally = tally.entity(name)
        keys = result.keys.setdefault(name, [])
        for key, item in pairs:
            key_json = key_to_json(entity, key)
            keys.append(key_json)
            item_canon = safe_canonical_item(entity, item)
            row = entity_rows.get(key)
            canon_row = None if row is None else safe_canonical_row(entity, row)
            comparison = compare_canonical(entity, item_canon, canon_row)
            if comparison.is_match:
                entity_tally.add_verdict(Verdict.MATCH)
                result.matched.setdefault(name, []).append(key_json)
                continue
            result.pending.append(
                Pending(
                    name,
                    key_json,
                    json_key_id(key_json),
                    str(comparison.verdict),
                    comparison.columns,
                    {a: item[a] for a in key_attributes if a in item},
                    text(version_of(entity, item_canon)),
                    None if canon_row is None else text(version_of(entity, canon_row)),
                    due,
                )
            )
    tally.skipped += grouped.skipped
    return result


def safe_canonical_item(entity: EntityConfig, item: Item) -> dict[str, Canon]:
    """:func:`canonical_item`, where a value that cannot be canonicalized at all (a JSON text
    nested thousands deep) is the wrong-type marker of its column: a mismatched column."""
    try:
        return canonical_item(entity, item)
    except _UNDECODABLE:
        return {c: _guarded(canon_dynamo, spec, item.get(spec.attribute)) for c, spec in entity.all_columns.items()}


def safe_canonical_row(entity: EntityConfig, row: Row) -> dict[str, Canon]:
    """:func:`canonical_row` with the same guard as :func:`safe_canonical_item`."""
    try:
        return canonical_row(entity, row)
    except _UNDECODABLE:
        return {c: _guarded(canon_postgres, spec, row.get(c)) for c, spec in entity.all_columns.items()}


def _guarded(canon: Callable[[ColumnSpec, Any], Canon], spec: ColumnSpec, value: Any) -> Canon:
    try:
        return canon(spec, value)
    except _UNDECODABLE as exc:
        return WrongType(f"a value that cannot be decoded ({type(exc).__name__}) where a {spec.type} is mapped")


def canon_item(entity: EntityConfig, item: Item | None) -> dict[str, Canon] | None:
    """An item's canonical columns, or None when it is absent or not of this entity."""
    if item is None or match_entity([entity], item) is None:
        return None
    return safe_canonical_item(entity, item)


# --- re-checks and the final phase's candidates -----------------------------------------------


def due_rechecks(pending: Sequence[Pending], now: datetime, *, batch: int, wait: bool) -> list[Pending]:
    """The pending re-checks to decide now, or none.

    While scanning, only once ``batch`` are due (one row read and one transaction per batch); at the
    segment's end (``wait``) all of them, once every one is due.
    """
    due = [p for p in pending if p.due_at <= now]
    if not due or (len(due) < batch and (not wait or len(due) < len(pending))):
        return []
    return due


@dataclass(frozen=True)
class Decision:
    """A re-checked key: ``cleared`` (matches now), ``in_flight`` (its version moved) or ``found``
    (with what each store holds: ``values``, docs/reference.md §5)."""

    outcome: str
    comparison: Comparison
    values: dict[str, Any] | None = None


def _found(
    entity: EntityConfig, comparison: Comparison, item: dict[str, Canon] | None, row: dict[str, Canon] | None
) -> Decision:
    return Decision("found", comparison, _nul_free(discrepancy_values(entity, comparison, item, row)))


def _nul_free(value: Any) -> Any:
    """Values as jsonb accepts them: U+0000 (which jsonb cannot hold) as the six characters ``\\u0000``."""
    if isinstance(value, str):
        return value.replace("\x00", "\\u0000")
    if isinstance(value, dict):
        return {_nul_free(k): _nul_free(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nul_free(v) for v in value]
    return value


def decide_recheck(
    entity: EntityConfig, p: Pending, item_canon: dict[str, Canon] | None, canon_row: dict[str, Canon] | None
) -> Decision:
    """Decide a re-read key: a match clears it, a moved version is in flight, else it is found."""
    comparison = compare_canonical(entity, item_canon, canon_row)
    if comparison.is_match:
        return Decision("cleared", comparison)
    if _moved(entity, p, item_canon, canon_row):
        return Decision("in_flight", comparison)
    return _found(entity, comparison, item_canon, canon_row)


def decide_missing(
    entity: EntityConfig, run_started: datetime, item_canon: dict[str, Canon] | None, canon_row: dict[str, Canon]
) -> Decision:
    """Decide a row no segment scanned: a match clears it; a row whose version says it was written
    at or after the run's start is in flight (the scan could not see it); else it is found. A
    version that cannot be ordered against the start (an integer or decimal counter, no version, a
    wrong type) proves nothing: the row is found, never assumed in flight."""
    comparison = compare_canonical(entity, item_canon, canon_row)
    if comparison.is_match:
        return Decision("cleared", comparison)
    since = written_since(entity, canon_row, run_started)
    if since.newer or since.same:
        return Decision("in_flight", comparison)
    return _found(entity, comparison, item_canon, canon_row)


def count_decision(
    entity_tally: EntityTally,
    name: str,
    key: dict[str, Any],
    decision: Decision,
    found: list[Discrepancy],
    cleared: dict[str, list[dict[str, Any]]],
) -> None:
    """Count a decided key into the tally and the lists the store writes."""
    entity_tally.rechecked += 1
    comparison = decision.comparison
    if decision.outcome == "cleared":
        entity_tally.cleared += 1
        entity_tally.add_verdict(Verdict.MATCH)
        cleared.setdefault(name, []).append(key)
    elif decision.outcome == "in_flight":
        entity_tally.in_flight += 1
    else:
        entity_tally.add_verdict(comparison.verdict, comparison.columns)
        found.append(Discrepancy(name, key, comparison.verdict, comparison.columns, decision.values))


def _moved(
    entity: EntityConfig, p: Pending, item_canon: dict[str, Canon] | None, canon_row: dict[str, Canon] | None
) -> bool:
    """True when the item's or the row's version changed since the first read."""
    if entity.version is None:
        return False
    item_version = None if item_canon is None else text(version_of(entity, item_canon))
    row_version = None if canon_row is None else text(version_of(entity, canon_row))
    return item_version != p.item_version or row_version != p.row_version


# --- dead letters -----------------------------------------------------------------------------


def _dead_item(entity: EntityConfig, key_attributes: Sequence[str], item: Item, reason: str) -> DeadItem:
    table_key = {a: item[a] for a in key_attributes if a in item}
    return DeadItem(
        record_id=f"{entity.name}:{storable_text(table_key)}",
        reason=f"item of entity '{entity.name}' cannot be checked: {reason}",
        raw=storable_item(item),
    )


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    return str(value)  # anything else JSON lacks: its text


def storable_text(value: Any) -> str:
    """JSON text of any decoded value, ASCII only (U+0000 spelled ``\\u0000``): PostgreSQL stores
    it in ``text`` and ``jsonb`` alike, and it reads back to the exact value."""
    try:
        return dumps_exact(value, default=_json_default, sort_keys=True)
    except (RecursionError, ValueError, TypeError) as exc:
        return dumps_exact(f"<not representable: {type(exc).__name__}>")


def storable_item(item: Item) -> dict[str, Any]:
    """A raw item as a jsonb value PostgreSQL accepts: ``{"item": <its JSON text>}`` (jsonb cannot
    hold U+0000, binary values or a nesting of thousands; a string holds them all)."""
    return {"item": storable_text(item)}


__all__ = [
    "DEAD_LETTER_SOURCE",
    "DeadItem",
    "Decision",
    "Grouped",
    "PageResult",
    "Pending",
    "canon_item",
    "compare_page",
    "count_decision",
    "decide_missing",
    "decide_recheck",
    "due_rechecks",
    "group_page",
    "storable_item",
]
