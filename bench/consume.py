"""Benchmark of the stream checker: bare stream read vs naive checker vs ``parity consume``.

On the local stack (moto's real server, an embedded PostgreSQL), ``--records`` sessions (default
50,000; 1% injected faults: missing rows and wrong columns) are written to both stores, then timed
side by side in one run:

(a) bare: read the whole DynamoDB stream with boto3 GetRecords, nothing else - once before (c) and
    once after it; (c) is compared with their mean, because moto's speed drifts with the shared
    machine's load over the minutes between them (both times are printed);
(b) naive: the same read plus one SELECT per record and a comparison (``--naive-records`` of them,
    extrapolated as a rate);
(c) parity: ``parity consume --stop-when-idle`` as a subprocess (its idle wait subtracted).

moto serves GetRecords slowly, so the checker is also measured alone, fed the same decoded
records from memory in batches of each ``--batch`` size with PostgreSQL on plain loopback (TCP through
bench/latency_proxy.py with 0 ms) and ``--pg-delay-ms`` away (default 1 ms one way), next to the
naive one-SELECT-per-record checker under the same conditions; p50/p99 from receipt of a batch to
its committed verdicts. grace_seconds is 0 here (the grace wait is excluded by definition).

The in-memory records stand for what the stream would deliver; a consumer holds only the batch in
hand. So that Python's cyclic collector does not walk the bench's 50,000 records (and the sessions
they were built from) again on every full collection - a 400 ms pause here, which a consumer never
sees - the fixtures are moved out of its reach with ``gc.freeze()`` before timing, as ``parity
consume`` freezes its own start-up objects.

    .venv/bin/python bench/consume.py                  # default sizes
    .venv/bin/python bench/consume.py --records 5000   # a quick look
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import psycopg
from _common import local_stack, log, pg_proxy

from parity.compare import compare
from parity.config import ParityConfig, load_config
from parity.consumer.checker import Checker
from parity.local.embedded import LOCAL_AWS_ENV
from parity.local.example import Session, config_toml, create_postgres_tables, sessions, write_dynamodb, write_postgres
from parity.local.example_stores import example_stores
from parity.mapping import item_key, key_to_postgres, match_entity
from parity.pg import connect
from parity.stream.records import ChangeRecord, parse_stream_record

TABLE = "bench-consume"
#: the consumer settings of every config here: no grace wait (excluded by definition), a quick poll
CONSUMER = "grace_seconds = 0\npoll_interval_seconds = 0.2"


@dataclass(frozen=True)
class Figure:
    records: int
    seconds: float
    p50_ms: float | None = None
    p99_ms: float | None = None

    @property
    def rate(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else float("inf")


def _streams(endpoint: str) -> Any:
    return boto3.client("dynamodbstreams", endpoint_url=endpoint, region_name="us-east-1")


def load(records: int, dynamodb: Any, table: str, conn: Any) -> int:
    """Write ``records`` sessions to both stores, 1% faulty; returns the number of faults."""
    written = sessions(records, 500, seed=5)
    faults = 0
    rows: list[Session] = []
    for i, s in enumerate(written):
        if i % 100 == 7:
            faults += 1
            if i % 200 == 7:
                continue  # the PostgreSQL write failed
            rows.append(s.touched(updated_at=s.updated_at, summary="wrong"))
            continue
        rows.append(s)
    for start in range(0, len(rows), 5000):
        write_postgres(conn, rows[start : start + 5000])  # type: ignore[arg-type]
    started = time.perf_counter()
    for start in range(0, len(written), 1000):
        write_dynamodb(dynamodb, table, written[start : start + 1000])  # type: ignore[arg-type]
    log(f"wrote {len(written):,} items to moto in {time.perf_counter() - started:.0f} s ({faults} faults)")
    return faults


def bare_read(endpoint: str, arn: str) -> tuple[Figure, list[dict[str, Any]]]:
    streams = _streams(endpoint)
    started = time.perf_counter()
    raw: list[dict[str, Any]] = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")
        iterator = it["ShardIterator"]
        while iterator:
            page = streams.get_records(ShardIterator=iterator, Limit=1000)
            raw.extend(page["Records"])
            if not page["Records"]:
                break
            iterator = page.get("NextShardIterator")
    return Figure(len(raw), time.perf_counter() - started), raw


def _naive_check(config: ParityConfig, conn: Any, records: list[ChangeRecord]) -> int:
    """What a team writes first: one SELECT per record."""
    bad = 0
    for record in records:
        image = record.image
        assert image is not None
        entity = match_entity(config.entity, image)
        assert entity is not None
        key = key_to_postgres(entity, item_key(entity, image))
        cols = ", ".join(entity.all_columns)
        row = conn.execute(f"SELECT {cols} FROM {entity.table} WHERE id = %s", key).fetchone()
        if not compare(entity, image, row).is_match:
            bad += 1
    return bad


def naive_from_stream(config: ParityConfig, endpoint: str, arn: str, dsn: str, limit: int) -> Figure:
    streams = _streams(endpoint)
    started = time.perf_counter()
    done = 0
    with psycopg.connect(dsn, row_factory=psycopg.rows.dict_row) as conn:
        shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
        it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
        iterator = it["ShardIterator"]
        while iterator and done < limit:
            page = streams.get_records(ShardIterator=iterator, Limit=1000)
            records = [parse_stream_record(r) for r in page["Records"]][: limit - done]
            _naive_check(config, conn, records)
            done += len(records)
            if not page["Records"]:
                break
            iterator = page.get("NextShardIterator")
    return Figure(done, time.perf_counter() - started)


def parity_consume(config_path: Path, idle: float) -> Figure:
    env = {**os.environ, **LOCAL_AWS_ENV}
    command = [sys.executable, "-m", "parity.cli", "consume", "--config", str(config_path)]
    command += ["--stop-when-idle", str(idle), "--grace-seconds", "0"]
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started - idle
    if done.returncode != 0:
        raise SystemExit(f"parity consume failed: {done.stderr[-2000:]}")
    return Figure(0, seconds)


def _batches(records: list[ChangeRecord], size: int) -> Iterator[list[ChangeRecord]]:
    for start in range(0, len(records), size):
        yield records[start : start + size]


def checker_alone(config: ParityConfig, dsn: str, records: list[ChangeRecord], batch: int) -> Figure:
    checker = Checker(config, dsn, source=records[0].source, grace_seconds=0)
    checker.connection()  # connect and migrate outside the timing
    gc.collect()
    gc.freeze()  # the fixtures stand for the network: see the module docstring
    latencies: list[float] = []
    started = time.perf_counter()
    for chunk in _batches(records, batch):
        received = datetime.now(UTC)
        outcome = checker.process(chunk, received_at=received)
        assert outcome.committed_at is not None
        latencies.extend([(outcome.committed_at - received).total_seconds() * 1000] * len(chunk))
    seconds = time.perf_counter() - started
    checker.close()
    latencies.sort()
    return Figure(len(records), seconds, latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.99) - 1])


def naive_alone(config: ParityConfig, dsn: str, records: list[ChangeRecord]) -> Figure:
    with psycopg.connect(dsn, row_factory=psycopg.rows.dict_row) as conn:
        started = time.perf_counter()
        _naive_check(config, conn, records)
        return Figure(len(records), time.perf_counter() - started)


def memory_records(written: list[Session]) -> list[ChangeRecord]:
    """GetRecords-shaped INSERT records of the sessions, decoded (what the stream would carry)."""
    now = datetime.now(UTC)
    out = []
    for i, s in enumerate(written):
        body = {
            "ApproximateCreationDateTime": now,
            "Keys": s.key(),
            "NewImage": s.item(),
            "SequenceNumber": str(10**20 + i),
        }
        out.append(parse_stream_record({"eventID": f"e{i}", "eventName": "INSERT", "dynamodb": body}))
    return out


def checker_only(args: argparse.Namespace) -> None:
    """The checker alone on loopback and ``--pg-delay-ms`` away, no moto (a quicker, repeatable look)."""
    with local_stack(with_moto=False) as stack:
        written = sessions(args.records, 500, seed=5)
        with connect(stack.dsn) as conn:
            create_postgres_tables(conn)
            rows = [s for i, s in enumerate(written) if i % 100 != 7]  # 1% missing rows
            for start in range(0, len(rows), 5000):
                write_postgres(conn, rows[start : start + 5000])  # type: ignore[arg-type]
        records = memory_records(written)

        def make_config(schema: str, pdsn: str) -> ParityConfig:
            path = stack.root / f"{schema}.toml"
            path.write_text(config_toml(table=TABLE, dsn=pdsn, store_schema=schema))
            return load_config(path)

        print(f"checker alone: {len(records):,} records from memory, 1% faults (missing rows)")
        print_alone(measure_alone(stack.dsn, make_config, records, args))


Alone = list[tuple[str, int, Figure, Figure]]


def measure_alone(dsn: str, make_config: Any, records: list[ChangeRecord], args: argparse.Namespace) -> Alone:
    """The checker alone at every ``--batch`` size, and the naive checker, on loopback and ``--pg-delay-ms`` away."""
    out: Alone = []
    for label, delay in (("loopback", 0.0), (f"{args.pg_delay_ms:g} ms away", args.pg_delay_ms)):
        with pg_proxy(dsn, delay) as proxy:
            pdsn = proxy.dsn(dsn)
            naive: Figure | None = None
            for batch in args.batch:
                cfg = make_config(f"bench_mem_{int(delay * 1000)}_{batch}", pdsn)  # a fresh store per run
                fig = checker_alone(cfg, pdsn, records, batch)
                if naive is None:
                    naive = naive_alone(cfg, pdsn, records[: args.naive_records])
                out.append((label, batch, fig, naive))
                log(f"checker alone, PostgreSQL {label}, batch {batch}: {fig.rate:,.0f} records/s")
    return out


def print_alone(figures: Alone) -> None:
    print("\n  checker alone, records from memory (receipt -> committed verdict per record)")
    for label, batch, fig, naive in figures:
        print(
            f"  PostgreSQL {label:<12} batch {batch:>5}  {fig.rate:>8,.0f} records/s  naive {naive.rate:>7,.0f}/s"
            f"  {fig.rate / naive.rate:5.1f}x  p50 {fig.p50_ms:6.1f} ms  p99 {fig.p99_ms:6.1f} ms"
        )
    print("  targets: >= 10,000 records/s at 1 ms, >= 10x naive, p99 <= 200 ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--naive-records", type=int, default=3_000, help="records the naive checkers time")
    parser.add_argument(
        "--batch", type=int, nargs="+", default=[1000, 250], help="records per Checker.process call (one run each)"
    )
    parser.add_argument("--pg-delay-ms", type=float, default=1.0, help="one-way delay to PostgreSQL")
    parser.add_argument("--idle", type=float, default=1.0, help="--stop-when-idle of (c), subtracted")
    parser.add_argument(
        "--checker-only", action="store_true", help="skip moto: only the checker alone, records built in memory"
    )
    args = parser.parse_args()
    if args.checker_only:
        checker_only(args)
        return
    with local_stack() as stack:
        dsn, endpoint = stack.dsn, stack.endpoint_url
        path_c = stack.root / "bench_c.toml"
        with example_stores(dsn, endpoint, path_c, table=TABLE, store_schema="bench_c", consumer=CONSUMER) as stores:
            arn = stores.description["LatestStreamArn"]
            faults = load(args.records, stores.dynamodb, TABLE, stores.conn)
        config = load_config(path_c)

        def config_for(schema: str, pg_dsn: str) -> ParityConfig:
            path = stack.root / f"{schema}.toml"
            text = config_toml(table=TABLE, dsn=pg_dsn, endpoint_url=endpoint, store_schema=schema, consumer=CONSUMER)
            path.write_text(text)
            return load_config(path)

        a, raw = bare_read(endpoint, arn)
        log(f"(a) bare read: {a.records:,} records in {a.seconds:.1f} s")
        b = naive_from_stream(config, endpoint, arn, dsn, args.naive_records)
        log(f"(b) naive: {b.records:,} records in {b.seconds:.1f} s")
        c = parity_consume(path_c, args.idle)
        with connect(dsn) as conn:
            row = conn.execute("SELECT count(*) AS n FROM bench_c.discrepancies").fetchone()
            found = int(row["n"]) if row else -1
        c = Figure(a.records, c.seconds)
        log(f"(c) parity consume: {c.seconds:.1f} s, {found} discrepancies (injected {faults})")
        a_after, _ = bare_read(endpoint, arn)
        log(f"(a) bare read again: {a_after.records:,} records in {a_after.seconds:.1f} s")

        records = [parse_stream_record(r) for r in raw]
        del raw
        alone = measure_alone(dsn, config_for, records, args)

    print(f"\nparity consume benchmark: {a.records:,} stream records, {faults} injected faults (1%)")
    a_mean = Figure(a.records, (a.seconds + a_after.seconds) / 2)
    print(
        f"  (a) bare stream read           {a_mean.rate:>10,.0f} records/s  {a_mean.seconds:7.1f} s"
        f"  (mean of {a.seconds:.1f} s before and {a_after.seconds:.1f} s after (c))"
    )
    print(f"  (b) naive checker (1 SELECT/r) {b.rate:>10,.0f} records/s  (over {b.records:,} records)")
    print(f"  (c) parity consume             {c.rate:>10,.0f} records/s  {c.seconds:7.1f} s  ({found} found)")
    print(
        f"  time (c)/(a) = {c.seconds / a_mean.seconds:.2f}  (target <= 1.3; vs before {c.seconds / a.seconds:.2f},"
        f" vs after {c.seconds / a_after.seconds:.2f});  rate (c)/(b) = {c.rate / b.rate:.1f}x"
    )
    print_alone(alone)


if __name__ == "__main__":
    main()
