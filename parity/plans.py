"""The plan of a journalled command (``parity replay``, ``parity repair``): one step a key, each
with its decision, the action the command takes for that key (an enum of the command's own) and
what it changes. Deciding is the command's; the shape of a plan is shared, so that the options,
checks and outputs built on it (:mod:`parity.commands.journalled`) are written once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from parity.mapping import Key

A = TypeVar("A")


@dataclass(frozen=True)
class Decision(Generic[A]):
    """One key's action; ``columns`` the mapped columns that differ (config order; empty for a
    whole-row write and a skip), ``attributes`` templated attributes an update also sets (repair),
    ``reason`` why the key cannot be written or its versions cannot be ordered."""

    action: A
    columns: tuple[str, ...] = ()
    attributes: tuple[str, ...] = ()
    reason: str = ""


@dataclass(frozen=True)
class Step(Generic[A]):
    """One key of a plan: the entity, its key (canonical and as a JSON object) and the decision."""

    entity: str
    key: Key
    key_json: dict[str, Any]
    decision: Decision[A]

    @property
    def action(self) -> A:
        return self.decision.action


S = TypeVar("S", bound=Step[Any])


@dataclass
class Plan(Generic[S]):
    """Every key's step, in the order the plan lists them."""

    steps: list[S]

    def count(self, action: object) -> int:
        return sum(1 for s in self.steps if s.action is action)
