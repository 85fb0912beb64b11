"""How far behind the stream each shard's checkpoint is: what ``parity gate`` asks the stream.

For every shard that is not read to its end, one ``GetShardIterator`` after the checkpoint (or at
``TRIM_HORIZON`` for a shard never checkpointed) and ``GetRecords`` with ``Limit=1``: the first
record not yet checked, if any, and how old it is. That age is the shard's lag: how long a change
has been waiting to be checked. Two small calls per open shard (a DynamoDB stream has a handful; up
to three GetRecords when a shard answers empty), nothing is read beyond one record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from parity.dynamo import dynamodb_errors, error_code
from parity.errors import DynamoDBError
from parity.stream.records import parse_timestamp
from parity.stream.shards import StreamReader

_FOLLOW = 3  # GetRecords calls per shard at most


@dataclass(frozen=True)
class ShardPosition:
    """One shard: its checkpoint and the oldest record after it (None when it is caught up)."""

    shard_id: str
    checkpoint: str | None
    closed: bool
    finished: bool  # read to its end and checkpointed as such
    oldest_unchecked: datetime | None
    trimmed: bool = False  # the checkpoint fell off the stream's retention

    def lag_seconds(self, now: datetime) -> float:
        if self.oldest_unchecked is None:
            return 0.0
        return max(0.0, (now - self.oldest_unchecked).total_seconds())


def shard_positions(streams: Any, stream_arn: str, checkpoints: Mapping[str, Mapping[str, Any]]) -> list[ShardPosition]:
    """Every listed shard's position against the store's checkpoints (see the module docstring)."""
    out: list[ShardPosition] = []
    for info in StreamReader(streams, stream_arn).describe():
        saved = checkpoints.get(info.shard_id) or {}
        sequence = saved.get("sequence_number")
        finished = bool(saved.get("shard_closed"))
        if finished:
            out.append(ShardPosition(info.shard_id, sequence, info.closed, True, None))
            continue
        oldest, trimmed = _first_unchecked(streams, stream_arn, info.shard_id, sequence)
        out.append(ShardPosition(info.shard_id, sequence, info.closed, False, oldest, trimmed))
    return out


def _first_unchecked(streams: Any, arn: str, shard_id: str, sequence: str | None) -> tuple[datetime | None, bool]:
    kwargs: dict[str, Any] = {"StreamArn": arn, "ShardId": shard_id}
    if sequence is None:
        kwargs["ShardIteratorType"] = "TRIM_HORIZON"
    else:
        kwargs.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=sequence)
    try:
        with dynamodb_errors(f"opening shard {shard_id}"):
            iterator = streams.get_shard_iterator(**kwargs).get("ShardIterator")
    except DynamoDBError as exc:
        if error_code(exc) == "TrimmedDataAccessException":
            return None, True
        if error_code(exc) == "ResourceNotFoundException":
            return None, False
        raise
    # GetRecords may answer empty while records follow (an open shard's empty stretch): follow the
    # next iterator a few times before calling the shard caught up
    for _ in range(_FOLLOW):
        if not iterator:
            return None, False
        with dynamodb_errors(f"reading shard {shard_id}"):
            answer = streams.get_records(ShardIterator=iterator, Limit=1)
        records = answer.get("Records", [])
        if records:
            return parse_timestamp(records[0]["dynamodb"]["ApproximateCreationDateTime"]), False
        iterator = answer.get("NextShardIterator")
    return None, False
