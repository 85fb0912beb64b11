"""Shard positions for the gate, on boto3-shaped answers (moto's stream never answers empty or trims)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from parity.stream.positions import shard_positions

NOW = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)


class FakeStreams:
    """DescribeStream of three shards; GetRecords answers from a script per shard iterator."""

    def __init__(self, pages: dict[str, list[list[dict[str, Any]]]], trimmed: frozenset[str] = frozenset()) -> None:
        self.pages = pages
        self.trimmed = trimmed
        self.calls: list[str] = []

    def describe_stream(self, **_: Any) -> dict[str, Any]:
        shards = [
            {"ShardId": s, "SequenceNumberRange": {"StartingSequenceNumber": "1"}} for s in ("s1", "s2", "s3", "s4")
        ]
        return {"StreamDescription": {"Shards": shards}}

    def get_shard_iterator(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(f"GetShardIterator {kwargs['ShardId']} {kwargs['ShardIteratorType']}")
        if kwargs["ShardId"] in self.trimmed:
            raise ClientError({"Error": {"Code": "TrimmedDataAccessException", "Message": "x"}}, "GetShardIterator")
        return {"ShardIterator": f"{kwargs['ShardId']}:0"}

    def get_records(self, ShardIterator: str, Limit: int) -> dict[str, Any]:
        shard, n = ShardIterator.split(":")
        self.calls.append(f"GetRecords {shard} {Limit}")
        script = self.pages.get(shard, [[]])
        records = script[int(n)] if int(n) < len(script) else []
        return {"Records": records, "NextShardIterator": f"{shard}:{int(n) + 1}"}


def _record(at: datetime) -> dict[str, Any]:
    return {"dynamodb": {"ApproximateCreationDateTime": at, "SequenceNumber": "9"}}


def test_lag_is_the_age_of_the_first_unchecked_record_after_empty_answers() -> None:
    waiting = datetime(2026, 11, 30, 5, 50, tzinfo=UTC)
    pages = {"s1": [[], [_record(waiting)]], "s2": [[], [], [], [_record(waiting)]]}
    streams = FakeStreams(pages, trimmed=frozenset({"s4"}))
    checkpoints = {"s1": {"sequence_number": "5"}, "s3": {"sequence_number": "7", "shard_closed": True}}
    found = {p.shard_id: p for p in shard_positions(streams, "arn", checkpoints)}
    assert found["s1"].lag_seconds(NOW) == 600  # the second GetRecords found it
    assert found["s2"].oldest_unchecked is None  # three empty answers: caught up as far as the gate looks
    assert found["s3"].finished and found["s3"].lag_seconds(NOW) == 0
    assert found["s4"].trimmed
    assert "GetShardIterator s1 AFTER_SEQUENCE_NUMBER" in streams.calls
    assert "GetShardIterator s2 TRIM_HORIZON" in streams.calls  # never checkpointed: from the start
    assert not any(c.startswith(("GetShardIterator s3", "GetRecords s3")) for c in streams.calls)  # read to its end
    assert streams.calls.count("GetRecords s2 1") == 3 and all(
        c.endswith(" 1") for c in streams.calls if "Records" in c
    )
