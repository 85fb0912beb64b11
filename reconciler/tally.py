"""Counters of a reconcile run and the JSON report built from them (docs/reference.md §5). Pure, no I/O.

A :class:`Tally` is what one segment (or the final anti-join phase) has decided so far. Tallies are
stored as JSON next to the segment's LastEvaluatedKey and summed into one report, which is how the
slices of a run (``--segment K --total-segments N``) merge. ``compared`` counts each distinct key
once: keys whose verdict is final (match or a confirmed discrepancy). Keys still waiting for their
re-check are not counted yet; keys found in flight are reported apart and left out of ``compared``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from parity.compare import Verdict

KINDS = ("missing_in_postgres", "missing_in_dynamodb", "mismatched")
_ENTITY_FIELDS = ("compared", "matched", *KINDS, "in_flight", "rechecked", "cleared")


@dataclass
class EntityTally:
    compared: int = 0
    matched: int = 0
    missing_in_postgres: int = 0
    missing_in_dynamodb: int = 0
    mismatched: int = 0
    in_flight: int = 0
    rechecked: int = 0
    cleared: int = 0
    columns: dict[str, int] = field(default_factory=dict)

    def add_verdict(self, verdict: Verdict, columns: Iterable[str] = ()) -> None:
        """Count one key's final verdict."""
        self.compared += 1
        if verdict is Verdict.MATCH:
            self.matched += 1
            return
        setattr(self, str(verdict), getattr(self, str(verdict)) + 1)
        for column in columns:
            self.columns[column] = self.columns.get(column, 0) + 1

    def merge(self, other: EntityTally) -> None:
        for name in _ENTITY_FIELDS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for column, n in other.columns.items():
            self.columns[column] = self.columns.get(column, 0) + n

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {name: getattr(self, name) for name in _ENTITY_FIELDS}
        out["columns"] = dict(sorted(self.columns.items()))
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EntityTally:
        tally = cls()
        for name in _ENTITY_FIELDS:
            setattr(tally, name, int(data.get(name, 0)))
        tally.columns = {str(k): int(v) for k, v in dict(data.get("columns") or {}).items()}
        return tally


@dataclass
class Tally:
    """Counters of one segment: per entity, plus items scanned and items matching no entity."""

    entities: dict[str, EntityTally] = field(default_factory=dict)
    items: int = 0
    skipped: int = 0
    dead_letters: int = 0  # items whose key cannot be decoded: kept as dead letters, not compared
    pages: int = 0
    consumed_rcu: float = 0.0

    def entity(self, name: str) -> EntityTally:
        if name not in self.entities:
            self.entities[name] = EntityTally()
        return self.entities[name]

    def merge(self, other: Tally) -> None:
        for name, tally in other.entities.items():
            self.entity(name).merge(tally)
        self.items += other.items
        self.skipped += other.skipped
        self.dead_letters += other.dead_letters
        self.pages += other.pages
        self.consumed_rcu += other.consumed_rcu

    def to_json(self) -> dict[str, Any]:
        return {
            "entities": {name: t.to_json() for name, t in sorted(self.entities.items())},
            "items": self.items,
            "skipped": self.skipped,
            "dead_letters": self.dead_letters,
            "pages": self.pages,
            "consumed_rcu": self.consumed_rcu,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Tally:
        data = data or {}
        return cls(
            entities={str(k): EntityTally.from_json(v) for k, v in dict(data.get("entities") or {}).items()},
            items=int(data.get("items", 0)),
            skipped=int(data.get("skipped", 0)),
            dead_letters=int(data.get("dead_letters", 0)),
            pages=int(data.get("pages", 0)),
            consumed_rcu=float(data.get("consumed_rcu", 0.0)),
        )


def merged(tallies: Iterable[Tally]) -> Tally:
    total = Tally()
    for tally in tallies:
        total.merge(tally)
    return total


def parity_percent(matched: int, compared: int) -> float:
    """matched / compared x 100, rounded to 4 decimals; 100.0 when nothing was compared."""
    if compared == 0:
        return 100.0
    return round(matched * 100.0 / compared, 4)


def build_report(
    total: Tally,
    entity_names: Iterable[str],
    discrepancies: list[dict[str, Any]],
    *,
    listed_truncated: bool,
    started_at: str,
    finished_at: str | None,
    seconds: float,
    run_id: str,
    complete: bool = True,
    segments_done: int | None = None,
    total_segments: int | None = None,
) -> dict[str, Any]:
    """The report (docs/reference.md §5) plus rechecked, cleared, in_flight, skipped, run_id."""
    entities: dict[str, Any] = {}
    overall = EntityTally()
    for name in entity_names:
        tally = total.entities.get(name, EntityTally())
        overall.merge(tally)
        data = tally.to_json()
        data["parity_percent"] = parity_percent(tally.matched, tally.compared)
        entities[name] = data
    report: dict[str, Any] = {
        "parity_percent": parity_percent(overall.matched, overall.compared),
        "compared": overall.compared,
        "matched": overall.matched,
        "missing_in_postgres": overall.missing_in_postgres,
        "missing_in_dynamodb": overall.missing_in_dynamodb,
        "mismatched": overall.mismatched,
        "entities": entities,
        "discrepancies": discrepancies,
        "listed_truncated": listed_truncated,
        "started_at": started_at,
        "finished_at": finished_at,
        "items_per_second": round(total.items / seconds, 1) if seconds > 0 else 0.0,
        "run_id": run_id,
        "complete": complete,
        "items_scanned": total.items,
        "skipped": total.skipped,
        "dead_letters": total.dead_letters,
        "in_flight": overall.in_flight,
        "rechecked": overall.rechecked,
        "cleared": overall.cleared,
        "consumed_rcu": round(total.consumed_rcu, 1),
    }
    if segments_done is not None:
        report["segments_done"] = segments_done
        report["total_segments"] = total_segments
    return report
