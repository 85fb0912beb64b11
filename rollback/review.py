"""An apply bound to a reviewed plan: ``parity replay --apply --plan plan.json``.

The dry run's ``--json`` output is what a reviewer signs off. Applying it must write only what they
saw: each listed change is judged again on the current state of both stores (the planner, as ever),
and then written only when it is still *the same change* — same key, same action, and for an insert
or update the same new values. Anything else is left for another review and counted as
``not_in_plan``: a key the plan does not list, a change that became another action, or an item
written again after the review (its new values differ from the reviewed ones).

The plan also spares the apply the costly read planning did: the stream window is not read again
(the reviewed keys and the store's open discrepancies and archive are the candidates), and each
entry's ``item_key`` finds the item without a Scan.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from parity.config import ParityConfig
from parity.errors import DecodeError, InputError
from parity.mapping import Key, key_from_json
from parity.rollback.candidates import Candidate, Removal, candidate
from parity.rollback.plan import Action
from parity.rollback.planner import Plan, Step

SOURCE = "reviewed plan"
_WRITES = {str(a) for a in Action if a.writes}


@dataclass(frozen=True)
class Reviewed:
    """One change the reviewer saw."""

    entity: str
    key: Key
    action: str
    values: dict[str, Any]
    item_key: dict[str, Any] | None


@dataclass(frozen=True)
class NotInPlan:
    """A change the current state calls for that the reviewed plan does not hold, and why."""

    step: Step
    reason: str


def read_reviewed(path: str, config: ParityConfig) -> dict[tuple[str, Key], Reviewed]:
    """The write entries of a dry run's ``--json`` output (skips are not changes to bind)."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"--plan {path}: cannot read it: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"--plan {path}: line {exc.lineno}: not JSON ({exc.msg})") from None
    entries = document.get("plan") if isinstance(document, dict) else None
    if not isinstance(entries, list) or document.get("dry_run") is not True:
        raise InputError(
            f"--plan {path}: not the output of a dry run", hint="make it with: parity replay --json > plan.json"
        )
    entities = {e.name: e for e in config.entity}
    reviewed: dict[tuple[str, Key], Reviewed] = {}
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or not isinstance(entry.get("action"), str):
            raise InputError(f"--plan {path}: entry {number} is not a plan entry")
        if entry["action"] not in _WRITES:
            continue  # a skip: nothing was reviewed to be written
        entity = entities.get(str(entry.get("entity")))
        if entity is None:
            raise InputError(f"--plan {path}: entry {number} names entity {entry.get('entity')!r}, not in the config")
        try:
            key = key_from_json(entity, entry["key"])
        except (KeyError, InputError, DecodeError, ValueError, TypeError) as exc:
            raise InputError(f"--plan {path}: entry {number}: unreadable key: {exc}") from None
        values = entry.get("values") or {}
        item_key = entry.get("item_key")
        reviewed[(entity.name, key)] = Reviewed(entity.name, key, entry["action"], values, item_key)
    return reviewed


def candidates(reviewed: dict[tuple[str, Key], Reviewed], config: ParityConfig) -> list[Candidate]:
    """The plan's keys as the planner's candidates; a reviewed delete was a user's (TTL deletes never are)."""
    entities = {e.name: e for e in config.entity}
    return [
        candidate(
            entities[r.entity],
            r.key,
            SOURCE,
            item_key=r.item_key,
            removal=Removal(datetime.now(UTC), ttl=False) if r.action == Action.DELETE else None,
        )
        for r in reviewed.values()
    ]


def bind(plan: Plan, reviewed: dict[tuple[str, Key], Reviewed]) -> tuple[Plan, list[NotInPlan]]:
    """The plan with only the changes the review holds; the others, with the reason they are left."""
    kept: list[Step] = []
    left: list[NotInPlan] = []
    for step in plan.changes:
        seen = reviewed.get((step.entity, step.key))
        if seen is None:
            left.append(NotInPlan(step, "not in the reviewed plan"))
        elif seen.action != str(step.action):
            left.append(NotInPlan(step, f"reviewed as {seen.action}, now {step.action}"))
        elif _new_values(step.values) != _new_values(seen.values):
            changed = sorted(c for c in set(step.values) | set(seen.values) if step.values.get(c) != seen.values.get(c))
            left.append(NotInPlan(step, f"written again since the review: {', '.join(changed)}"))
        else:
            kept.append(step)
    return replace(plan, changes=kept), left


def _new_values(values: dict[str, Any]) -> dict[str, Any]:
    return {column: change.get("new") if isinstance(change, dict) else change for column, change in values.items()}
