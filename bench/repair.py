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
import contextlib
import io
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import boto3  # noqa: E402
import botocore.config  # noqa: E402

from bench.latency_proxy import LatencyProxy  # noqa: E402
from parity.cli import main as parity_main  # noqa: E402
from parity.compare import Discrepancy, Verdict, compare  # noqa: E402
from parity.config import load_config  # noqa: E402
from parity.local.embedded import LOCAL_AWS_ENV, start_moto, start_postgres  # noqa: E402
from parity.local.example import (  # noqa: E402
    Session,
    config_toml,
    create_dynamodb_table,
    create_postgres_tables,
    generate,
    write_postgres,
)
from parity.mapping import key_from_json  # noqa: E402
from parity.pg import connect, fetch_rows  # noqa: E402
from parity.repair.build import build_item  # noqa: E402
from parity.store import Store  # noqa: E402
from parity.telemetry import configure_logging  # noqa: E402

LABELS = ("naive", "parity", "batch")


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


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
    for start in range(0, len(items), 25):
        pending: dict[str, Any] = {table: [{"PutRequest": {"Item": i}} for i in items[start : start + 25]]}
        while pending:
            pending = dynamodb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}


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
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = parity_main(["repair", "--config", str(config_path), "--apply", "--json", *extra])
    if code != 0:
        raise SystemExit(f"parity repair exited {code}")
    return dict(json.loads(out.getvalue()))


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
    args = parser.parse_args()
    configure_logging(level="error")
    for name, value in LOCAL_AWS_ENV.items():
        os.environ.setdefault(name, value)
    tmp = Path(tempfile.mkdtemp(prefix="parity-bench-repair-"))
    pg = start_postgres()
    moto = start_moto(log_dir=tmp)
    try:
        direct = boto3.client("dynamodb", endpoint_url=moto.endpoint_url, region_name="us-east-1")
        per_campaign = 50
        campaigns = generate(max(1, args.keys // per_campaign), per_campaign, seed=31)
        sessions = [s for c in campaigns for s in c.sessions][: args.keys]
        with connect(pg.dsn) as conn:
            create_postgres_tables(conn)
            write_postgres(conn, sessions)  # type: ignore[arg-type]
        upstream = moto.endpoint_url.removeprefix("http://")
        with LatencyProxy(upstream, delay_ms=args.delay_ms) as proxy:
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
            far_client = boto3.client(
                "dynamodb",
                endpoint_url=far,
                region_name="us-east-1",
                config=botocore.config.Config(read_timeout=10, retries={"max_attempts": 5, "mode": "standard"}),
            )
            started = time.perf_counter()
            naive_n = naive(config, far_client, pg.dsn, "parity_naive")
            naive_s = time.perf_counter() - started
            print(
                f"  (a) naive  GetItem+PutItem per key: {naive_n:>6,} items in {naive_s:7.1f} s ="
                f" {naive_n / naive_s:7,.0f} keys/s"
            )
            started = time.perf_counter()
            summary = parity_repair(configs["parity"])
            parity_s = time.perf_counter() - started
            print(
                f"  (b) parity repair --apply:          {summary['applied']:>6,} items in {parity_s:7.1f} s ="
                f" {summary['applied'] / parity_s:7,.0f} keys/s  ({summary['puts']} put, {summary['updates']} updated,"
                f" journalled, {summary['resolved']} resolved, {summary['write_units']} WCU)"
            )
            started = time.perf_counter()
            batch = parity_repair(configs["batch"], "--batch-puts")
            batch_s = time.perf_counter() - started
            print(
                f"  (c) parity repair --apply --batch-puts: {batch['applied']:>6,} items in {batch_s:7.1f} s ="
                f" {batch['applied'] / batch_s:7,.0f} keys/s"
            )
            print(f"  (b)/(a) speed {naive_s / parity_s:5.1f}x   (c)/(a) speed {naive_s / batch_s:5.1f}x")
        load = os.getloadavg()
        print(f"  load after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
        for label in LABELS:
            config = load_config(configs[label])
            equal = all_equal(config, direct, pg.dsn, sessions)
            item = direct.get_item(TableName=config.dynamodb.table, Key=sessions[-1].key())["Item"]
            kept = "appOnly" in item
            print(f"  {label:<6}: {equal:,}/{len(sessions):,} items equal their rows; app-only attribute kept: {kept}")
    finally:
        moto.stop()
        pg.stop()


if __name__ == "__main__":
    main()
