"""Benchmark of ``parity reconcile``: the naive script vs a bare floor vs parity, side by side.

A generated table (``--items``, default 50,000; 1% injected discrepancies spread over every kind)
is loaded into PostgreSQL and DynamoDB, then timed three ways in one run:

(a) naive: a sequential Scan and one SELECT per item (what a team would write first);
(b) floor: a parallel Scan (threads, boto3's own parse) that only reads, concurrently with one
    SELECT of each whole table; (b') the same floor with parity's transport: the segments in one
    forked process per CPU, pages parsed by reconciler/fast_scan.py (stricter than (b));
(c) parity: ``parity reconcile --json`` as a subprocess (its report's items/s; peak memory sampled
    from /proc as the PSS summed over its processes, CPU seconds from wait4).

on two setups: moto's real server with PostgreSQL on loopback (through bench/latency_proxy.py with
0 ms, only to count round trips), and bench/replay_server.py (real HTTP answering Scan with
segments, ``--latency-ms`` per page, parsed by the real boto3) with PostgreSQL ``--pg-delay-ms``
away. The replay server is fed the generated items directly (the same generator as the moto table,
no recording off moto). The naive script's rate is measured over its first ``--naive-items`` items
(it is slow by design). Then parity alone runs again at ``--memory-items`` (default 200,000) on the
replay setup, without moto: peak memory must not grow with the table beyond the key set, which
lives in PostgreSQL. The moto setup uses a 20,000-item table by default (``--moto-items``): moto
scans only 300-600 items/s, so 50,000 items took 9 minutes of the run for the same ratios; the
output says so.

    .venv/bin/python bench/reconcile.py                 # default sizes (about 3 minutes)
    .venv/bin/python bench/reconcile.py --items 5000 --memory-items 0   # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import psycopg
from _common import ROOT, dynamodb_client, fresh_database, local_stack, log, pg_proxy
from latency_proxy import LatencyProxy

from parity.compare import compare
from parity.config import load_config
from parity.local.embedded import LOCAL_AWS_ENV
from parity.local.example import (
    CAMPAIGN_COLUMNS,
    SESSION_COLUMNS,
    Campaign,
    Session,
    config_toml,
    create_dynamodb_table,
    create_postgres_tables,
    generate,
    put_items,
)
from parity.mapping import item_key, match_entity, projected_attributes

SESSIONS_PER_CAMPAIGN = 49


@dataclass(frozen=True)
class Dataset:
    items: int
    expected: dict[str, int]


# --- the dataset ---------------------------------------------------------------------------------


def build_dataset(n: int) -> tuple[list[Campaign], list[Session], list[dict[str, Any]], Dataset]:
    """~n records (campaigns of 49 sessions): the PostgreSQL records, the DynamoDB items and what
    was injected. Every 100th session is a discrepancy, cycling through missing_in_postgres,
    missing_in_dynamodb, mismatched and a wrong DynamoDB type. Pure: the same n gives the same data."""
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
    total = len(pg_camps) + len(pg_sessions) + expected["missing_in_postgres"]
    return pg_camps, pg_sessions, ddb_items, Dataset(total, expected)


def load_postgres(conn: psycopg.Connection[Any], campaigns: list[Campaign], sessions: list[Session]) -> None:
    create_postgres_tables(conn)
    _copy(conn, "public.campaigns", CAMPAIGN_COLUMNS, campaigns)
    _copy(conn, "public.sessions", SESSION_COLUMNS, sessions)
    conn.commit()


def _copy(conn: psycopg.Connection[Any], table: str, columns: tuple[str, ...], records: list[Any]) -> None:
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for record in records:
            row = record.row()
            copy.write_row(tuple(row[c] for c in columns))


def _write_items(dynamodb: Any, table: str, items: list[dict[str, Any]]) -> None:
    """BatchWriteItem in 4 threads (moto takes a while for 20,000 items)."""
    chunks = [items[i : i + 25] for i in range(0, len(items), 25)]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda chunk: put_items(dynamodb, table, chunk), chunks))


def write_replay_files(table: str, items: list[dict[str, Any]], directory: Path) -> tuple[Path, Path]:
    """The generated items (the same ones written to moto) and a table description, for the
    replay server: no recording off moto, so a 200,000-item table is ready in seconds."""
    items_path = directory / f"{table}.items.jsonl"
    describe_path = directory / f"{table}.describe.json"
    with items_path.open("w", encoding="utf-8") as fh:
        for item in items:
            fh.write(json.dumps(_jsonable(item)) + "\n")
    describe = {
        "TableName": table,
        "TableStatus": "ACTIVE",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        "ItemCount": len(items),
    }
    describe_path.write_text(json.dumps(describe))
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

    def __init__(
        self,
        items: Path,
        describe: Path,
        latency_ms: float,
        warm: list[str],
        segments: list[int],
        *,
        ignore_projection: bool = False,
    ) -> None:
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
            *(["--ignore-projection"] if ignore_projection else []),
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
    peak_rss_mb: float | None = None  # parity: peak PSS summed over its processes
    report: dict[str, Any] | None = None
    cpu_seconds: float | None = None
    peak_single_rss_mb: float | None = None
    exact: bool = True

    @property
    def rate(self) -> float:
        return self.items / self.seconds if self.seconds > 0 else 0.0

    def per_thousand(self, n: int) -> float:
        return n * 1000 / self.items if self.items else 0.0


def _client(endpoint: str, pool: int = 16) -> Any:
    return dynamodb_client(endpoint, max_pool_connections=pool, retries={"max_attempts": 3})


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


def _projection(config: Any) -> dict[str, str]:
    """ExpressionAttributeNames of what parity's Scan projects: the mapped attributes and the keys."""
    return {f"#a{i}": a for i, a in enumerate(projected_attributes(config.entity, ["pk", "sk"]))}


