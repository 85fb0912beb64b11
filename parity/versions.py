"""Version rules: which of two states of a row is newer, in one place for every caller.

An entity's ``version`` column (``updated_at``, a revision counter, ...) orders the states of one row.
The stream checker (superseded records), the reconciler (writes in flight during a run) and the
rollback (the version guard) all ask the same question, "which side is newer?", and must get the same
answer, so they ask it here.

A version column has one of three types (``parity.config.VERSION_TYPES``; the config refuses others):

==========  ==========================================  ======================================
type        canonical form (:mod:`parity.canonical`)    comparable with a moment in time
==========  ==========================================  ======================================
timestamp   ``int`` units since the epoch (UTC)         yes: the moment at the column's precision
integer     ``Decimal`` (a counter)                     no
decimal     ``Decimal``                                 no
==========  ==========================================  ======================================

A comparison has four outcomes. :attr:`Order.UNORDERABLE` is the one that must never be read as
"fine": a side without a version, a value of the wrong type, a NaN, or a counter asked about a moment
in time cannot be ordered, and each caller decides explicitly what that means for it (the checker
reports a mismatch, the reconciler a discrepancy, the rollback replays only where its plan says so).
Pure functions, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum

from parity.canonical import Canon, WrongType, canon_postgres
from parity.config import EntityConfig


class Order(StrEnum):
    """How version ``a`` relates to version ``b``."""

    NEWER = "newer"  # a is strictly newer than b
    SAME = "same"
    OLDER = "older"  # a is strictly older than b
    UNORDERABLE = "unorderable"  # no answer: see VersionOrder.reason


@dataclass(frozen=True)
class VersionOrder:
    """The outcome of comparing two versions; ``reason`` says why when it is unorderable."""

    order: Order
    reason: str = ""
    absent: bool = False  # unorderable because a side (or the entity) has no version at all

    @property
    def newer(self) -> bool:
        return self.order is Order.NEWER

    @property
    def older(self) -> bool:
        return self.order is Order.OLDER

    @property
    def same(self) -> bool:
        return self.order is Order.SAME

    @property
    def unorderable(self) -> bool:
        return self.order is Order.UNORDERABLE


def _unorderable(reason: str, *, absent: bool = False) -> VersionOrder:
    return VersionOrder(Order.UNORDERABLE, reason, absent)


def version_of(entity: EntityConfig, canon: Mapping[str, Canon] | None) -> Canon:
    """The version of a canonical item or row for display and change detection.

    None when the entity has no version column, ``canon`` is None (no item, no row), or the value
    is of the wrong type. To ORDER versions use :func:`order_states` or :func:`compare_versions`,
    which tell a missing version from a wrong one.
    """
    value = _raw_version(entity, canon)
    return None if isinstance(value, WrongType) else value


def _raw_version(entity: EntityConfig, canon: Mapping[str, Canon] | None) -> Canon:
    if entity.version is None or canon is None:
        return None
    return canon.get(entity.version)


def compare_versions(a: Canon, b: Canon) -> VersionOrder:
    """Order two canonical versions of the same version column."""
    for side, value in (("a", a), ("b", b)):
        problem = _not_orderable(value)
        if problem:
            return _unorderable(f"{side}: {problem}", absent=value is None)
    if type(a) is not type(b):  # an int timestamp against a Decimal counter: different columns
        return _unorderable(f"versions of different kinds ({type(a).__name__}, {type(b).__name__})")
    if a > b:
        return VersionOrder(Order.NEWER)
    if a < b:
        return VersionOrder(Order.OLDER)
    return VersionOrder(Order.SAME)


def _not_orderable(value: Canon) -> str:
    """Why a canonical version cannot take part in an ordering ("" when it can)."""
    if value is None:
        return "no version"
    if isinstance(value, WrongType):
        return f"version of the wrong type ({value.reason})"
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        return f"a {type(value).__name__} is not a version"
    if isinstance(value, Decimal) and value.is_nan():
        return "NaN is not a version"
    return ""


def order_states(entity: EntityConfig, a: Mapping[str, Canon] | None, b: Mapping[str, Canon] | None) -> VersionOrder:
    """How canonical state ``a`` (an item or a row) relates to state ``b`` by the entity's version."""
    if entity.version is None:
        return _unorderable(f"entity '{entity.name}' has no version column", absent=True)
    return compare_versions(_raw_version(entity, a), _raw_version(entity, b))


def moment_version(entity: EntityConfig, moment: datetime) -> Canon:
    """The version a write made at ``moment`` carries at least, or :class:`WrongType` when the
    version column is no clock (an integer or decimal counter) and so cannot be compared with one."""
    if entity.version is None:
        return None
    spec = entity.all_columns[entity.version]
    if spec.type != "timestamp":
        return WrongType(f"a {spec.type} version column cannot be compared with a moment in time")
    moment = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return canon_postgres(spec, moment)


def written_since(entity: EntityConfig, state: Mapping[str, Canon] | None, moment: datetime) -> VersionOrder:
    """Was ``state`` (a canonical row or item) written at or after ``moment``?

    NEWER or SAME: yes (a write in flight when ``moment`` is a run's start); OLDER: no;
    UNORDERABLE: the version cannot tell (no version column, no version, or a counter), and the
    caller must not assume the write is in flight.
    """
    if entity.version is None:
        return _unorderable(f"entity '{entity.name}' has no version column", absent=True)
    return compare_versions(_raw_version(entity, state), moment_version(entity, moment))
