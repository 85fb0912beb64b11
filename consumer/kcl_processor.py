"""The record processor the KCL MultiLangDaemon runs (``parity kcl-processor``, Kinesis mode).

Built on amazon_kclpy's v3 :class:`~amazon_kclpy.v3.processor.RecordProcessorBase`; one process per
leased shard, speaking the MultiLang protocol on stdin/stdout (see :mod:`consumer.kcl_command` for
how stdout is kept for the protocol alone). The rules it keeps:

- **checkpoint only after the batch's verdicts are committed**: ``process_records`` decodes the
  records (``parse_kinesis_data``: KDS-for-DynamoDB JSON or the Streams Kinesis Adapter shape),
  hands them to a :class:`BatchHandler` that commits everything in one transaction, decides due
  re-checks, and only then checkpoints at the batch's last sequence number;
- **never swallow an error**: amazon_kclpy's dispatcher logs and *ignores* exceptions raised by a
  processor (the batch would be lost and the next checkpoint would skip it). A failing batch is
  retried with backoff; when it still fails the process exits non-zero (``SystemExit`` is the one
  thing kclpy lets through: 2 for a dependency that stays down, 70 for a bug), so the daemon
  restarts the shard from the last checkpoint. Any other exception escaping ``process_records``
  also ends the process (70) instead of reaching kclpy;
- **one record's problem is that record's problem**: decoding never raises (a record that cannot
  be decoded, whatever the reason, is a dead letter), the checker dead-letters a record it cannot
  judge or store, and every such record is logged on its own line with its Kinesis sequence number
  and the reason (``record failed``), like the partial failures of Powertools' batch utility;
  the batch goes on and is checkpointed once all its records are checked or dead-lettered;
- ``shard_ended`` checkpoints (required to move on to child shards), ``lease_lost`` does not
  (another worker owns the shard), ``shutdown_requested`` decides due re-checks, then checkpoints;
- checkpoint errors from the daemon: ``ThrottlingException`` and
  ``KinesisClientLibDependencyException`` are retried with backoff a few times, then left to the
  next batch's checkpoint (the verdicts are committed, a redelivery is idempotent);
  ``ShutdownException`` / ``InvalidStateException`` mean the lease is gone or unusable: no retry.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from amazon_kclpy.checkpoint_error import CheckpointError
from amazon_kclpy.v3.processor import RecordProcessorBase

from parity.consumer import heartbeat, high_water
from parity.consumer.backoff import Backoff
from parity.consumer.checker import BatchOutcome, Checker, Undecodable
from parity.errors import DecodeError, ParityError, exit_code_for
from parity.pg import Connection
from parity.store import Store
from parity.stream.records import ChangeRecord, parse_kinesis_data
from parity.telemetry import get_logger, meter

log = get_logger("consumer.kcl")

_meter = meter("consumer.kcl")
_stale = _meter.create_counter("parity.kcl.records_stale", description="records older than their key's high-water mark")
_lag = _meter.create_histogram("parity.kcl.millis_behind_latest", unit="ms", description="Kinesis lag per batch")

RETRYABLE_CHECKPOINT_ERRORS = frozenset({"ThrottlingException", "KinesisClientLibDependencyException"})
"""Checkpoint errors worth retrying; any other (ShutdownException, InvalidStateException, ...) is not."""


@dataclass(frozen=True)
class HandledBatch:
    """What a committed batch amounted to (for logs and tests)."""

    checked: int
    stale: int
    undecodable: int
    failures: tuple[Undecodable, ...] = ()  # every record dead-lettered, with its id and reason


class BatchHandler(Protocol):
    """Commits everything a batch concludes before returning; raises (nothing committed) otherwise."""

    def process(self, records: Sequence[ChangeRecord], undecodable: Sequence[Undecodable]) -> HandledBatch: ...

    def decide_due(self) -> None: ...

    def close(self) -> None: ...


class CheckerHandler:
    """The production handler: stale events filtered by the high-water marks, the rest checked by
    :class:`~consumer.checker.Checker`; verdicts and advanced marks commit in one transaction."""

    def __init__(self, checker: Checker, *, consumer_id: str = "kcl", health_file: str | None = None) -> None:
        self.checker = checker
        self.consumer_id = consumer_id
        self.health_file = health_file
        self._since_beat = 0

    def process(self, records: Sequence[ChangeRecord], undecodable: Sequence[Undecodable]) -> HandledBatch:
        marks: dict[str, Any] = {}
        if records:
            conn = self.checker.connection()
            try:  # one statement on the checker's autocommit connection: no BEGIN/COMMIT round trips
                marks = high_water.read_marks(conn, self.checker.store, map(high_water.mark_key, records))
            except BaseException:
                self.checker.close()
                raise
        split = high_water.partition(records, marks)

        def advance(conn: Connection, store: Store) -> None:
            high_water.advance(conn, store, split.fresh)

        outcome: BatchOutcome = self.checker.process(split.fresh, undecodable, in_transaction=advance)
        self._since_beat += len(records) + len(undecodable)
        if split.stale:
            _stale.add(len(split.stale))
            log.info("stale records skipped", stale=len(split.stale), verdicts=outcome.verdicts)
        return HandledBatch(
            checked=len(split.fresh), stale=len(split.stale), undecodable=len(undecodable), failures=outcome.failures
        )

    def decide_due(self) -> None:
        """Decide due re-checks, then record liveness for ``parity health`` (store row, health file)."""
        self.checker.decide_due()
        conn = self.checker.connection()
        try:  # one statement, autocommitted
            heartbeat.beat(
                conn,
                self.checker.store,
                self.consumer_id,
                self._since_beat,
                {"source": "kinesis"},
                table=self.checker.config.dynamodb.table,
            )
        except BaseException:
            self.checker.close()
            raise
        self._since_beat = 0
        if self.health_file:
            heartbeat.touch(self.health_file, next_due=self.checker.next_due())

    def close(self) -> None:
        self.checker.close()


def decode_record(record: Any) -> ChangeRecord | Undecodable:
    """One kclpy ``Record`` -> a ChangeRecord, or an Undecodable naming the sequence and why."""
    sequence = str(record.sequence_number)
    raw = {
        "sequenceNumber": sequence,
        "subSequenceNumber": record.sub_sequence_number,
        "partitionKey": record.partition_key,
        "data": record.data,
    }
    try:
        data = base64.b64decode(record.data, validate=True)
    except (ValueError, TypeError) as exc:
        return Undecodable(sequence, f"Kinesis record {sequence}: data is not base64 ({exc})", raw)
    try:
        return parse_kinesis_data(data, kinesis_sequence=sequence)
    except DecodeError as exc:
        return Undecodable(sequence, str(exc), raw)
    except Exception as exc:  # a decoder bug must not lose the batch: this record is a dead letter
        return Undecodable(sequence, f"Kinesis record {sequence}: {type(exc).__name__}: {str(exc)[:300]}", raw)


@dataclass(frozen=True)
class RetryPolicy:
    """How long a failing batch is retried before the process exits (and the daemon restarts it)."""

    attempts: int = 6
    backoff: Backoff = field(default_factory=lambda: Backoff(first=0.5, ceiling=10.0))
    checkpoint_attempts: int = 4


class ParityRecordProcessor(RecordProcessorBase):  # type: ignore[misc]
    """One shard's processor; see the module docstring for the protocol rules."""

    def __init__(
        self,
        handler_factory: Callable[[str], BatchHandler],
        *,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._factory = handler_factory
        self._handler: BatchHandler | None = None
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        self.shard_id = "?"

    @property
    def handler(self) -> BatchHandler:
        if self._handler is None:
            self._handler = self._factory(self.shard_id)
        return self._handler

    # --- lifecycle -------------------------------------------------------------------------------

    def initialize(self, initialize_input: Any) -> None:
        self.shard_id = initialize_input.shard_id
        log.info("shard initialized", shard=self.shard_id, from_sequence=initialize_input.sequence_number)

    def process_records(self, process_records_input: Any) -> None:
        try:
            self._process_records(process_records_input)
        except Exception as exc:  # kclpy would log and ignore it, and the next checkpoint would skip the batch
            log.error(
                "processing a batch failed unexpectedly; exiting so the daemon restarts the shard from its"
                " last checkpoint",
                shard=self.shard_id,
                error=f"{type(exc).__name__}: {exc}",
            )
            self._close()
            raise SystemExit(exit_code_for(exc)) from exc  # 70: a bug (never 1, "below a threshold")

    def _process_records(self, process_records_input: Any) -> None:
        records = list(process_records_input.records)
        lag = process_records_input.millis_behind_latest
        if lag is not None:
            _lag.record(float(lag))
        decoded: list[ChangeRecord] = []
        undecodable: list[Undecodable] = []
        sequences: dict[str, str] = {}  # event id -> Kinesis sequence number, for per-record reports
        for record in records:
            item = decode_record(record)
            if isinstance(item, ChangeRecord):
                decoded.append(item)
                sequences[item.event_id] = str(record.sequence_number)
            else:
                undecodable.append(item)
        if records:
            handled = self._committed("checking a batch", lambda: self.handler.process(decoded, undecodable))
            for failed in handled.failures:
                log.warning(
                    "record failed",
                    shard=self.shard_id,
                    sequence_number=sequences.get(failed.record_id, failed.record_id),
                    record_id=failed.record_id,
                    reason=failed.reason,
                )
            log.info(
                "batch committed",
                shard=self.shard_id,
                records=len(records),
                checked=handled.checked,
                stale=handled.stale,
                undecodable=handled.undecodable,
                millis_behind_latest=lag,
            )
        self._committed("deciding due re-checks", self.handler.decide_due)
        if records:
            last = records[-1]
            self._checkpoint(process_records_input.checkpointer, last.sequence_number, last.sub_sequence_number)

    def lease_lost(self, lease_lost_input: Any) -> None:
        log.info("lease lost; not checkpointing (another worker owns the shard)", shard=self.shard_id)
        self._close()

    def shard_ended(self, shard_ended_input: Any) -> None:
        log.info("shard ended; checkpointing its end", shard=self.shard_id)
        self._checkpoint(shard_ended_input.checkpointer, None, None)
        self._close()

    def shutdown_requested(self, shutdown_requested_input: Any) -> None:
        log.info("shutdown requested; deciding due re-checks, then checkpointing", shard=self.shard_id)
        self._committed("deciding due re-checks", self.handler.decide_due)
        self._checkpoint(shutdown_requested_input.checkpointer, None, None)
        self._close()

    # --- helpers ---------------------------------------------------------------------------------

    def _committed(self, what: str, action: Callable[[], Any]) -> Any:
        """Run a committing action; retry with backoff; exit non-zero when it keeps failing."""
        for attempt in range(self.policy.attempts):
            try:
                return action()
            except Exception as exc:  # any failure: retry, then exit (never swallow)
                error = str(exc) if isinstance(exc, ParityError) else f"{type(exc).__name__}: {exc}"
                if attempt + 1 >= self.policy.attempts:
                    log.error(
                        f"{what} failed {self.policy.attempts} times; exiting so the daemon restarts"
                        " the shard from its last checkpoint",
                        shard=self.shard_id,
                        error=error,
                    )
                    self._close()
                    raise SystemExit(exit_code_for(exc)) from exc  # 2: a dependency down; 70: a bug
                wait = self.policy.backoff.delay(attempt)
                log.warning(
                    f"{what} failed; retrying",
                    shard=self.shard_id,
                    error=error,
                    attempt=attempt + 1,
                    retry_in_s=round(wait, 2),
                )
                self._sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _checkpoint(self, checkpointer: Any, sequence: str | None, sub_sequence: int | None) -> bool:
        """Checkpoint; retry throttling, give up quietly on a lost lease. True when it took."""
        for attempt in range(self.policy.checkpoint_attempts):
            try:
                checkpointer.checkpoint(sequence, sub_sequence)
                return True
            except CheckpointError as exc:
                name = str(exc.value)
                if name in RETRYABLE_CHECKPOINT_ERRORS and attempt + 1 < self.policy.checkpoint_attempts:
                    wait = self.policy.backoff.delay(attempt)
                    log.warning(
                        "checkpoint failed; retrying", shard=self.shard_id, error=name, retry_in_s=round(wait, 2)
                    )
                    self._sleep(wait)
                    continue
                if name in RETRYABLE_CHECKPOINT_ERRORS:
                    log.warning(
                        "checkpoint still failing; the next batch checkpoints again (verdicts are"
                        " committed, a redelivery is idempotent)",
                        shard=self.shard_id,
                        error=name,
                    )
                else:
                    log.warning(
                        "checkpoint refused; the lease is gone or the shard is shutting down",
                        shard=self.shard_id,
                        error=name,
                    )
                return False
        return False

    def _close(self) -> None:
        if self._handler is not None:
            try:
                self._handler.close()
            finally:
                self._handler = None