def _scan_segments(
    dynamodb: Any, table: str, names: dict[str, str], segments: list[int], total: int
) -> tuple[int, int]:
    """Scan ``segments`` of ``total`` (projected, pages of 1,000 items), one thread each, reading only:
    (items, requests)."""
    counts = {s: [0, 0] for s in segments}  # per thread: `+=` on shared counters loses updates

    def scan(segment: int) -> None:
        kwargs: dict[str, Any] = {
            "TableName": table,
            "Segment": segment,
            "TotalSegments": total,
            "ProjectionExpression": ", ".join(names),
            "ExpressionAttributeNames": names,
            "Limit": 1000,
        }
        while True:
            page = dynamodb.scan(**kwargs)
            counts[segment][0] += len(page["Items"])
            counts[segment][1] += 1
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    threads = [threading.Thread(target=scan, args=(s,)) for s in segments]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(c[0] for c in counts.values()), sum(c[1] for c in counts.values())


def _select_all(dsn: str, config: Any) -> threading.Thread:
    """One SELECT of each whole table, in a thread started here (join it)."""

    def select() -> None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            for entity in config.entity:
                cols = ", ".join(entity.all_columns)
                conn.execute(f"SELECT {cols} FROM {entity.table}").fetchall()

    thread = threading.Thread(target=select)
    thread.start()
    return thread


def floor(endpoint: str, dsn: str, config_path: Path, table: str, segments: int, proxy: LatencyProxy) -> Result:
    """A parallel Scan that only reads, concurrently with one SELECT of each whole table."""
    config = load_config(config_path)
    dynamodb = _client(endpoint, segments + 2)
    proxy.reset_counters()
    started = time.perf_counter()
    select = _select_all(dsn, config)
    items, requests = _scan_segments(dynamodb, table, _projection(config), list(range(segments)), segments)
    select.join()
    seconds = time.perf_counter() - started
    return Result(items, seconds, proxy.round_trips, requests)


