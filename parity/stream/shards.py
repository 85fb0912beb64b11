"""Reading a DynamoDB stream: every shard, parents before children, resumable, gap-aware.

A DynamoDB stream is a tree of shards: a shard closes (it gets an ``EndingSequenceNumber``) and
splits into children roughly every four hours, and shards older than 24 h are trimmed away. To see
every change of a key in order, a child shard must only be read after its parent has been read to
the end. :class:`StreamReader` does that with boto3's ``dynamodbstreams`` client:

- ``DescribeStream`` (paged) lists the shards; it is re-read periodically and whenever a shard
  ends, so children created while the reader runs are found;
- a shard is readable once its parent is finished or no longer listed (trimmed);
- it resumes a shard with ``AFTER_SEQUENCE_NUMBER`` from the caller's checkpoint, else starts at
  ``TRIM_HORIZON`` (or ``LATEST`` for shards already open when a ``latest`` reader starts);
- ``ExpiredIteratorException`` (iterators live 15 minutes): a fresh iterator after the last record
  handed out;
- ``TrimmedDataAccessException`` (the position fell off the 24 h retention): records were lost.
  The reader reports a :class:`Gap` through ``on_gap`` and continues from ``TRIM_HORIZON``; the
  caller records it loudly and advises a full reconcile.

The ordering and state logic are pure functions of boto3-shaped responses
(:func:`parse_shards`, :func:`readable_shards`), because moto's local stream has a single shard
that never splits and iterators that never expire: the unit tests feed recorded responses to
them and to a fake client for lineage, expiry and trimming. rollback's ``--from-stream`` can use the
same reader. The reader itself is not thread-safe; one reader per stream per process.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from parity.dynamo import dynamodb_errors, error_code
from parity.errors import DynamoDBError
from parity.telemetry import get_logger

log = get_logger("stream.shards")


class StartAt(StrEnum):
    TRIM_HORIZON = "trim_horizon"
    LATEST = "latest"


@dataclass(frozen=True)
class ShardInfo:
    """One shard as DescribeStream lists it."""

    shard_id: str
    parent_shard_id: str | None
    starting_sequence: str | None
    ending_sequence: str | None  # set once the shard is closed

    @property
    def closed(self) -> bool:
        return self.ending_sequence is not None


@dataclass(frozen=True)
class Gap:
    """Records lost on a shard: they were trimmed before they were read."""

    shard_id: str
    after_sequence: str | None
    reason: str


@dataclass(frozen=True)
class ShardBatch:
    """One GetRecords answer of one shard, handed to the caller to check and checkpoint."""

    shard_id: str
    parent_shard_id: str | None
    records: list[dict[str, Any]]
    last_sequence: str | None  # of the last record in ``records`` (None when empty)
    ended: bool  # the shard is closed and fully read: checkpoint it as closed


@dataclass
class ShardState:
    """What the reader knows about a shard: its position and whether it is finished."""

    info: ShardInfo
    position: str | None = None  # last sequence handed out (resume after it)
    finished: bool = False
    iterator: str | None = None
    start: StartAt = StartAt.TRIM_HORIZON


def parse_shards(pages: Iterable[Mapping[str, Any]]) -> list[ShardInfo]:
    """Shards from DescribeStream answers (``StreamDescription.Shards`` of every page)."""
    out: list[ShardInfo] = []
    for page in pages:
        for shard in page.get("StreamDescription", {}).get("Shards", []):
            numbers = shard.get("SequenceNumberRange", {})
            out.append(
                ShardInfo(
                    shard_id=shard["ShardId"],
                    parent_shard_id=shard.get("ParentShardId"),
                    starting_sequence=numbers.get("StartingSequenceNumber"),
                    ending_sequence=numbers.get("EndingSequenceNumber"),
                )
            )
    return out


def readable_shards(states: Mapping[str, ShardState]) -> list[str]:
    """Shards that may be read now: not finished, and their parent finished or no longer listed.

    Returned parents first (by ancestry depth, then shard id), so a caller that reads them in order
    never sees a child's record before its parent's.
    """

    def depth(shard_id: str) -> int:
        seen = 0
        parent = states[shard_id].info.parent_shard_id
        while parent is not None and parent in states and seen < 10_000:
            seen += 1
            parent = states[parent].info.parent_shard_id
        return seen

    ready = [
        sid
        for sid, state in states.items()
        if not state.finished
        and (
            state.info.parent_shard_id is None
            or state.info.parent_shard_id not in states
            or states[state.info.parent_shard_id].finished
        )
    ]
    return sorted(ready, key=lambda sid: (depth(sid), sid))


class StreamReader:
    """Reads every shard of one DynamoDB stream, parents before children (see the module docstring).

    ``checkpoints`` maps shard id -> ``{"sequence_number": ..., "shard_closed": ...}`` as
    :meth:`parity.store.Store.checkpoints` returns them. After the caller has committed a batch it
    saves ``batch.last_sequence`` (and ``shard_closed=batch.ended``) as that shard's checkpoint; the
    reader itself already moved past it.
    """

    def __init__(
        self,
        client: Any,
        stream_arn: str,
        *,
        start: StartAt = StartAt.TRIM_HORIZON,
        checkpoints: Mapping[str, Mapping[str, Any]] | None = None,
        limit: int = 1000,
        on_gap: Callable[[Gap], None] | None = None,
        refresh_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.stream_arn = stream_arn
        self.start = start
        self.limit = limit
        self.on_gap = on_gap
        self.refresh_seconds = refresh_seconds
        self._clock = clock
        self._checkpoints = dict(checkpoints or {})
        self.states: dict[str, ShardState] = {}
        self._refreshed_at: float | None = None
        self._first_listing = True

    # --- shard listing ---------------------------------------------------------------------------

    def describe(self) -> list[ShardInfo]:
        pages: list[Mapping[str, Any]] = []
        start_after: str | None = None
        while True:
            kwargs: dict[str, Any] = {"StreamArn": self.stream_arn}
            if start_after:
                kwargs["ExclusiveStartShardId"] = start_after
            with dynamodb_errors("describing the DynamoDB stream"):
                page = self.client.describe_stream(**kwargs)
            pages.append(page)
            start_after = page.get("StreamDescription", {}).get("LastEvaluatedShardId")
            if not start_after:
                return parse_shards(pages)

    def refresh(self) -> None:
        """Learn new shards (and closings) from DescribeStream."""
        for info in self.describe():
            state = self.states.get(info.shard_id)
            if state is not None:
                state.info = info
                continue
            self.states[info.shard_id] = self._new_state(info)
        self._first_listing = False
        self._refreshed_at = self._clock()

    def _new_state(self, info: ShardInfo) -> ShardState:
        saved = self._checkpoints.get(info.shard_id)
        if saved is not None:
            return ShardState(info, position=saved.get("sequence_number"), finished=bool(saved.get("shard_closed")))
        if self._first_listing and self.start is StartAt.LATEST:
            # Reading from now on: shards already closed hold only the past.
            return ShardState(info, finished=info.closed, start=StartAt.LATEST)
        return ShardState(info)

    # --- reading ---------------------------------------------------------------------------------

    def poll(self) -> list[ShardBatch]:
        """One GetRecords on every readable shard (parents first); empty batches included."""
        if self._refreshed_at is None or self._clock() - self._refreshed_at >= self.refresh_seconds:
            self.refresh()
        batches: list[ShardBatch] = []
        ended_any = False
        for shard_id in readable_shards(self.states):
            batch = self._read(self.states[shard_id])
            batches.append(batch)
            ended_any = ended_any or batch.ended
        if ended_any:
            self.refresh()  # a parent ended: its children may be listed by now
        return batches

    def _iterator(self, state: ShardState) -> str | None:
        kwargs: dict[str, Any] = {"StreamArn": self.stream_arn, "ShardId": state.info.shard_id}
        if state.position is not None:
            kwargs.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=state.position)
        else:
            kwargs["ShardIteratorType"] = "LATEST" if state.start is StartAt.LATEST else "TRIM_HORIZON"
        try:
            with dynamodb_errors(f"opening shard {state.info.shard_id}"):
                answer = self.client.get_shard_iterator(**kwargs)
        except DynamoDBError as exc:
            code = error_code(exc)
            if code == "TrimmedDataAccessException":
                self._gap(state, "TrimmedDataAccessException on GetShardIterator")
                return self._iterator(state)
            if code == "ResourceNotFoundException":
                log.warning("shard is gone", shard=state.info.shard_id)
                state.finished = True
                return None
            raise
        iterator = answer.get("ShardIterator")
        return None if iterator is None else str(iterator)

    def _gap(self, state: ShardState, reason: str) -> None:
        gap = Gap(state.info.shard_id, state.position, reason)
        state.position = None
        state.start = StartAt.TRIM_HORIZON
        state.iterator = None
        if self.on_gap is not None:
            self.on_gap(gap)

    def _read(self, state: ShardState) -> ShardBatch:
        for _ in range(3):
            if state.iterator is None:
                state.iterator = self._iterator(state)
                if state.iterator is None:
                    return self._ended(state, [])
            try:
                with dynamodb_errors(f"reading shard {state.info.shard_id}"):
                    answer = self.client.get_records(ShardIterator=state.iterator, Limit=self.limit)
            except DynamoDBError as exc:
                code = error_code(exc)
                if code == "ExpiredIteratorException":
                    log.info("shard iterator expired; opening a fresh one", shard=state.info.shard_id)
                    state.iterator = None
                    continue
                if code == "TrimmedDataAccessException":
                    self._gap(state, "TrimmedDataAccessException on GetRecords")
                    continue
                raise
            records: list[dict[str, Any]] = list(answer.get("Records", []))
            state.iterator = answer.get("NextShardIterator")
            last = records[-1]["dynamodb"]["SequenceNumber"] if records else None
            if last is not None:
                state.position = str(last)
            if state.iterator is None:
                return self._ended(state, records)
            return ShardBatch(state.info.shard_id, state.info.parent_shard_id, records, last, ended=False)
        raise DynamoDBError(f"shard {state.info.shard_id}: could not obtain a usable iterator after 3 attempts")

    def _ended(self, state: ShardState, records: list[dict[str, Any]]) -> ShardBatch:
        state.finished = True
        last = str(records[-1]["dynamodb"]["SequenceNumber"]) if records else None
        log.info("shard read to its end", shard=state.info.shard_id)
        return ShardBatch(state.info.shard_id, state.info.parent_shard_id, records, last, ended=True)


def stream_arn_of(dynamodb: Any, table: str) -> str | None:
    """The table's latest stream ARN (None when the table has no stream)."""
    with dynamodb_errors(f"describing table {table!r}"):
        description = dynamodb.describe_table(TableName=table)["Table"]
    arn = description.get("LatestStreamArn")
    spec = description.get("StreamSpecification") or {}
    return str(arn) if arn and spec.get("StreamEnabled", True) else None


__all__: Sequence[str] = [
    "Gap",
    "ShardBatch",
    "ShardInfo",
    "ShardState",
    "StartAt",
    "StreamReader",
    "parse_shards",
    "readable_shards",
    "stream_arn_of",
]
