"""Shard lineage, iterator expiry and trimming of :class:`parity.stream.shards.StreamReader`.

moto's local stream has one shard that never splits and iterators that never expire, so these
cases are covered here with a fake ``dynamodbstreams`` client that answers with boto3-shaped
responses (recorded shapes of DescribeStream / GetShardIterator / GetRecords and their
ClientErrors). Only the responses are faked; the reader's ordering and state logic is real.
"""

from __future__ import annotations

from typing import Any

import botocore.exceptions
import pytest

from parity.errors import DynamoDBError
from parity.stream.shards import Gap, ShardState, StartAt, StreamReader, parse_shards, readable_shards

ARN = "arn:aws:dynamodb:us-east-1:000000000000:table/app/stream/2026-11-25T00:00:00.000"


def _shard(shard_id: str, parent: str | None = None, *, start: str = "100", end: str | None = None) -> dict[str, Any]:
    numbers = {"StartingSequenceNumber": start}
    if end is not None:
        numbers["EndingSequenceNumber"] = end
    shard: dict[str, Any] = {"ShardId": shard_id, "SequenceNumberRange": numbers}
    if parent:
        shard["ParentShardId"] = parent
    return shard


def _record(seq: int) -> dict[str, Any]:
    return {"eventID": f"e{seq}", "eventName": "INSERT", "dynamodb": {"SequenceNumber": str(seq), "Keys": {}}}


def _client_error(code: str, operation: str) -> botocore.exceptions.ClientError:
    return botocore.exceptions.ClientError({"Error": {"Code": code, "Message": f"{code} (recorded)"}}, operation)


