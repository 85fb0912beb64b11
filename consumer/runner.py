"""The ``parity consume`` loop: read the stream, check each batch, commit verdicts with checkpoints.

One turn of the loop:

1. :meth:`StreamReader.poll` reads every readable shard once (parents before children);
2. each shard's batch is decoded and handed to :class:`~consumer.checker.Checker` whose transaction
   also saves the shard's checkpoint (the batch's last sequence number), any gap found on that
   shard, and the heartbeat row: a checkpoint never covers a record whose verdict is not committed
   (verdicts waiting for grace are committed as pending re-checks, which is why checkpointing past
   them is safe);
3. due re-checks are decided; the health file is touched.

PostgreSQL or the stream failing: the same batch is retried with backoff (:mod:`consumer.backoff`)
until it commits, so nothing is skipped and the consumer recovers by itself. SIGTERM/SIGINT set the
stop event: the turn in hand is finished and committed, then the loop exits 0.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from opentelemetry.metrics import CallbackOptions, Observation

from parity.config import ParityConfig
from parity.consumer import heartbeat
from parity.consumer.backoff import retry
from parity.consumer.checker import BatchOutcome, Checker, Undecodable
from parity.errors import DecodeError, Stopped
from parity.pg import Connection
from parity.store import Store
from parity.stream.records import ChangeRecord, Source, parse_record
from parity.stream.shards import Gap, ShardBatch, StartAt, StreamReader
from parity.telemetry import get_logger, meter

log = get_logger("consumer")

_meter = meter("consumer")
_gaps = _meter.create_counter("parity.consumer.stream_gaps", description="trimmed stream ranges (records lost)")


@dataclass(frozen=True)
class RunOptions:
    start: StartAt = StartAt.TRIM_HORIZON
    stop_when_idle: float | None = None
    progress_seconds: float = 10.0
    open_count_seconds: float = 30.0


def decode_records(raw_records: Iterable[dict[str, Any]]) -> tuple[list[ChangeRecord], list[Undecodable]]:
    """Decode GetRecords records; the undecodable ones keep their raw form and the reason.

    Never raises: whatever is wrong with one record makes that record a dead letter (a decoder
    bug included), so a poison record can neither crash the loop nor be skipped unrecorded.
    """
    records: list[ChangeRecord] = []
    bad: list[Undecodable] = []
    received = datetime.now(UTC)
    for raw in raw_records:
        try:
            records.append(parse_record(raw, Source.DYNAMODB_STREAMS, received_at=received))
        except Exception as exc:
            reason = exc.message if isinstance(exc, DecodeError) else f"{type(exc).__name__}: {str(exc)[:300]}"
            body = raw.get("dynamodb") if isinstance(raw, dict) else None
            rid = raw.get("eventID") if isinstance(raw, dict) else None
            seq = body.get("SequenceNumber") if isinstance(body, dict) else None
            bad.append(Undecodable(str(rid or seq or "unknown"), reason, raw))
    return records, bad


class Consumer:
    """The single-process stream checker of ``parity consume``."""

    def __init__(
        self,
        config: ParityConfig,
        checker: Checker,
        streams: Any,
        stream_arn: str,
        options: RunOptions,
        stop: threading.Event,
    ) -> None:
        self.config = config
        self.checker = checker
        self.streams = streams
        self.stream_arn = stream_arn
        self.options = options
        self.stop = stop
        self.store = Store(config.postgres.store_schema)
        self.table = config.dynamodb.table
        self._gaps: list[Gap] = []
        self._lag_ms: dict[str, float] = {}
        self._open = 0
        self.verdicts: Counter[str] = Counter()
        self.found = 0
        _meter.create_observable_gauge(
            "parity.consumer.stream_lag",
            callbacks=[self._observe_lag],
            unit="ms",
            description="age of the newest record read (iterator age), max over shards",
        )
        _meter.create_observable_gauge(
            "parity.consumer.discrepancies_open",
            callbacks=[self._observe_open],
            description="open discrepancies in the store",
        )

    # --- metrics callbacks -----------------------------------------------------------------------

    def _observe_lag(self, _: CallbackOptions) -> Iterable[Observation]:
        yield Observation(max(self._lag_ms.values(), default=0.0), {"source": str(Source.DYNAMODB_STREAMS)})

    def _observe_open(self, _: CallbackOptions) -> Iterable[Observation]:
        yield Observation(self._open)

    # --- the loop --------------------------------------------------------------------------------

    def run(self) -> int:
        checkpoints = retry("reading stream checkpoints", self._checkpoints, self.stop)
        reader = StreamReader(
            self.streams,
            self.stream_arn,
            start=self.options.start,
            checkpoints=checkpoints,
            limit=self.config.consumer.batch_size,
            on_gap=self._on_gap,
        )
        log.info(
            "consumer started",
            stream=self.stream_arn,
            start=str(self.options.start),
            resumed_shards=len(checkpoints),
            grace_seconds=self.checker.grace.total_seconds(),
        )
        last_record = time.monotonic()
        last_progress = last_open = 0.0
        try:
            while not self.stop.is_set():
                batches = retry("reading the DynamoDB stream", reader.poll, self.stop)
                received = 0
                for batch in batches:
                    received += self._commit(batch)
                decided = retry("deciding pending re-checks", self.checker.decide_due, self.stop)
                self._add(decided)
                now = time.monotonic()
                if now - last_open >= self.options.open_count_seconds:
                    self._open = retry("counting open discrepancies", self._count_open, self.stop)
                    last_open = now
                if not any(b.records or b.ended for b in batches):
                    retry("writing the heartbeat", self._beat, self.stop)
                if self.config.consumer.health_file:
                    next_due = retry("reading pending re-checks", self.checker.next_due, self.stop)
                    heartbeat.touch(self.config.consumer.health_file, next_due=next_due)
                if now - last_progress >= self.options.progress_seconds:
                    self._progress(reader)
                    last_progress = now
                if received:
                    last_record = now
                    continue
                if self._idle_done(now - last_record):
                    log.info("idle and nothing pending: stopping", idle_seconds=round(now - last_record, 1))
                    break
                self.stop.wait(self.config.consumer.poll_interval_seconds)
        except Stopped:
            log.warning("stopping while a dependency is down; the uncommitted batch will be read again on restart")
        self._progress(reader)
        log.info("consumer stopped", records=self.verdicts.total(), verdicts=dict(self.verdicts))
        return 0

    def _add(self, outcome: BatchOutcome) -> None:
        self.verdicts.update(outcome.verdicts)
        self.found += len(outcome.discrepancies)

    def _idle_done(self, idle: float) -> bool:
        limit = self.options.stop_when_idle
        if limit is None or idle < limit:
            return False
        return retry("counting pending re-checks", self.checker.pending_count, self.stop) == 0

    def _commit(self, batch: ShardBatch) -> int:
        """Check one shard's batch and commit it with its checkpoint; returns the records it held."""
        if not batch.records and not batch.ended and not self._gaps_of(batch.shard_id):
            self._lag_ms[batch.shard_id] = 0.0
            return 0
        records, bad = decode_records(batch.records)
        gaps = self._gaps_of(batch.shard_id)

        def in_transaction(conn: Connection, store: Store) -> None:
            for gap in gaps:
                store.record_gap(conn, self.stream_arn, gap.shard_id, gap.after_sequence, gap.reason)
            advanced = store.save_checkpoint(
                conn,
                self.stream_arn,
                batch.shard_id,
                batch.last_sequence,
                parent_shard_id=batch.parent_shard_id,
                shard_closed=batch.ended,
            )
            counted = len(batch.records) if advanced else 0
            if batch.records and not advanced:
                log.warning(
                    "this batch was committed before (its commit was retried): its records are not counted again",
                    shard=batch.shard_id,
                    last_sequence=batch.last_sequence,
                )
            heartbeat.beat(conn, store, self.stream_arn, counted, {"shard": batch.shard_id}, table=self.table)

        outcome = retry(
            "checking a batch", lambda: self.checker.process(records, bad, in_transaction=in_transaction), self.stop
        )
        self._gaps = [g for g in self._gaps if g not in gaps]
        self._add(outcome)
        if records:
            newest = max(r.approximate_created for r in records)
            self._lag_ms[batch.shard_id] = max(0.0, (datetime.now(UTC) - newest).total_seconds() * 1000)
        if batch.ended:
            self._lag_ms.pop(batch.shard_id, None)
        return len(batch.records)

    def _gaps_of(self, shard_id: str) -> list[Gap]:
        return [g for g in self._gaps if g.shard_id == shard_id]

    def _on_gap(self, gap: Gap) -> None:
        _gaps.add(1, {"shard": gap.shard_id})
        log.error(
            "STREAM GAP: records were trimmed before they were read; changes in this range were NOT checked",
            stream=self.stream_arn,
            shard=gap.shard_id,
            after_sequence=gap.after_sequence,
            reason=gap.reason,
            advice="run `parity reconcile` to compare the whole table",
        )
        self._gaps.append(gap)

    # The checker's connection autocommits: one statement needs no BEGIN/COMMIT round trips.

    def _checkpoints(self) -> dict[str, dict[str, Any]]:
        return self.store.checkpoints(self.checker.connection(), self.stream_arn)

    def _count_open(self) -> int:
        return self.store.count_discrepancies(self.checker.connection(), "open")

    def _beat(self) -> None:
        heartbeat.beat(self.checker.connection(), self.store, self.stream_arn, 0, {"idle": True}, table=self.table)

    def _progress(self, reader: StreamReader) -> None:
        log.info(
            "progress",
            records=self.verdicts.total(),
            verdicts=dict(self.verdicts),
            discrepancies_found=self.found,
            open_discrepancies=self._open,
            shards=len(reader.states),
            shards_finished=sum(1 for s in reader.states.values() if s.finished),
            lag_ms=round(max(self._lag_ms.values(), default=0.0)),
        )