def _scan_share(endpoint: str, table: str, names: dict[str, str], segments: list[int], total: int, out: Any) -> None:
    """One worker process of the process floor: its segments in threads, parsed like parity does."""
    from parity.reconciler import fast_scan

    dynamodb = fast_scan.install(_client(endpoint, len(segments) + 2))
    out.put(_scan_segments(dynamodb, table, names, segments, total))


def floor_processes(
    endpoint: str, dsn: str, config_path: Path, table: str, segments: int, processes: int, proxy: LatencyProxy
) -> Result:
    """The floor with parity's own transport: the Scan segments in ``processes`` forked workers
    (threads inside), pages parsed by reconciler.fast_scan, one SELECT of each whole table."""
    import multiprocessing

    config = load_config(config_path)
    names = _projection(config)
    context = multiprocessing.get_context("fork")
    out: Any = context.Queue()
    proxy.reset_counters()
    started = time.perf_counter()
    groups = [list(range(segments))[i::processes] for i in range(processes)]
    procs = [context.Process(target=_scan_share, args=(endpoint, table, names, g, segments, out)) for g in groups if g]
    for proc in procs:
        proc.start()
    select = _select_all(dsn, config)
    totals = [out.get() for _ in procs]
    for proc in procs:
        proc.join()
    select.join()
    seconds = time.perf_counter() - started
    return Result(sum(t[0] for t in totals), seconds, proxy.round_trips, sum(t[1] for t in totals))


