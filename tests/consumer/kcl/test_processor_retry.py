"""The protocol layer in process: transient failures are retried before the checkpoint.

Runs amazon_kclpy's real ``KCLProcess`` over in-memory streams with a scripted ``BatchHandler``
(the processor's own protocol, not a stand-in for PostgreSQL: the subprocess tests in
test_protocol.py cover the real store). It pins down what kclpy would otherwise hide: an exception
from ``process_records`` must never be swallowed.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Sequence
from typing import Any

import pytest
from amazon_kclpy import kcl

from parity.consumer.backoff import Backoff
from parity.consumer.checker import Undecodable
from parity.consumer.kcl_processor import HandledBatch, ParityRecordProcessor, RetryPolicy
from parity.errors import PostgresUnavailable
from parity.local.example import generate
from parity.stream.records import ChangeRecord
from tests.consumer.kcl.kinesis import initialize, kcl_record, kds_payload, now, process_records


class Scripted:
    def __init__(self, failures: int, error: Exception | None = None) -> None:
        self.failures = failures
        self.error = error or PostgresUnavailable("PostgreSQL at 127.0.0.1:5432 is not answering")
        self.committed: list[int] = []

    def process(self, records: Sequence[ChangeRecord], undecodable: Sequence[Undecodable]) -> HandledBatch:
        if self.failures:
            self.failures -= 1
            raise self.error
        self.committed.append(len(records))
        return HandledBatch(len(records), 0, len(undecodable))

    def decide_due(self) -> None:
        pass

    def close(self) -> None:
        pass


def run(handler: Scripted, lines: list[dict[str, Any]], attempts: int = 3) -> list[dict[str, Any]]:
    out = io.StringIO()
    policy = RetryPolicy(attempts=attempts, backoff=Backoff(first=0.0, ceiling=0.0))
    processor = ParityRecordProcessor(lambda shard: handler, policy=policy, sleep=lambda s: None)
    stdin = io.StringIO("".join(json.dumps(line) + "\n" for line in lines))
    try:
        kcl.KCLProcess(processor, input_file=stdin, output_file=out, error_file=io.StringIO()).run()
    finally:
        out.seek(0)
    return [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]


def batch() -> list[dict[str, Any]]:
    (a,) = generate(1, 1)[0].sessions[:1]
    return [kcl_record(kds_payload("INSERT", a, created=now()))]


def test_transient_failure_is_retried_then_checkpointed() -> None:
    records = batch()
    seq = records[0]["sequenceNumber"]
    handler = Scripted(failures=2)
    replies = run(
        handler,
        [
            initialize(),
            process_records(records),
            {"action": "checkpoint", "sequenceNumber": seq, "subSequenceNumber": 0},
        ],
    )
    assert replies == [
        {"action": "status", "responseFor": "initialize"},
        {"action": "checkpoint", "sequenceNumber": seq, "subSequenceNumber": 0},
        {"action": "status", "responseFor": "processRecords"},
    ]
    assert handler.committed == [1]


def test_persistent_failure_exits_without_checkpoint() -> None:
    """A dependency that stays down exits 2 (docs/reference.md §4: an unreachable dependency), a bug 70; never 1,
    which means "below a threshold you set"."""
    handler = Scripted(failures=10)
    with pytest.raises(SystemExit) as exited:
        run(handler, [initialize(), process_records(batch())])
    assert exited.value.code == 2
    assert handler.committed == []
    bug = Scripted(failures=10, error=KeyError("bug"))
    with pytest.raises(SystemExit) as exited:
        run(bug, [initialize(), process_records(batch())])
    assert exited.value.code == 70
    assert bug.committed == []


def test_poison_records_are_dead_letters_the_batch_is_checkpointed() -> None:
    """Decoding never raises: a NaN creation time, a 100,000-deep payload and garbage reach the handler
    as undecodable records, the good one as a record, and the batch is checkpointed after it."""
    (good,) = batch()
    nan = kcl_record(json.dumps(kds_payload("INSERT", generate(1, 1)[0].sessions[0], created=now())).encode())
    payload = json.loads(base64.b64decode(nan["data"]))
    payload["dynamodb"]["ApproximateCreationDateTime"] = float("nan")
    nan = kcl_record(json.dumps(payload).encode())  # json writes NaN, as a hostile producer would
    deep = kcl_record(b"[" * 100_000 + b"]" * 100_000)
    garbage = kcl_record(b"\x00\x01garbage")
    seen: list[tuple[int, list[str]]] = []

    class Recording(Scripted):
        def process(self, records: Sequence[ChangeRecord], undecodable: Sequence[Undecodable]) -> HandledBatch:
            seen.append((len(records), sorted(u.record_id for u in undecodable)))
            return HandledBatch(len(records), 0, len(undecodable), tuple(undecodable))

    last = garbage["sequenceNumber"]
    replies = run(
        Recording(failures=0),
        [
            initialize(),
            process_records([nan, good, deep, garbage]),
            {"action": "checkpoint", "sequenceNumber": last, "subSequenceNumber": 0},
        ],
    )
    assert seen == [(1, sorted([nan["sequenceNumber"], deep["sequenceNumber"], garbage["sequenceNumber"]]))]
    assert {"action": "checkpoint", "sequenceNumber": last, "subSequenceNumber": 0} in replies
