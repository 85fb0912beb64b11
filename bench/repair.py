"""Benchmark of ``parity repair --apply`` beside the script a team would write in a hurry.

On the local stack (moto's real server, an embedded PostgreSQL), ``--keys`` sessions (default
5,000) need their DynamoDB item rewritten from the row: 60 % are missing, 40 % hold wrong
columns. DynamoDB is ``--delay-ms`` away (default 10 ms each way: bench/latency_proxy.py in front
of moto, so a round trip costs 20 ms, as from a task to a table in another region would). The same
damage is made in separate tables, and one run times, side by side:

(a) naive: for each key of the open discrepancies one SELECT of the row, one consistent GetItem,
    one PutItem of the item built from the row (no condition, no journal: what a rushed script
    does, and it drops every attribute the app wrote that it does not know);
(b) parity: ``parity repair --apply --json`` in-process (batched consistent reads, re-decision at
    write time, 16 conditional writes in flight, journal, read-back and resolution);
(c) parity ``--batch-puts``: the same with the puts in BatchWriteItem (when the app is quiet).

It prints keys/s and the ratios, and checks that every key of every table ends equal to its row.

    .venv/bin/python bench/repair.py                  # default: 5,000 keys, 10 ms each way
    .venv/bin/python bench/repair.py --keys 500       # a quick look
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from _common import dynamodb_client, local_stack, parity_json
from latency_proxy import LatencyProxy, ProxyProcess, cpu_seconds

from parity.compare import Discrepancy, Verdict, compare
from parity.config import load_config
from parity.local.example import (
    Session,
    config_toml,
    create_dynamodb_table,
    create_postgres_tables,
    put_items,
    write_postgres,
)
from parity.local.example import sessions as example_sessions
from parity.mapping import key_from_json
from parity.pg import connect, fetch_rows
from parity.repair.build import build_item
from parity.store import Store

LABELS = ("naive", "parity", "batch")
T = TypeVar("T")


@dataclass(frozen=True)
class Measured:
    """One timed run: wall seconds, DynamoDB requests, CPU seconds of each process, load before/after."""

    wall: float
    requests: int
    cpu_client: float  # this process: the script, or parity (its boto3 clients, PostgreSQL driver, logic)
    cpu_moto: float
    cpu_proxy: float
    load: tuple[float, float]

    def line(self, items: int) -> str:
        keys = max(1, items)
        return (
            f"{self.wall:7.1f} s = {items / self.wall:7,.0f} keys/s (load {self.load[0]:.1f} -> {self.load[1]:.1f})\n"
            f"      per key: {self.requests / keys:.3f} DynamoDB requests; CPU ms: client"
            f" {1000 * self.cpu_client / keys:.2f}, moto {1000 * self.cpu_moto / keys:.2f},"
            f" proxy {1000 * self.cpu_proxy / keys:.2f}"
        )


class Meter:
    """Measures a run: the proxy's request count and the CPU of this process, moto's and the proxy's."""

    def __init__(self, proxy: ProxyProcess | LatencyProxy, moto_pid: int) -> None:
        self.proxy, self.moto_pid = proxy, moto_pid

    def _sample(self) -> tuple[float, int, float, float, float]:
        if isinstance(self.proxy, ProxyProcess):
            round_trips, proxy_cpu = self.proxy.stats()["round_trips"], cpu_seconds(self.proxy.pid)
        else:  # in this process: its CPU is counted as the client's
            round_trips, proxy_cpu = self.proxy.round_trips, 0.0
        return (time.perf_counter(), round_trips, cpu_seconds(), cpu_seconds(self.moto_pid), proxy_cpu)

    def run(self, work: Callable[[], T]) -> tuple[T, Measured]:
        load = os.getloadavg()[0]
        before = self._sample()
        result = work()
        after = self._sample()
        wall, requests, client, moto, proxy = (a - b for a, b in zip(after, before, strict=True))
        return result, Measured(wall, int(requests), client, moto, proxy, (load, os.getloadavg()[0]))


def damage(dynamodb: Any, table: str, sessions: list[Session]) -> None:
    """60 % of the items never written, 40 % written with a wrong name and without sessionNumber
    (and with an attribute the app keeps that parity does not map)."""
    wrong = sessions[int(len(sessions) * 0.6) :]
    items = []
    for session in wrong:
        item = session.item()
        item["name"] = {"S": "wrong"}
        item.pop("sessionNumber")
        item["appOnly"] = {"S": "kept by the app"}
        items.append(item)
    put_items(dynamodb, table, items)


def naive(config: Any, dynamodb: Any, dsn: str, store_schema: str) -> int:
    """The rushed script: per key SELECT, consistent GetItem, PutItem; returns items written."""
    entity = next(e for e in config.entity if e.name == "session")
    table = config.dynamodb.table
    written = 0
    with connect(dsn) as conn:
        keys = [r["key"] for r in Store(store_schema).discrepancy_rows(conn, "open")]
        for key_json in keys:
            key = key_from_json(entity, key_json)
            row = fetch_rows(conn, entity, [key]).get(key)
            if row is None:
                continue
            built = build_item(entity, row, ("pk", "sk"))
            dynamodb.get_item(TableName=table, Key=built.key, ConsistentRead=True)
            dynamodb.put_item(TableName=table, Item=built.item)
            written += 1
    return written


def parity_repair(config_path: Path, *extra: str) -> dict[str, Any]:
    return parity_json("repair", "--config", str(config_path), "--apply", "--json", *extra)