class FakeStreams:
    """Answers like boto3's dynamodbstreams client from scripted shards and records."""

    def __init__(self, shards: list[dict[str, Any]], records: dict[str, list[int]], *, page: int = 2) -> None:
        self.shards = shards
        self.records = records
        self.page = page
        self.trim_before: dict[str, int] = {}
        self.expire_next: set[str] = set()
        self.calls: list[tuple[str, Any]] = []
        self.describe_pages = 1

    def describe_stream(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("describe_stream", kwargs.get("ExclusiveStartShardId")))
        shards = self.shards
        start = kwargs.get("ExclusiveStartShardId")
        if start is not None:
            shards = shards[[s["ShardId"] for s in shards].index(start) + 1 :]
        size = max(1, -(-len(self.shards) // self.describe_pages))
        desc: dict[str, Any] = {"StreamArn": kwargs["StreamArn"], "Shards": shards[:size]}
        if len(shards) > size:
            desc["LastEvaluatedShardId"] = shards[size - 1]["ShardId"]
        return {"StreamDescription": desc}

    def get_shard_iterator(self, **kwargs: Any) -> dict[str, Any]:
        shard, kind = kwargs["ShardId"], kwargs["ShardIteratorType"]
        self.calls.append(("get_shard_iterator", (shard, kind, kwargs.get("SequenceNumber"))))
        seqs = self.records.get(shard, [])
        floor = self.trim_before.get(shard, 0)
        if kind == "AFTER_SEQUENCE_NUMBER":
            after = int(kwargs["SequenceNumber"])
            if after < floor - 1:
                raise _client_error("TrimmedDataAccessException", "GetShardIterator")
            index = sum(1 for s in seqs if s <= after)
        elif kind == "LATEST":
            index = len(seqs)
        else:
            index = sum(1 for s in seqs if s < floor)
        return {"ShardIterator": f"{shard}|{index}"}

    def get_records(self, **kwargs: Any) -> dict[str, Any]:
        shard, index_text = kwargs["ShardIterator"].split("|")
        self.calls.append(("get_records", (shard, int(index_text))))
        if shard in self.expire_next:
            self.expire_next.discard(shard)
            raise _client_error("ExpiredIteratorException", "GetRecords")
        seqs = self.records.get(shard, [])
        index = int(index_text)
        floor = self.trim_before.get(shard, 0)
        if index < len(seqs) and seqs[index] < floor:
            raise _client_error("TrimmedDataAccessException", "GetRecords")
        chunk = seqs[index : index + self.page]
        closed = any(s["ShardId"] == shard and "EndingSequenceNumber" in s["SequenceNumberRange"] for s in self.shards)
        answer: dict[str, Any] = {"Records": [_record(s) for s in chunk]}
        nxt = index + len(chunk)
        if not (closed and nxt >= len(seqs)):
            answer["NextShardIterator"] = f"{shard}|{nxt}"
        return answer


def _drain(reader: StreamReader, polls: int = 20) -> list[int]:
    seen: list[int] = []
    for _ in range(polls):
        for batch in reader.poll():
            seen.extend(int(r["dynamodb"]["SequenceNumber"]) for r in batch.records)
    return seen


def test_parse_shards_reads_every_page() -> None:
    client = FakeStreams([_shard("a"), _shard("b", "a"), _shard("c", "a")], {})
    client.describe_pages = 3
    reader = StreamReader(client, ARN)
    assert [s.shard_id for s in reader.describe()] == ["a", "b", "c"]
    assert [c for c in client.calls if c[0] == "describe_stream"] == [
        ("describe_stream", None),
        ("describe_stream", "a"),
        ("describe_stream", "b"),
    ]
    assert parse_shards([{"StreamDescription": {"Shards": [_shard("x", end="9")]}}])[0].closed


def test_children_wait_for_their_parent_to_be_read_to_the_end() -> None:
    shards = [_shard("child-2", "parent"), _shard("parent", end="105"), _shard("child-1", "parent")]
    client = FakeStreams(shards, {"parent": [101, 102, 103, 104, 105], "child-1": [201, 202], "child-2": [301]})
    reader = StreamReader(client, ARN)
    first = reader.poll()
    assert [b.shard_id for b in first] == ["parent"]  # the children are not readable yet
    seen = [int(r["dynamodb"]["SequenceNumber"]) for b in first for r in b.records]
    seen += _drain(reader)
    assert seen[:5] == [101, 102, 103, 104, 105]  # every parent record before any child record
    assert sorted(seen[5:]) == [201, 202, 301]
    assert reader.states["parent"].finished


def test_parent_gone_from_the_listing_makes_children_readable() -> None:
    states = {
        "child": ShardState(parse_shards([{"StreamDescription": {"Shards": [_shard("child", "trimmed-parent")]}}])[0])
    }
    assert readable_shards(states) == ["child"]


def test_grandchildren_are_ordered_after_children() -> None:
    listing = [_shard("g", "c"), _shard("c", "p", end="2"), _shard("p", end="1")]
    states = {s.shard_id: ShardState(s) for s in parse_shards([{"StreamDescription": {"Shards": listing}}])}
    assert readable_shards(states) == ["p"]
    states["p"].finished = True
    assert readable_shards(states) == ["c"]
    states["c"].finished = True
    assert readable_shards(states) == ["g"]


def test_a_child_created_later_is_discovered_when_the_parent_ends() -> None:
    client = FakeStreams([_shard("parent")], {"parent": [1, 2, 3]}, page=10)
    reader = StreamReader(client, ARN, refresh_seconds=3600)
    assert _drain(reader, 2) == [1, 2, 3]
    # the shard splits: the parent closes, a child appears
    client.shards = [_shard("parent", end="3"), _shard("child", "parent")]
    client.records["child"] = [10, 11]
    assert _drain(reader, 3) == [10, 11]
    assert reader.states["parent"].finished and not reader.states["child"].finished


def test_resume_after_checkpoint_and_skip_closed_shards() -> None:
    client = FakeStreams([_shard("old", end="3"), _shard("s", "old")], {"old": [1, 2, 3], "s": [4, 5, 6]})
    checkpoints = {"old": {"sequence_number": "3", "shard_closed": True}, "s": {"sequence_number": "5"}}
    reader = StreamReader(client, ARN, checkpoints=checkpoints)
    assert _drain(reader, 3) == [6]
    assert ("get_shard_iterator", ("s", "AFTER_SEQUENCE_NUMBER", "5")) in client.calls
    assert not any(c[0] == "get_shard_iterator" and c[1][0] == "old" for c in client.calls)


def test_latest_skips_history_but_reads_children_from_their_start() -> None:
    client = FakeStreams([_shard("closed", end="2"), _shard("open")], {"closed": [1, 2], "open": [5, 6]})
    reader = StreamReader(client, ARN, start=StartAt.LATEST, refresh_seconds=3600)
    assert _drain(reader, 2) == []
    client.records["open"].append(7)
    assert _drain(reader, 2) == [7]
    client.shards = [_shard("closed", end="2"), _shard("open", end="7"), _shard("kid", "open")]
    client.records["kid"] = [8]
    reader.refresh()
    assert _drain(reader, 3) == [8]  # shards discovered later start at TRIM_HORIZON even in latest mode


def test_expired_iterator_gets_a_fresh_one_after_the_last_record() -> None:
    client = FakeStreams([_shard("s")], {"s": [1, 2, 3, 4]})
    reader = StreamReader(client, ARN)
    assert _drain(reader, 1) == [1, 2]
    client.expire_next.add("s")
    assert _drain(reader, 3) == [3, 4]  # nothing skipped, nothing twice
    assert ("get_shard_iterator", ("s", "AFTER_SEQUENCE_NUMBER", "2")) in client.calls


def test_trimmed_data_is_a_reported_gap_and_reading_goes_on() -> None:
    client = FakeStreams([_shard("s")], {"s": [1, 2, 3, 4, 5, 6]})
    gaps: list[Gap] = []
    reader = StreamReader(client, ARN, checkpoints={"s": {"sequence_number": "1"}}, on_gap=gaps.append)
    client.trim_before["s"] = 5  # records 2..4 fell off the retention before they were read
    assert _drain(reader, 3) == [5, 6]
    assert gaps == [Gap("s", "1", "TrimmedDataAccessException on GetShardIterator")]


def test_trimmed_while_reading() -> None:
    client = FakeStreams([_shard("s")], {"s": [1, 2, 3, 4, 5]})
    gaps: list[Gap] = []
    reader = StreamReader(client, ARN, on_gap=gaps.append)
    assert _drain(reader, 1) == [1, 2]
    client.trim_before["s"] = 4
    assert _drain(reader, 3) == [4, 5]
    assert [(g.shard_id, g.after_sequence, g.reason) for g in gaps] == [
        ("s", "2", "TrimmedDataAccessException on GetRecords")
    ]


def test_other_errors_propagate_as_dynamodb_errors() -> None:
    client = FakeStreams([_shard("s")], {"s": [1]})

    def boom(**_: Any) -> dict[str, Any]:
        raise _client_error("AccessDeniedException", "GetRecords")

    client.get_records = boom  # type: ignore[method-assign]
    reader = StreamReader(client, ARN)
    with pytest.raises(DynamoDBError, match="AccessDeniedException"):
        reader.poll()
