"""Change records from every stream shape, as one read-only value: :class:`ChangeRecord`.

Three shapes carry the same DynamoDB change:

- **DynamoDB Streams** ``GetRecords`` records (boto3: ``ApproximateCreationDateTime`` is a
  ``datetime`` rounded to the second; JSON/Lambda events: epoch seconds), with a ``SequenceNumber``.
- **Kinesis Data Streams for DynamoDB** payloads (``recordFormat: application/json``, ``tableName``):
  no DynamoDB sequence number; ``ApproximateCreationDateTime`` in epoch milliseconds, or
  microseconds when the table's streaming destination asks for MICROSECOND precision.
- the **DynamoDB Streams Kinesis Adapter** JSON (a DynamoDB Streams record serialized by the
  adapter), which keeps ``SequenceNumber`` inside ``dynamodb``.

Numbers stay as text inside the typed images (decoded later as Decimal by the canonical layer).
A record without ``ApproximateCreationDateTime`` is valid (the API model makes it optional): it
takes the time it was received. Pure functions, no I/O; anything malformed (a timestamp that is not
finite or outside the years 1-9999, an image that is not an object, a payload nested deeper than
the JSON parser goes) raises :class:`~parity.errors.DecodeError`, never another exception.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from parity.dynamo_json import Item
from parity.errors import DecodeError

TTL_PRINCIPAL = "dynamodb.amazonaws.com"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class EventName(StrEnum):
    INSERT = "INSERT"
    MODIFY = "MODIFY"
    REMOVE = "REMOVE"


class Source(StrEnum):
    DYNAMODB_STREAMS = "dynamodb-streams"
    KINESIS = "kinesis"


@dataclass(frozen=True)
class ChangeRecord:
    """One change of one item, whatever stream carried it."""

    event_id: str
    event_name: EventName
    keys: Item
    new_image: Item | None
    old_image: Item | None
    approximate_created: datetime  # UTC; microseconds where the source has them
    sequence_number: str | None  # DynamoDB Streams sequence; None for Kinesis Data Streams payloads
    user_identity: str | None  # principal of a service delete, "dynamodb.amazonaws.com" for TTL
    source: Source
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @property
    def image(self) -> Item | None:
        """What the item is after this change: the new image, or None for a REMOVE."""
        return None if self.event_name is EventName.REMOVE else self.new_image

    @property
    def is_ttl_delete(self) -> bool:
        return self.event_name is EventName.REMOVE and self.user_identity == TTL_PRINCIPAL


def parse_timestamp(value: Any) -> datetime:
    """ApproximateCreationDateTime in any shape: datetime, ISO text, epoch s / ms / µs by magnitude."""
    if isinstance(value, datetime):  # boto3's shape first: the hot path of `parity consume`
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise DecodeError(f"ApproximateCreationDateTime {str(value)[:40]!r} is not a timestamp")
    if isinstance(value, str) and not _numeric(value):
        try:
            return parse_timestamp(datetime.fromisoformat(value))
        except ValueError as exc:
            raise DecodeError(f"ApproximateCreationDateTime {value!r} is not a timestamp") from exc
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:
        raise DecodeError(f"ApproximateCreationDateTime {str(value)[:40]!r} is not a timestamp") from exc
    if not number.is_finite() or abs(number) >= Decimal("1e18"):  # NaN, Infinity, 1e30, 1e400
        raise DecodeError(f"ApproximateCreationDateTime {str(value)[:40]!r} is not a point in time")
    magnitude = abs(number)
    if magnitude >= Decimal("1e14"):  # microseconds (year 5138+ in ms would be needed otherwise)
        micros = int(number)
    elif magnitude >= Decimal("1e11"):  # milliseconds
        micros = int(number * 1000)
    else:  # seconds
        micros = int(number * 1_000_000)
    try:
        return _EPOCH + timedelta(microseconds=micros)
    except OverflowError as exc:  # before year 1
        raise DecodeError(f"ApproximateCreationDateTime {str(value)[:40]!r} is not a point in time") from exc


def sequence_after(a: str, b: str) -> bool:
    """Whether stream sequence number ``a`` comes after ``b``. Both are decimal strings of any length
    (DynamoDB's run to 21+ digits, Kinesis's to 56), so they are ordered by length, then text, the
    order the stored checkpoints' SQL uses too: exact, with no conversion that could fail."""
    return (len(a), a) > (len(b), b)


