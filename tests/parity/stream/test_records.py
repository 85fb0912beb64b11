"""Every stream shape decodes to the same ChangeRecord; sample records live in tests/data/stream_records."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from parity.errors import DecodeError
from parity.stream.records import (
    EventName,
    Source,
    parse_kinesis_data,
    parse_record,
    parse_stream_record,
    parse_timestamp,
    sequence_after,
)

DATA = Path(__file__).resolve().parents[2] / "data" / "stream_records"


def load(name: str) -> dict:
    return json.loads((DATA / name).read_text())


def test_streams_insert() -> None:
    record = parse_stream_record(load("streams_insert.json"))
    assert record.event_name is EventName.INSERT
    assert record.source is Source.DYNAMODB_STREAMS
    assert record.sequence_number == "111100000000001234567890"
    assert record.approximate_created == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert record.image is not None and record.image["name"] == {"S": "Kickoff"}
    assert not record.is_ttl_delete


def test_ttl_delete_is_marked() -> None:
    record = parse_stream_record(load("streams_ttl_remove.json"))
    assert record.event_name is EventName.REMOVE
    assert record.image is None
    assert record.is_ttl_delete


def test_kinesis_payload_microseconds_and_no_sequence() -> None:
    raw = (DATA / "kinesis_ddb_modify.json").read_bytes()
    record = parse_kinesis_data(raw, kinesis_sequence="4959")
    assert record.source is Source.KINESIS
    assert record.sequence_number is None
    assert record.event_id == "1d5a9c7e-3e55-4c2a-9f6c-2b7a1d0e9f11"
    assert record.approximate_created == datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=UTC)
    assert record.user_identity is None


def test_kinesis_adapter_shape_milliseconds() -> None:
    record = parse_kinesis_data(json.dumps(load("kinesis_adapter_insert.json")))
    assert record.sequence_number == "222200000000000000000001"
    assert record.approximate_created == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)


def test_boto3_datetime_is_accepted() -> None:
    raw = load("streams_insert.json")
    raw["dynamodb"]["ApproximateCreationDateTime"] = datetime(2024, 5, 1, 12, 0)
    assert parse_stream_record(raw).approximate_created == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1714557600, datetime(2024, 5, 1, 10, 0, tzinfo=UTC)),
        ("1714557600.5", datetime(2024, 5, 1, 10, 0, 0, 500000, tzinfo=UTC)),
        (1714557600001, datetime(2024, 5, 1, 10, 0, 0, 1000, tzinfo=UTC)),
        (1714557600000001, datetime(2024, 5, 1, 10, 0, 0, 1, tzinfo=UTC)),
        ("2024-05-01T12:00:00+02:00", datetime(2024, 5, 1, 10, 0, tzinfo=UTC)),
    ],
)
def test_timestamps(value: object, expected: datetime) -> None:
    assert parse_timestamp(value) == expected


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda r: r.pop("dynamodb"), "no 'dynamodb'"),
        (lambda r: r.__setitem__("eventName", "UPSERT"), "unknown eventName"),
        (lambda r: r["dynamodb"].pop("Keys"), "no Keys"),
        (lambda r: r["dynamodb"].__setitem__("ApproximateCreationDateTime", "soon"), "not a timestamp"),
    ],
)
def test_malformed_records(mutate: object, message: str) -> None:
    raw = load("streams_insert.json")
    mutate(raw)  # type: ignore[operator]
    with pytest.raises(DecodeError, match=message):
        parse_stream_record(raw)


def test_kinesis_garbage() -> None:
    with pytest.raises(DecodeError, match="not JSON"):
        parse_kinesis_data(b"\x00\x01garbage", kinesis_sequence="42")


def test_a_record_without_creation_time_takes_its_receipt_time() -> None:
    raw = load("streams_insert.json")
    raw["dynamodb"].pop("ApproximateCreationDateTime")
    received = datetime(2026, 11, 30, 5, 0, tzinfo=UTC)
    assert parse_record(raw, Source.DYNAMODB_STREAMS, received_at=received).approximate_created == received
    before = datetime.now(UTC)
    assert parse_stream_record(raw).approximate_created >= before


@pytest.mark.parametrize("created", ["NaN", "Infinity", "-Infinity", "1e30", "1e400", float("nan"), float("inf"), 1e30])
def test_creation_times_that_are_no_point_in_time_are_decode_errors(created: object) -> None:
    raw = load("streams_insert.json")
    raw["dynamodb"]["ApproximateCreationDateTime"] = created
    with pytest.raises(DecodeError, match="ApproximateCreationDateTime"):
        parse_stream_record(raw)
    with pytest.raises(DecodeError, match="ApproximateCreationDateTime"):
        parse_timestamp(created)


@pytest.mark.parametrize("number", ["NaN", "Infinity", "1e30", "1e400", "-1e400"])
def test_kinesis_payload_with_a_bad_creation_time_is_a_decode_error(number: str) -> None:
    payload = (DATA / "kinesis_ddb_modify.json").read_text()
    body = json.loads(payload)
    text = json.dumps(body).replace(
        f'"ApproximateCreationDateTime": {body["dynamodb"]["ApproximateCreationDateTime"]}',
        f'"ApproximateCreationDateTime": {number}',
    )
    assert number in text
    with pytest.raises(DecodeError, match="ApproximateCreationDateTime"):
        parse_kinesis_data(text.encode(), kinesis_sequence="7")


def test_a_payload_nested_100000_deep_is_a_decode_error() -> None:
    with pytest.raises(DecodeError, match="nested too deeply"):
        parse_kinesis_data(b"[" * 100_000 + b"]" * 100_000, kinesis_sequence="8")


@pytest.mark.parametrize("image", [[], "x", 5, True])
def test_an_image_that_is_not_an_object_is_a_decode_error(image: object) -> None:
    for name in ("NewImage", "OldImage"):
        raw = load("streams_insert.json")
        raw["dynamodb"][name] = image
        with pytest.raises(DecodeError, match=name):
            parse_stream_record(raw)


def test_a_sequence_number_that_is_not_digits_is_a_decode_error() -> None:
    raw = load("streams_insert.json")
    raw["dynamodb"]["SequenceNumber"] = "12a"
    with pytest.raises(DecodeError, match="SequenceNumber"):
        parse_stream_record(raw)


@pytest.mark.parametrize(
    ("a", "b", "after"),
    [
        ("10", "9", True),  # longer is later, whatever the text says
        ("9", "10", False),
        ("100000000000000000000000123", "100000000000000000000000122", True),  # beyond any float's digits
        (
            "49590338271490256608559692538361571095921575989136588898",
            "4959033827149025660855969253836157109592157598913658889",
            True,
        ),
        ("5", "5", False),
    ],
)
def test_sequence_numbers_are_ordered_exactly_at_any_length(a: str, b: str, after: bool) -> None:
    assert sequence_after(a, b) is after
