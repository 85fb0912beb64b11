"""Benchmark of ``parity reconcile``: the naive script vs a bare floor vs parity, side by side.

A generated table (``--items``, default 50,000; 1% injected discrepancies spread over every kind)
is loaded into moto and PostgreSQL, then timed three ways in one run:

(a) naive: a sequential Scan and one SELECT per item (what a team would write first);
(b) floor: a parallel Scan that only reads, concurrently with one SELECT of each whole table;
(c) parity: ``parity reconcile --json`` as a subprocess (its report's items/s; peak RSS by wait4).

on two setups: moto's real server with PostgreSQL on loopback (through bench/latency_proxy.py with
0 ms, only to count round trips), and bench/replay_server.py (real HTTP serving the Scan pages
recorded off the moto table, ``--latency-ms`` per request) with PostgreSQL ``--pg-delay-ms`` away.
The naive script's rate is measured over its first ``--naive-items`` items (it is slow by design).
Then parity's peak memory is measured again at ``--memory-items`` (default 200,000) on the replay
setup: it must not grow with the table beyond the key set.

    .venv/bin/python bench/reconcile.py                 # default sizes
    .venv/bin/python bench/reconcile.py --items 5000 --memory-items 0   # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import boto3  # noqa: E402
import psycopg  # noqa: E402

from bench.latency_proxy import LatencyProxy  # noqa: E402
from parity.compare import compare  # noqa: E402
from parity.config import load_config  # noqa: E402
from parity.embedded import LOCAL_AWS_ENV, start_moto, start_postgres  # noqa: E402
from parity.example import (  # noqa: E402
    CAMPAIGN_COLUMNS,
    SESSION_COLUMNS,
    Session,
    config_toml,
    create_dynamodb_table,
    create_postgres_tables,
    generate,
)
from parity.mapping import item_key, match_entity, projected_attributes  # noqa: E402

SESSIONS_PER_CAMPAIGN = 49


@dataclass(frozen=True)
class Dataset:
    items: int
    expected: dict[str, int]


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# --- the dataset ---------------------------------------------------------------------------------


def load_dataset(n: int, conn: psycopg.Connection[Any], dynamodb: Any, table: str) -> Dataset:
    """~n records (campaigns of 49 sessions) in both stores; every 100th session is a discrepancy,
    cycling through missing_in_postgres, missing_in_dynamodb, mismatched and a wrong DynamoDB type."""
    campaigns = generate(max(1, n // (SESSIONS_PER_CAMPAIGN + 1)), SESSIONS_PER_CAMPAIGN, seed=3)
    pg_camps = list(campaigns)
    pg_sessions: list[Session] = []
    ddb_items: list[dict[str, Any]] = [c.item() for c in campaigns]
    expected = {"missing_in_postgres": 0, "missing_in_dynamodb": 0, "mismatched": 0}
    index = 0
    for c in campaigns:
        for s in c.sessions:
            kind = (index // 100) % 4 if index % 100 == 0 else -1
            index += 1
            if kind == 0:
                ddb_items.append(s.item())
                expected["missing_in_postgres"] += 1
                continue
            pg_sessions.append(s)
            if kind == 1:
                expected["missing_in_dynamodb"] += 1
                continue
            item = s.item()
            if kind == 2:
                item = replace(s, summary=(s.summary or "") + " (edited)").item()
                expected["mismatched"] += 1
            elif kind == 3:
                item["sessionNumber"] = {"S": "not a number"}
                expected["mismatched"] += 1
            ddb_items.append(item)
    create_postgres_tables(conn)
    _copy(conn, "public.campaigns", CAMPAIGN_COLUMNS, pg_camps)
    _copy(conn, "public.sessions", SESSION_COLUMNS, pg_sessions)
    conn.commit()
    _write_items(dynamodb, table, ddb_items)
    total = len(pg_camps) + len(pg_sessions) + expected["missing_in_postgres"]
    return Dataset(total, expected)


def _copy(conn: psycopg.Connection[Any], table: str, columns: tuple[str, ...], records: list[Any]) -> None:
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for record in records:
            row = record.row()
            copy.write_row(tuple(row[c] for c in columns))


def _write_items(dynamodb: Any, table: str, items: list[dict[str, Any]]) -> None:
    def batch(chunk: list[dict[str, Any]]) -> None:
        pending: dict[str, Any] = {table: [{"PutRequest": {"Item": i}} for i in chunk]}
        while pending:
            pending = dynamodb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}

    chunks = [items[i : i + 25] for i in range(0, len(items), 25)]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(batch, chunks))


def record(dynamodb: Any, table: str, directory: Path) -> tuple[Path, Path]:
    """Scan the whole moto table once and keep its items and its description for the replay server."""
    items_path = directory / f"{table}.items.jsonl"
    describe_path = directory / f"{table}.describe.json"
    with items_path.open("w", encoding="utf-8") as fh:
        for page in dynamodb.get_paginator("scan").paginate(TableName=table):
            for item in page["Items"]:
                fh.write(json.dumps(_jsonable(item)) + "\n")
    describe = dynamodb.describe_table(TableName=table)["Table"]
    describe_path.write_text(json.dumps(describe, default=str))
    return items_path, describe_path


def _jsonable(item: dict[str, Any]) -> dict[str, Any]:
    import base64

    out: dict[str, Any] = {}
    for name, value in item.items():
        if "B" in value:
            out[name] = {"B": base64.b64encode(value["B"]).decode()}
        elif "M" in value:
            out[name] = {"M": _jsonable(value["M"])}
        elif "L" in value:
            out[name] = {"L": [next(iter(_jsonable({"x": v}).values())) for v in value["L"]]}
        else:
            out[name] = value
    return out


class Replay:
    """bench/replay_server.py in a child process (its own CPU, like a remote service)."""

    def __init__(self, items: Path, describe: Path, latency_ms: float, warm: list[str], segments: list[int]) -> None:
        command = [
            sys.executable,
            str(ROOT / "bench" / "replay_server.py"),
            str(items),
            str(describe),
            "--latency-ms",
            str(latency_ms),
            "--warm",
            ",".join(warm),
            "--warm-segments",
            ",".join(str(s) for s in segments),
        ]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("PORT "):
            raise RuntimeError(f"the replay server did not start: {line!r}")
        self.endpoint = f"http://127.0.0.1:{int(line.split()[1])}"

    def stats(self) -> dict[str, int]:
        with urllib.request.urlopen(self.endpoint + "/stats") as answer:
            return dict(json.loads(answer.read()))

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(10)


# --- the three ways ------------------------------------------------------------------------------


@dataclass
class Result:
    items: int
    seconds: float
    pg_round_trips: int
    ddb_requests: int
    peak_rss_mb: float | None = None
    report: dict[str, Any] | None = None

    @property
    def rate(self) -> float:
        return self.items / self.seconds if self.seconds > 0 else 0.0

    def per_thousand(self, n: int) -> float:
        return n * 1000 / self.items if self.items else 0.0


def _client(endpoint: str, pool: int = 16) -> Any:
    import botocore.config

    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        config=botocore.config.Config(max_pool_connections=pool, retries={"max_attempts": 3}),
    )


def naive(endpoint: str, dsn: str, config_path: Path, table: str, limit: int, proxy: LatencyProxy) -> Result:
    """Scan sequentially; for each item one SELECT by key; compare."""
    config = load_config(config_path)
    dynamodb = _client(endpoint, 2)
    conn = psycopg.connect(dsn, autocommit=True, row_factory=psycopg.rows.dict_row)
    proxy.reset_counters()
    started = time.perf_counter()
    count = requests = 0
    paginator = dynamodb.get_paginator("scan")
    for page in paginator.paginate(TableName=table):
        requests += 1
        for item in page["Items"]:
            entity = match_entity(config.entity, item)
            if entity is None:
                continue
            key = item_key(entity, item)
            column = next(iter(entity.key))
            cols = ", ".join(entity.all_columns)
            row = conn.execute(f"SELECT {cols} FROM {entity.table} WHERE {column} = %s", (key[0],)).fetchone()
            compare(entity, item, row)
            count += 1
            if count >= limit:
                break
        if count >= limit:
            break
    seconds = time.perf_counter() - started
    conn.close()
    return Result(count, seconds, proxy.round_trips, requests)


def floor(endpoint: str, dsn: str, config_path: Path, table: str, segments: int, proxy: LatencyProxy) -> Result:
    """A parallel Scan that only reads, concurrently with one SELECT of each whole table."""
    config = load_config(config_path)
    attributes = projected_attributes(config.entity, ["pk", "sk"])
    names = {f"#a{i}": a for i, a in enumerate(attributes)}
    dynamodb = _client(endpoint, segments + 2)
    counts = [0] * segments
    requests = [0] * segments
    proxy.reset_counters()

    def scan(segment: int) -> None:
        kwargs: dict[str, Any] = {
            "TableName": table,
            "Segment": segment,
            "TotalSegments": segments,
            "ProjectionExpression": ", ".join(names),
            "ExpressionAttributeNames": names,
            "Limit": 1000,
        }
        while True:
            page = dynamodb.scan(**kwargs)
            requests[segment] += 1
            counts[segment] += len(page["Items"])
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def select_all() -> None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            for entity in config.entity:
                cols = ", ".join(entity.all_columns)
                conn.execute(f"SELECT {cols} FROM {entity.table}").fetchall()

    started = time.perf_counter()
    threads = [threading.Thread(target=scan, args=(s,)) for s in range(segments)]
    threads.append(threading.Thread(target=select_all))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - started
    return Result(sum(counts), seconds, proxy.round_trips, sum(requests))


def parity_run(
    endpoint: str, dsn: str, table: str, segments: int, recheck_delay: float, proxy: LatencyProxy, tmp: Path,
    replay: Replay | None,
) -> Result:  # fmt: skip
    """``parity reconcile --json`` in a subprocess; items/s from its report, peak RSS from wait4."""
    config_path = tmp / f"parity-{table}-{int(time.time() * 1000)}.toml"
    config_path.write_text(config_toml(table=table, dsn=dsn, endpoint_url=endpoint))
    env = {**os.environ, **LOCAL_AWS_ENV, "PYTHONPATH": str(ROOT), "PARITY_LOG_LEVEL": "warning"}
    before = replay.stats() if replay else {}
    proxy.reset_counters()
    command = [
        sys.executable, "-m", "parity.cli", "reconcile", "--config", str(config_path), "--json",
        "--segments", str(segments), "--recheck-delay", str(recheck_delay),
    ]  # fmt: skip
    out_path = tmp / "parity-out.json"
    started = time.perf_counter()
    with out_path.open("w") as out:
        process = subprocess.Popen(command, stdout=out, env=env, cwd=ROOT)
        _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"parity reconcile exited {process.returncode}")
    report = json.loads(out_path.read_text())
    after = replay.stats() if replay else {}
    ddb = sum(after.values()) - sum(before.values())
    items = int(report["items_scanned"])
    seconds = items / report["items_per_second"] if report["items_per_second"] else wall
    result = Result(items, seconds, proxy.round_trips, ddb, usage.ru_maxrss / 1024, report)
    log(f"parity wall time {wall:.1f} s (process start and imports included), report {seconds:.1f} s")
    return result


# --- main ----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description="naive vs floor vs parity reconcile")
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument("--memory-items", type=int, default=200_000, help="second size for peak memory (0: skip)")
    parser.add_argument("--segments", type=int, default=4)
    parser.add_argument("--latency-ms", type=float, default=15.0, help="replay server latency per request")
    parser.add_argument("--pg-delay-ms", type=float, default=1.0, help="one-way delay to PostgreSQL (replay setup)")
    parser.add_argument("--naive-items", type=int, default=3000, help="items the naive script is timed over")
    parser.add_argument("--recheck-delay", type=float, default=1.0)
    parser.add_argument("--skip-moto", action="store_true", help="only the replay setup")
    args = parser.parse_args()
    for name, value in LOCAL_AWS_ENV.items():
        os.environ.setdefault(name, value)
    tmp = Path(tempfile.mkdtemp(prefix="parity-bench-"))
    log(f"load average before: {os.getloadavg()}")
    (tmp / "pg").mkdir()
    pg = start_postgres(tmp / "pg")
    moto = start_moto(log_dir=tmp)
    try:
        host = psycopg.conninfo.conninfo_to_dict(pg.dsn)["host"]
        figures: list[tuple[str, dict[str, Result]]] = []
        memory: dict[int, float] = {}
        for size in [args.items, *([args.memory_items] if args.memory_items else [])]:
            run_size(args, size, pg.dsn, str(host), moto.endpoint_url, tmp, figures, memory)
        print_figures(args, figures, memory)
    finally:
        moto.stop()
        pg.stop()
    log(f"load average after: {os.getloadavg()}")


def run_size(
    args: argparse.Namespace, size: int, admin_dsn: str, host: str, moto_endpoint: str, tmp: Path,
    figures: list[tuple[str, dict[str, Result]]], memory: dict[int, float],
) -> None:  # fmt: skip
    dbname = f"bench_{size}"
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{dbname}"')
        admin.execute(f'CREATE DATABASE "{dbname}"')
    dsn = psycopg.conninfo.make_conninfo(admin_dsn, dbname=dbname)
    table = f"bench-{size}"
    dynamodb = _client(moto_endpoint, 8)
    create_dynamodb_table(dynamodb, table, stream=False)
    started = time.perf_counter()
    with psycopg.connect(dsn) as conn:
        data = load_dataset(size, conn, dynamodb, table)
    log(f"{size:,}: loaded {data.items:,} keys in {time.perf_counter() - started:.0f} s; expected {data.expected}")
    started = time.perf_counter()
    items_path, describe_path = record(dynamodb, table, tmp)
    log(f"{size:,}: recorded the moto table in {time.perf_counter() - started:.0f} s")
    config_path = tmp / f"naive-{size}.toml"
    config_path.write_text(config_toml(table=table, dsn=dsn, endpoint_url=moto_endpoint))
    config = load_config(config_path)
    warm = projected_attributes(config.entity, ["pk", "sk"])
    full = size == args.items
    setups: list[tuple[str, str, float, Replay | None]] = []
    if full and not args.skip_moto:
        setups.append(("moto, PostgreSQL on loopback", moto_endpoint, 0.0, None))
    replay = Replay(items_path, describe_path, args.latency_ms, warm, [1, args.segments])
    setups.append(
        (f"replay server {args.latency_ms:g} ms/page, PostgreSQL {args.pg_delay_ms:g} ms away", replay.endpoint,
         args.pg_delay_ms, replay)
    )  # fmt: skip
    try:
        for name, endpoint, delay, rep in setups:
            with LatencyProxy(host, delay_ms=delay) as proxy:
                pdsn = proxy.dsn(dsn)
                results: dict[str, Result] = {}
                if full:
                    log(f"{name}: naive over {args.naive_items:,} items")
                    results["naive"] = naive(endpoint, pdsn, config_path, table, args.naive_items, proxy)
                    if rep is not None:
                        results["naive"].ddb_requests = 0  # counted by the server below for the others
                    log(f"{name}: floor")
                    results["floor"] = floor(endpoint, pdsn, config_path, table, args.segments, proxy)
                log(f"{name}: parity")
                results["parity"] = parity_run(
                    endpoint, pdsn, table, args.segments, args.recheck_delay, proxy, tmp, rep
                )
                report = results["parity"].report or {}
                got = {k: report.get(k) for k in data.expected}
                log(f"{name}: parity found {got} (expected {data.expected}), compared {report.get('compared')}")
                if got != data.expected:
                    log("WARNING: parity's counts differ from the injected discrepancies")
                memory[size] = results["parity"].peak_rss_mb or 0.0
                if full:
                    figures.append((name, results))
    finally:
        replay.close()


def print_figures(
    args: argparse.Namespace, figures: list[tuple[str, dict[str, Result]]], memory: dict[int, float]
) -> None:
    print(f"parity reconcile benchmark: {args.items:,} items, {args.segments} segments, 2-core machine shared with"
          f" other engineers (load average now {os.getloadavg()[0]:.2f})")  # fmt: skip
    for name, results in figures:
        print(f"\n== {name}")
        print(f"{'':8} {'items':>8} {'seconds':>8} {'items/s':>9} {'PG RT/1k':>9} {'DDB req/1k':>10}")
        for label, r in results.items():
            ddb = f"{r.per_thousand(r.ddb_requests):10.1f}" if r.ddb_requests else f"{'-':>10}"
            print(
                f"{label:8} {r.items:8,} {r.seconds:8.2f} {r.rate:9,.0f} {r.per_thousand(r.pg_round_trips):9.1f} {ddb}"
            )
        a, b, c = results["naive"], results["floor"], results["parity"]
        print(f"(c)/(b) time per item: {b.rate / c.rate:.2f}  (target <= 1.5)")
        print(f"(a)/(c) time per item: {c.rate / a.rate:.1f}  (target >= 10 on the replay setup)")
    print("\npeak RSS of the parity process:")
    for size, mb in memory.items():
        print(f"  {size:>9,} items: {mb:7.1f} MB")


if __name__ == "__main__":
    main()