def _numeric(text: str) -> bool:
    try:
        Decimal(text)
    except InvalidOperation:
        return False
    return True


def _identity(record: Mapping[str, Any]) -> str | None:
    identity = record.get("userIdentity") or record.get("UserIdentity")
    if isinstance(identity, Mapping):
        principal = identity.get("principalId") or identity.get("PrincipalId")
        return None if principal is None else str(principal)
    return None


def parse_record(
    record: Mapping[str, Any],
    source: Source,
    *,
    fallback_id: str | None = None,
    received_at: datetime | None = None,
) -> ChangeRecord:
    """A record with a ``dynamodb`` body (Streams GetRecords, Lambda event, KDS payload, adapter JSON).

    ``received_at`` stands in for a missing ApproximateCreationDateTime (now when not given).
    """
    if not isinstance(record, Mapping):
        raise DecodeError(f"stream record is a {type(record).__name__}, not an object")
    body = record.get("dynamodb")
    if not isinstance(body, Mapping):
        raise DecodeError("stream record has no 'dynamodb' object")
    try:
        event_name = EventName(str(record.get("eventName")))
    except ValueError:
        raise DecodeError(f"unknown eventName {record.get('eventName')!r}") from None
    keys = body.get("Keys")
    if not isinstance(keys, Mapping) or not keys:
        raise DecodeError("stream record has no Keys")
    sequence = body.get("SequenceNumber")
    if type(sequence) is int and sequence >= 0:
        sequence = str(sequence)
    if sequence is not None and not (
        type(sequence) is str and sequence.isascii() and sequence.isdigit() and len(sequence) <= 100
    ):
        raise DecodeError(f"SequenceNumber {str(sequence)[:40]!r} is not a sequence number")
    event_id = record.get("eventID") or sequence or fallback_id
    if not event_id or not isinstance(event_id, str | int):
        raise DecodeError("stream record has neither eventID nor SequenceNumber")
    created = body.get("ApproximateCreationDateTime")
    return ChangeRecord(
        event_id=str(event_id),
        event_name=event_name,
        keys=keys,
        new_image=_image(body, "NewImage"),
        old_image=_image(body, "OldImage"),
        approximate_created=parse_timestamp(created) if created is not None else received_at or datetime.now(UTC),
        sequence_number=None if sequence is None else str(sequence),
        user_identity=_identity(record),
        source=source,
        raw=record,
    )


def _image(body: Mapping[str, Any], name: str) -> Item | None:
    image = body.get(name)
    if image is None:
        return None
    if not isinstance(image, Mapping):
        raise DecodeError(f"{name} is a {type(image).__name__}, not an object")
    return image


def parse_stream_record(record: Mapping[str, Any]) -> ChangeRecord:
    """A DynamoDB Streams record (boto3 GetRecords answer or its JSON)."""
    return parse_record(record, Source.DYNAMODB_STREAMS)


def parse_kinesis_data(data: bytes | str, *, kinesis_sequence: str | None = None) -> ChangeRecord:
    """A Kinesis record's data: Kinesis Data Streams for DynamoDB JSON, or the Streams Kinesis Adapter shape."""
    try:
        payload = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise DecodeError(f"Kinesis record {kinesis_sequence or ''} is not JSON: {exc}".replace("  ", " ")) from exc
    except RecursionError:
        raise DecodeError(
            f"Kinesis record {kinesis_sequence or ''} is JSON nested too deeply to read".replace("  ", " ")
        ) from None
    return parse_record(payload, Source.KINESIS, fallback_id=kinesis_sequence)
