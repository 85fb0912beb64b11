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
Pure functions, no I/O; anything malformed raises :class:`~parity.errors.DecodeError`.
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
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and not _numeric(value):
        try:
            return parse_timestamp(datetime.fromisoformat(value))
        except ValueError as exc:
            raise DecodeError(f"ApproximateCreationDateTime {value!r} is not a timestamp") from exc
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:
        raise DecodeError(f"ApproximateCreationDateTime {value!r} is not a timestamp") from exc
    magnitude = abs(number)
    if magnitude >= Decimal("1e14"):  # microseconds (year 5138+ in ms would be needed otherwise)
        micros = int(number)
    elif magnitude >= Decimal("1e11"):  # milliseconds
        micros = int(number * 1000)
    else:  # seconds
        micros = int(number * 1_000_000)
    return _EPOCH + timedelta(microseconds=micros)


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


def parse_record(record: Mapping[str, Any], source: Source, *, fallback_id: str | None = None) -> ChangeRecord:
    """A record with a ``dynamodb`` body (Streams GetRecords, Lambda event, KDS payload, adapter JSON)."""
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
    event_id = record.get("eventID") or sequence or fallback_id
    if not event_id:
        raise DecodeError("stream record has neither eventID nor SequenceNumber")
    created = body.get("ApproximateCreationDateTime")
    if created is None:
        raise DecodeError("stream record has no ApproximateCreationDateTime")
    new_image = body.get("NewImage")
    old_image = body.get("OldImage")
    return ChangeRecord(
        event_id=str(event_id),
        event_name=event_name,
        keys=keys,
        new_image=new_image if isinstance(new_image, Mapping) else None,
        old_image=old_image if isinstance(old_image, Mapping) else None,
        approximate_created=parse_timestamp(created),
        sequence_number=None if sequence is None else str(sequence),
        user_identity=_identity(record),
        source=source,
        raw=record,
    )


def parse_stream_record(record: Mapping[str, Any]) -> ChangeRecord:
    """A DynamoDB Streams record (boto3 GetRecords answer or its JSON)."""
    return parse_record(record, Source.DYNAMODB_STREAMS)


def parse_kinesis_data(data: bytes | str, *, kinesis_sequence: str | None = None) -> ChangeRecord:
    """A Kinesis record's data: Kinesis Data Streams for DynamoDB JSON, or the Streams Kinesis Adapter shape."""
    try:
        payload = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise DecodeError(f"Kinesis record {kinesis_sequence or ''} is not JSON: {exc}".replace("  ", " ")) from exc
    return parse_record(payload, Source.KINESIS, fallback_id=kinesis_sequence)