def all_equal(config: Any, dynamodb: Any, dsn: str, sessions: list[Session]) -> int:
    """How many sessions' items now equal their rows (consistent reads)."""
    entity = next(e for e in config.entity if e.name == "session")
    equal = 0
    with connect(dsn) as conn:
        rows = fetch_rows(conn, entity, [(s.id,) for s in sessions])
    for start in range(0, len(sessions), 100):
        chunk = sessions[start : start + 100]
        answer = dynamodb.batch_get_item(
            RequestItems={config.dynamodb.table: {"Keys": [s.key() for s in chunk], "ConsistentRead": True}}
        )
        found = {i["sessionId"]["S"]: i for i in answer["Responses"][config.dynamodb.table]}
        equal += sum(1 for s in chunk if compare(entity, found.get(s.id), rows.get((s.id,))).is_match)
    return equal


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keys", type=int, default=5_000)
    parser.add_argument("--delay-ms", type=float, default=10.0, help="one-way delay to DynamoDB (default 10)")
    parser.add_argument(
        "--proxy-in-process",
        action="store_true",
        help="run the latency proxy on threads of this process (its CPU then counts as the client's)",
    )
    args = parser.parse_args()
    with local_stack() as stack:
        tmp, pg, moto = stack.root, stack.postgres, stack.moto
        direct = dynamodb_client(moto.endpoint_url)
        sessions = example_sessions(args.keys, 50, seed=31)
        with connect(pg.dsn) as conn:
            create_postgres_tables(conn)
            write_postgres(conn, sessions)  # type: ignore[arg-type]
        upstream = moto.endpoint_url.removeprefix("http://")
        # the proxy runs in its own process, as the network is not in the client's: its threads (four per
        # connection, and moto's server makes boto3 open one per request) would otherwise share the
        # interpreter, and the CPU, of the client being timed
        proxied: ProxyProcess | LatencyProxy
        if args.proxy_in_process:  # as before 2026-11-30 08:30 UTC, to compare
            proxied = LatencyProxy(upstream, delay_ms=args.delay_ms)  # started by the with below
        else:
            proxied = ProxyProcess(upstream, delay_ms=args.delay_ms)
        with proxied as proxy:
            far = f"http://127.0.0.1:{proxy.port}"
            configs: dict[str, Path] = {}
            for label in LABELS:
                table = f"bench-repair-{label}"
                create_dynamodb_table(direct, table, stream=False)
                damage(direct, table, sessions)
                path = tmp / f"{label}.toml"
                path.write_text(config_toml(table=table, dsn=pg.dsn, endpoint_url=far, store_schema=f"parity_{label}"))
                configs[label] = path
                store = Store(f"parity_{label}")
                with connect(pg.dsn) as conn:
                    store.migrate(conn)
                    found = [
                        Discrepancy(
                            "session",
                            {"id": s.id},
                            Verdict.MISSING_IN_DYNAMODB if i < int(len(sessions) * 0.6) else Verdict.MISMATCHED,
                        )
                        for i, s in enumerate(sessions)
                    ]
                    store.record_discrepancies(conn, found, "reconcile", datetime.now(UTC))
                    conn.commit()
            load = os.getloadavg()
            print(
                f"repair benchmark: {len(sessions):,} keys (60 % missing items, 40 % wrong columns), DynamoDB"
                f" +{args.delay_ms:g} ms each way ({2 * args.delay_ms:g} ms a round trip); load {load[0]:.2f}"
                f" {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores"
            )
            config = load_config(configs["naive"])
            # the rushed script gets botocore's standard retries and a 10 s read timeout, so one connection
            # the proxy or moto drops under load costs a retry, not the run
            far_client = dynamodb_client(far, read_timeout=10, retries={"max_attempts": 5, "mode": "standard"})
            meter = Meter(proxy, moto.process.pid)
            naive_n, naive_m = meter.run(lambda: naive(config, far_client, pg.dsn, "parity_naive"))
            print(f"  (a) naive  GetItem+PutItem per key: {naive_n:>6,} items in {naive_m.line(naive_n)}")
            summary, parity_m = meter.run(lambda: parity_repair(configs["parity"]))
            print(
                f"  (b) parity repair --apply:          {summary['applied']:>6,} items in"
                f" {parity_m.line(summary['applied'])}\n      ({summary['puts']} put, {summary['updates']} updated,"
                f" journalled, {summary['resolved']} resolved, {summary['write_units']} WCU)"
            )
            batch, batch_m = meter.run(lambda: parity_repair(configs["batch"], "--batch-puts"))
            done = batch["applied"]
            print(f"  (c) parity repair --apply --batch-puts: {done:>6,} items in {batch_m.line(done)}")
            speed_b, speed_c = naive_m.wall / parity_m.wall, naive_m.wall / batch_m.wall
            print(f"  (b)/(a) speed {speed_b:5.1f}x   (c)/(a) speed {speed_c:5.1f}x")
        load = os.getloadavg()
        print(f"  load after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
        for label in LABELS:
            config = load_config(configs[label])
            equal = all_equal(config, direct, pg.dsn, sessions)
            item = direct.get_item(TableName=config.dynamodb.table, Key=sessions[-1].key())["Item"]
            kept = "appOnly" in item
            print(f"  {label:<6}: {equal:,}/{len(sessions):,} items equal their rows; app-only attribute kept: {kept}")


if __name__ == "__main__":
    main()
