"""Build change records from the example app's values, as DynamoDB Streams would carry them."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from parity.local.example import Campaign, Session
from parity.stream.records import ChangeRecord, EventName, Source, parse_stream_record

_seq = itertools.count(100_000_000_000_000_000_000)


def stream_record(
    event: str,
    value: Session | Campaign,
    *,
    old: Session | Campaign | None = None,
    ttl: bool = False,
    created: datetime | None = None,
    sequence: int | None = None,
) -> ChangeRecord:
    """A GetRecords-shaped record of a change of ``value`` (REMOVE: ``value`` is the deleted item)."""
    seq = str(sequence if sequence is not None else next(_seq))
    body: dict[str, Any] = {
        "ApproximateCreationDateTime": created or datetime.now(UTC),
        "Keys": value.key() if isinstance(value, Session) else {k: value.item()[k] for k in ("pk", "sk")},
        "SequenceNumber": seq,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if event == "REMOVE":
        body["OldImage"] = value.item()
    else:
        body["NewImage"] = value.item()
        if old is not None:
            body["OldImage"] = old.item()
    raw: dict[str, Any] = {"eventID": f"ev-{seq}", "eventName": event, "dynamodb": body}
    if ttl:
        raw["userIdentity"] = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    return parse_stream_record(raw)


def removed(record: ChangeRecord) -> bool:
    return record.event_name is EventName.REMOVE


__all__ = ["Source", "removed", "stream_record"]
