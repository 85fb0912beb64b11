"""Pure unit tests of grouping, coalescing and judging (no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from parity.config import ParityConfig
from parity.consumer.judge import Outcome, dynamodb_only, judge
from parity.local.example import generate
from parity.stream.grouping import Dead, group, is_newer_record
from parity.stream.records import parse_stream_record
from tests.consumer.helpers import stream_record


def _row(session):  # type: ignore[no-untyped-def]
    """The row as psycopg reads it back (jsonb decoded, not the Jsonb wrapper the app writes)."""
    return {**session.row(), "metadata": session.metadata}


def _session():
    return generate(1, 1, seed=3)[0].sessions[0]


def test_coalesces_to_the_newest_by_sequence_number(example_config: ParityConfig) -> None:
    s = _session()
    later = s.touched(name="later")
    t = datetime(2026, 1, 1, tzinfo=UTC)
    newest = stream_record("MODIFY", later, sequence=200, created=t)
    older = stream_record("MODIFY", s, sequence=100, created=t + timedelta(seconds=5))  # clock says newer
    grouped = group(example_config.entity, [newest, older])
    (located,) = grouped.by_entity["session"].values()
    assert located.record is newest
    assert grouped.coalesced == 1


def test_a_longer_sequence_number_is_newer(example_config: ParityConfig) -> None:
    s = _session()
    t = datetime(2026, 1, 1, tzinfo=UTC)
    newest = stream_record("MODIFY", s.touched(name="later"), sequence=10**21, created=t)
    older = stream_record("MODIFY", s, sequence=9 * 10**20, created=t + timedelta(seconds=5))
    assert is_newer_record(newest, older) and not is_newer_record(older, newest)
    (located,) = group(example_config.entity, [older, newest]).by_entity["session"].values()
    assert located.record is newest


def test_without_sequence_numbers_the_creation_time_orders() -> None:
    s = _session()
    t = datetime(2026, 1, 1, tzinfo=UTC)
    a = stream_record("MODIFY", s, created=t)
    b = stream_record("MODIFY", s, created=t + timedelta(microseconds=1))
    a2 = a.__class__(**{**a.__dict__, "sequence_number": None})
    b2 = b.__class__(**{**b.__dict__, "sequence_number": None})
    assert is_newer_record(b2, a2) and not is_newer_record(a2, b2)


def test_items_of_no_entity_and_bare_removes_are_dead(example_config: ParityConfig) -> None:
    raw = {
        "eventID": "x1",
        "eventName": "INSERT",
        "dynamodb": {
            "ApproximateCreationDateTime": 1,
            "Keys": {"pk": {"S": "a"}, "sk": {"S": "b"}},
            "NewImage": {"pk": {"S": "a"}, "sk": {"S": "b"}, "__edb_e__": {"S": "invoice"}},
        },
    }
    bare_remove = {"eventID": "x2", "eventName": "REMOVE", "dynamodb": {**raw["dynamodb"], "NewImage": None}}
    grouped = group(example_config.entity, [parse_stream_record(raw), parse_stream_record(bare_remove)])
    assert grouped.by_entity == {}
    assert [d.record_id for d in grouped.dead] == ["x1", "x2"]
    assert "matches no entity" in grouped.dead[0].reason
    assert "REMOVE without an old image" in grouped.dead[1].reason


def test_bad_key_attribute_is_dead(example_config: ParityConfig) -> None:
    s = _session()
    record = stream_record("INSERT", s)
    image = dict(record.new_image or {})
    image["sessionId"] = {"N": "12"}
    broken = record.__class__(**{**record.__dict__, "new_image": image})
    (dead,) = group(example_config.entity, [broken]).dead
    assert isinstance(dead, Dead) and "undecodable key" in dead.reason


def test_judge_match_superseded_mismatch_and_remove(example_config: ParityConfig) -> None:
    entity = example_config.entity[0]
    s = _session()
    newer = s.touched(summary="newer in postgres")
    assert judge(entity, stream_record("INSERT", s), _row(s)).outcome is Outcome.MATCH
    assert judge(entity, stream_record("INSERT", s), _row(newer)).outcome is Outcome.SUPERSEDED
    assert judge(entity, stream_record("MODIFY", newer), _row(s)).outcome is Outcome.MISMATCH
    assert judge(entity, stream_record("INSERT", s), None).comparison.verdict == "missing_in_postgres"
    remove = stream_record("REMOVE", s)
    assert judge(entity, remove, None).outcome is Outcome.MATCH
    still_there = judge(entity, remove, _row(s))
    assert still_there.outcome is Outcome.MISMATCH and still_there.comparison.verdict == "missing_in_dynamodb"


def test_ttl_delete_is_not_a_fault_unless_the_app_deletes_rows(example_config: ParityConfig) -> None:
    entity = example_config.entity[0]
    s = _session()
    ttl = stream_record("REMOVE", s, ttl=True)
    assert ttl.is_ttl_delete
    assert judge(entity, ttl, _row(s)).outcome is Outcome.TTL_DELETE
    assert judge(entity, ttl, _row(s), ttl_deletes_rows=True).outcome is Outcome.MISMATCH


def test_integer_versions_and_unorderable_ones(example_config: ParityConfig) -> None:
    """A counter version orders like a number; a row version that cannot be ordered (a numeric NaN)
    never supersedes and keeps the change for replay (parity.versions decides)."""
    entity = example_config.entity[0].model_copy(update={"version": "session_number"})
    s = _session()
    record = stream_record("MODIFY", s)
    bumped = {**_row(s), "summary": "later", "session_number": s.session_number + 1}
    assert judge(entity, record, bumped).outcome is Outcome.SUPERSEDED
    assert not dynamodb_only(entity, record, bumped)
    behind = {**_row(s), "summary": "earlier", "session_number": s.session_number - 1}
    assert judge(entity, record, behind).outcome is Outcome.MISMATCH
    assert dynamodb_only(entity, record, behind)
    nan = {**_row(s), "summary": "later", "session_number": Decimal("NaN")}
    assert judge(entity, record, nan).outcome is Outcome.MISMATCH
    assert dynamodb_only(entity, record, nan)
