"""Pure tests of the version rules (parity.versions): every version type, and unorderable cases
that must say so instead of passing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from parity.canonical import WrongType
from parity.config import EntityConfig
from parity.versions import Order, compare_versions, moment_version, order_states, version_of, written_since


def _entity(version_type: str | None, **options: Any) -> EntityConfig:
    columns: dict[str, Any] = {"name": "name"}
    if version_type is not None:
        columns["v"] = {"attribute": "v", "type": version_type, **options}
    return EntityConfig.model_validate(
        {
            "name": "thing",
            "table": "things",
            "match": {"__edb_e__": "thing"},
            "key": {"id": "id"},
            "version": "v" if version_type else None,
            "columns": columns,
        }
    )


@pytest.mark.parametrize(
    ("older", "newer"),
    [
        (1_700_000_000_000, 1_700_000_000_001),  # timestamp: int units since the epoch
        (Decimal(9), Decimal(10)),  # integer counter: numeric, not text order ("10" < "9")
        (Decimal("1.5"), Decimal("1.25E+1")),  # decimal
        (Decimal("-Infinity"), Decimal(0)),
    ],
)
def test_each_version_type_orders_both_ways(older: Any, newer: Any) -> None:
    assert compare_versions(newer, older).order is Order.NEWER
    assert compare_versions(older, newer).order is Order.OLDER
    assert compare_versions(newer, newer).order is Order.SAME


def test_equal_decimals_are_the_same_version() -> None:
    assert compare_versions(Decimal("1.50"), Decimal("1.5")).same


@pytest.mark.parametrize(
    ("a", "b", "absent", "why"),
    [
        (None, Decimal(1), True, "a: no version"),
        (Decimal(1), None, True, "b: no version"),
        (WrongType("an S where integer is mapped"), Decimal(1), False, "wrong type"),
        (Decimal("NaN"), Decimal(1), False, "NaN"),
        (Decimal(1), Decimal("NaN"), False, "NaN"),
        (1_700_000_000_000, Decimal(5), False, "different kinds"),
        (True, 1, False, "bool is not a version"),
        ("2026-01-01", "2026-01-02", False, "str is not a version"),
    ],
)
def test_unorderable_says_so_and_why(a: Any, b: Any, absent: bool, why: str) -> None:
    result = compare_versions(a, b)
    assert result.order is Order.UNORDERABLE and result.unorderable
    assert not (result.newer or result.older or result.same)
    assert result.absent is absent
    assert why in result.reason


def test_order_states_reads_the_entity_version_column() -> None:
    entity = _entity("integer")
    assert order_states(entity, {"v": Decimal(3)}, {"v": Decimal(2)}).newer
    assert order_states(entity, {"v": Decimal(2)}, {"v": Decimal(3)}).older
    assert order_states(entity, None, {"v": Decimal(3)}).absent
    wrong = order_states(entity, {"v": WrongType("x")}, {"v": Decimal(3)})
    assert wrong.unorderable and not wrong.absent


def test_without_a_version_column_nothing_is_ordered() -> None:
    result = order_states(_entity(None), {"v": Decimal(3)}, {"v": Decimal(2)})
    assert result.unorderable and result.absent and "no version column" in result.reason


def test_version_of_hides_wrong_types_for_display() -> None:
    entity = _entity("decimal")
    assert version_of(entity, {"v": Decimal("2.5")}) == Decimal("2.5")
    assert version_of(entity, {"v": WrongType("x")}) is None
    assert version_of(entity, None) is None
    assert version_of(_entity(None), {"v": Decimal(1)}) is None


def test_timestamp_versions_compare_with_a_moment_at_their_precision() -> None:
    entity = _entity("timestamp", unit="ms")
    start = datetime(2026, 3, 1, 12, 0, 0, 500_000, tzinfo=UTC)
    at_start = moment_version(entity, start)
    assert at_start == int(start.timestamp() * 1000)
    assert written_since(entity, {"v": at_start}, start).same
    assert written_since(entity, {"v": at_start + 1}, start).newer
    assert written_since(entity, {"v": at_start - 1}, start).older
    naive = start.replace(tzinfo=None)  # a naive moment is UTC, as PostgreSQL's timestamp columns are
    assert written_since(entity, {"v": at_start}, naive).same
    assert written_since(entity, {"v": at_start}, start + timedelta(seconds=1)).older


@pytest.mark.parametrize("version_type", ["integer", "decimal"])
def test_a_counter_cannot_say_whether_a_row_was_written_since_a_moment(version_type: str) -> None:
    """The reconciler's "in flight" test: a counter version is no clock, so the answer must be
    unorderable (a discrepancy), never "written after the run started" (which hid a missing item)."""
    entity = _entity(version_type)
    result = written_since(entity, {"v": Decimal(7)}, datetime(2026, 3, 1, tzinfo=UTC))
    assert result.unorderable and not result.absent
    assert f"a {version_type} version column cannot be compared with a moment" in result.reason


def test_no_version_means_not_known_to_be_written_since() -> None:
    moment = datetime(2026, 3, 1, tzinfo=UTC)
    assert written_since(_entity("timestamp"), {"v": None}, moment).absent
    assert written_since(_entity(None), {}, moment).absent