class TreeMemory:
    """Peak memory of a process and its descendants, sampled every 50 ms: the sum of their PSS
    (proportional set size: pages shared by forked workers are split, not counted twice) and the
    largest single RSS."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_pss_kb = 0
        self.peak_rss_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    @staticmethod
    def _tree(pid: int) -> list[int]:
        pids = [pid]
        for current in pids:
            try:
                for task in os.listdir(f"/proc/{current}/task"):
                    with open(f"/proc/{current}/task/{task}/children") as fh:
                        pids += [int(p) for p in fh.read().split()]
            except OSError:
                continue
        return pids

    @staticmethod
    def _field(pid: int, path: str, name: str) -> int:
        try:
            with open(f"/proc/{pid}/{path}") as fh:
                for line in fh:
                    if line.startswith(name):
                        return int(line.split()[1])
        except OSError:
            pass
        return 0

    def _loop(self) -> None:
        while not self._stop.wait(0.05):
            pids = self._tree(self.pid)
            pss = sum(self._field(p, "smaps_rollup", "Pss:") for p in pids)
            rss = max((self._field(p, "status", "VmRSS:") for p in pids), default=0)
            self.peak_pss_kb = max(self.peak_pss_kb, pss)
            self.peak_rss_kb = max(self.peak_rss_kb, rss)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def parity_run(
    endpoint: str, dsn: str, table: str, segments: int, recheck_delay: float, proxy: LatencyProxy, tmp: Path,
    replay: Replay | None,
) -> Result:  # fmt: skip
    """``parity reconcile --json`` in a subprocess; items/s from its report, memory sampled from /proc."""
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
        memory = TreeMemory(process.pid)
        _, status, usage = os.wait4(process.pid, 0)
        memory.stop()
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"parity reconcile exited {process.returncode}")
    report = json.loads(out_path.read_text())
    after = replay.stats() if replay else {}
    ddb = sum(after.values()) - sum(before.values())
    items = int(report["items_scanned"])
    seconds = items / report["items_per_second"] if report["items_per_second"] else wall
    result = Result(items, seconds, proxy.round_trips, ddb, memory.peak_pss_kb / 1024, report)
    result.cpu_seconds = usage.ru_utime + usage.ru_stime
    # not wait4's ru_maxrss: Linux carries the high-water mark across exec, so it reports this
    # bench's own size (the forked child before exec), not parity's
    result.peak_single_rss_mb = memory.peak_rss_kb / 1024
    log(f"parity wall time {wall:.1f} s (process start and imports included), report {seconds:.1f} s,"
        f" CPU {result.cpu_seconds:.1f} s (all its processes)")  # fmt: skip
    return result


# --- main ----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description="naive vs floor vs parity reconcile")
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument("--memory-items", type=int, default=200_000, help="second size for peak memory (0: skip)")
    parser.add_argument(
        "--moto-items",
        type=int,
        default=20_000,
        help="size of the moto setup (default 20,000: moto scans ~300-600 items/s)",
    )
    parser.add_argument("--segments", type=int, default=4)
    parser.add_argument("--latency-ms", type=float, default=15.0, help="replay server latency per request")
    parser.add_argument("--pg-delay-ms", type=float, default=1.0, help="one-way delay to PostgreSQL (replay setup)")
    parser.add_argument("--naive-items", type=int, default=3000, help="items the naive script is timed over")
    parser.add_argument("--recheck-delay", type=float, default=1.0)
    parser.add_argument("--skip-moto", action="store_true", help="only the replay setup")
    parser.add_argument(
        "--no-full-items",
        action="store_true",
        help="skip parity's run against a replay server that ignores the projection (full items)",
    )
    args = parser.parse_args()
    load_before = os.getloadavg()
    moto_items = None if args.skip_moto else args.moto_items
    # the stack's folder (~700 MB: the 200,000-item files and the database) is removed at the end
    with local_stack(with_moto=not args.skip_moto, log_level=None) as stack:
        figures: list[tuple[str, int, dict[str, Result]]] = []
        memory: dict[int, Result] = {}
        sizes = dict.fromkeys([args.items, *([args.memory_items] if args.memory_items else [])], False)
        if moto_items is not None:
            sizes[moto_items] = True
        for size, with_moto in sizes.items():
            endpoint = stack.endpoint_url if stack.moto is not None else ""
            run_size(args, size, stack.dsn, endpoint, with_moto, stack.root, figures, memory)
        print_figures(args, figures, memory, load_before, moto_items)


def run_size(
    args: argparse.Namespace, size: int, admin_dsn: str, moto_endpoint: str, with_moto: bool, tmp: Path,
    figures: list[tuple[str, int, dict[str, Result]]], memory: dict[int, Result],
) -> None:  # fmt: skip
    """One table size: load it, then time the setups it is used for (see the module docstring)."""
    dsn = fresh_database(admin_dsn, f"bench_{size}")
    table = f"bench-{size}"
    full = size == args.items  # the three ways; other sizes: parity only (memory) or moto only
    replay_setup = size in (args.items, args.memory_items)
    started = time.perf_counter()
    campaigns, sessions, items, data = build_dataset(size)
    with psycopg.connect(dsn) as conn:
        load_postgres(conn, campaigns, sessions)
    items_path, describe_path = write_replay_files(table, items, tmp)
    if with_moto:
        dynamodb = _client(moto_endpoint, 8)
        create_dynamodb_table(dynamodb, table, stream=False)
        _write_items(dynamodb, table, items)
    where = "PostgreSQL, moto and the replay files" if with_moto else "PostgreSQL and the replay files (no moto)"
    log(f"{size:,}: loaded {data.items:,} keys into {where} in {time.perf_counter() - started:.0f} s;"
        f" expected {data.expected}")  # fmt: skip
    del campaigns, sessions, items
    config_path = tmp / f"naive-{size}.toml"
    config_path.write_text(config_toml(table=table, dsn=dsn, endpoint_url=moto_endpoint or "http://127.0.0.1:1"))
    config = load_config(config_path)
    warm = projected_attributes(config.entity, ["pk", "sk"])
    processes = min(args.segments, len(os.sched_getaffinity(0)))
    setups: list[tuple[str, str, float, Replay | None, bool]] = []
    if with_moto:
        setups.append(("moto, PostgreSQL on loopback", moto_endpoint, 0.0, None, True))
    replay = None
    if replay_setup:
        replay = Replay(items_path, describe_path, args.latency_ms, warm, [1, args.segments])
        name = f"replay server {args.latency_ms:g} ms/page, PostgreSQL {args.pg_delay_ms:g} ms away"
        setups.append((name, replay.endpoint, args.pg_delay_ms, replay, full))
    try:
        for name, endpoint, delay, rep, three_ways in setups:
            with pg_proxy(dsn, delay) as proxy:
                pdsn = proxy.dsn(dsn)
                results: dict[str, Result] = {}
                if three_ways:
                    log(f"{name}: naive over {args.naive_items:,} items")
                    results["naive"] = naive(endpoint, pdsn, config_path, table, args.naive_items, proxy)
                    if rep is not None:
                        results["naive"].ddb_requests = 0  # counted by the server below for the others
                    log(f"{name}: floor")
                    results["floor"] = floor(endpoint, pdsn, config_path, table, args.segments, proxy)
                    log(f"{name}: floor in {processes} processes")
                    results["floor-mp"] = floor_processes(
                        endpoint, pdsn, config_path, table, args.segments, processes, proxy
                    )
                log(f"{name}: parity")
                results["parity"] = parity_run(
                    endpoint, pdsn, table, args.segments, args.recheck_delay, proxy, tmp, rep
                )
                report = results["parity"].report or {}
                got = {k: report.get(k) for k in data.expected}
                log(f"{name}: parity found {got} (expected {data.expected}), compared {report.get('compared')}")
                if got != data.expected or report.get("compared") != data.items:
                    log("WARNING: parity's counts differ from the injected discrepancies")
                    results["parity"].exact = False
                if rep is not None:
                    memory[size] = results["parity"]
                if three_ways and rep is not None and not args.no_full_items:
                    # the conservative case: a server that ignores the projection and returns full items
                    full_replay = Replay(
                        items_path, describe_path, args.latency_ms, warm, [1, args.segments], ignore_projection=True
                    )
                    try:
                        full_bytes, projected_bytes = _item_bytes(items_path, warm)
                        log(f"{name}: parity, the server ignoring the projection (full items: {full_bytes:.0f}"
                            f" bytes of JSON per item, {projected_bytes:.0f} projected)")  # fmt: skip
                        results["parity-full"] = parity_run(
                            full_replay.endpoint, pdsn, table, args.segments, args.recheck_delay, proxy, tmp,
                            full_replay,
                        )  # fmt: skip
                    finally:
                        full_replay.close()
                    full_report = results["parity-full"].report or {}
                    if {k: full_report.get(k) for k in data.expected} != data.expected:
                        log("WARNING: parity's counts differ from the injected discrepancies (full items)")
                        results["parity-full"].exact = False
                if three_ways:
                    figures.append((name, size, results))
    finally:
        if replay is not None:
            replay.close()


def _item_bytes(items_path: Path, projection: list[str]) -> tuple[float, float]:
    """Mean JSON bytes per item, full and projected (what each Scan answer carries)."""
    wanted = set(projection)
    full = projected = n = 0
    with items_path.open(encoding="utf-8") as fh:
        for line in fh:
            item = json.loads(line)
            full += len(json.dumps(item))
            projected += len(json.dumps({k: v for k, v in item.items() if k in wanted}))
            n += 1
    return full / max(n, 1), projected / max(n, 1)


def print_figures(
    args: argparse.Namespace, figures: list[tuple[str, int, dict[str, Result]]], memory: dict[int, Result],
    load_before: tuple[float, float, float], moto_items: int | None,
) -> None:  # fmt: skip
    def verdict(ok: bool) -> str:
        return "holds" if ok else "MISSES"

    load = os.getloadavg()
    cpus = len(os.sched_getaffinity(0))
    print(
        f"parity reconcile benchmark: {args.items:,} items, {args.segments} segments, re-check delay"
        f" {args.recheck_delay:g} s, {cpus} CPUs shared with other engineers (load average before"
        f" {load_before[0]:.2f}, now {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f})"
    )
    if moto_items is not None and moto_items != args.items:
        print(f"NOTE: the moto setup uses a {moto_items:,}-item table (--moto-items), not {args.items:,}")
    targets: list[str] = []
    for name, size, results in figures:
        print(f"\n== {name} ({size:,}-item table)")
        print(f"{'':9} {'items':>8} {'seconds':>8} {'items/s':>9} {'PG RT/1k':>9} {'DDB req/1k':>10} {'CPU s':>6}")
        for label, r in results.items():
            ddb = f"{r.per_thousand(r.ddb_requests):10.1f}" if r.ddb_requests else f"{'-':>10}"
            cpu = f"{r.cpu_seconds:6.1f}" if r.cpu_seconds is not None else f"{'':>6}"
            rt = r.per_thousand(r.pg_round_trips)
            print(f"{label:9} {r.items:8,} {r.seconds:8.2f} {r.rate:9,.0f} {rt:9.1f} {ddb} {cpu}")
        a, b, bp, c = results["naive"], results["floor"], results["floor-mp"], results["parity"]
        replay = name.startswith("replay")
        print(f"(c)/(b)  time per item, parity / floor (threads, boto3 parse):     {b.rate / c.rate:5.2f}"
              f"  target <= 1.5: {verdict(b.rate / c.rate <= 1.5)}")  # fmt: skip
        print(f"(c)/(b') time per item, parity / floor (processes, parity's parse): {bp.rate / c.rate:5.2f}"
              f"  (same transport as parity; stricter)")  # fmt: skip
        print(
            f"(a)/(c)  time per item, naive / parity:                              {c.rate / a.rate:5.1f}"
            + (f"  target >= 10: {verdict(c.rate / a.rate >= 10)}" if replay else "")
        )
        targets.append(f"{name}: (c)/(b) {b.rate / c.rate:.2f} <= 1.5 {verdict(b.rate / c.rate <= 1.5)}")
        if replay:
            rt = c.per_thousand(c.pg_round_trips)
            targets.append(f"{name}: (a)/(c) {c.rate / a.rate:.1f} >= 10 {verdict(c.rate / a.rate >= 10)}")
            targets.append(f"{name}: parity {c.rate:,.0f} items/s >= 10,000 {verdict(c.rate >= 10_000)}")
            targets.append(f"{name}: {rt:.1f} PostgreSQL round trips per 1,000 items <= 5 {verdict(rt <= 5)}")
        targets.append(f"{name}: counts exact {verdict(c.exact)}")
        if "parity-full" in results:
            f = results["parity-full"]
            print(f"full items (server ignores the projection): parity {f.rate:,.0f} items/s,"
                  f" {f.rate / c.rate:.2f} x the projected run; (c)/(b) {b.rate / f.rate:.2f}")  # fmt: skip
            ok, exact = verdict(b.rate / f.rate <= 1.5), verdict(f.exact)
            targets.append(f"{name}, full items: (c)/(b) {b.rate / f.rate:.2f} <= 1.5 {ok}, counts exact {exact}")
    print("\npeak memory of parity reconcile (replay setup):")
    for size, r in sorted(memory.items()):
        print(f"  {size:>9,} items: {r.peak_rss_mb or 0:7.1f} MB PSS summed over its processes,"
              f" largest single RSS {r.peak_single_rss_mb or 0:6.1f} MB; {r.rate:,.0f} items/s,"
              f" {r.per_thousand(r.pg_round_trips):.1f} PG RT/1k, counts exact: {r.exact}")  # fmt: skip
    if len(memory) > 1:
        sizes = sorted(memory)
        small, large = memory[sizes[0]], memory[sizes[-1]]
        growth = (large.peak_rss_mb or 0) - (small.peak_rss_mb or 0)
        print(f"  growth {sizes[0]:,} -> {sizes[-1]:,} items: {growth:+.1f} MB")
    print("\ntargets:")
    if args.items < 50_000:
        print(f"  (set for 50,000 items: a run's fixed costs, the re-check delay of {args.recheck_delay:g} s and ~150"
              " PostgreSQL round trips, weigh more on smaller tables)")  # fmt: skip
    for line in targets:
        print(f"  {line}")


if __name__ == "__main__":
    main()
