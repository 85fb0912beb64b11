"""Benchmark of ``parity replay --apply`` beside the script a team would write in a hurry.

On the local stack (moto's real server, an embedded PostgreSQL), ``--rows`` sessions (default
5,000) reached DynamoDB only: half are missing in PostgreSQL, half are older there, and 1% are newer
in PostgreSQL (to be left alone). The consumer's archive names them all. Two identical PostgreSQL
databases are loaded, and in one run, with PostgreSQL on loopback and ``--pg-delay-ms`` away (a
latency proxy, bench/latency_proxy.py), it times:

(a) naive: for each archived key a consistent GetItem, one SELECT, then one INSERT or UPDATE
    (autocommit, no journal: what a rushed script does);
(b) parity: ``parity replay --apply --json`` in-process (plan with batched consistent reads, locked
    re-decision, pipelined writes, journal, read-back and resolution).

It prints rows/s, the ratio, and PostgreSQL round trips per 1,000 rows, and checks both ended with
the same rows (and that the newer rows were left alone by (b)).

    .venv/bin/python bench/replay.py                 # default sizes
    .venv/bin/python bench/replay.py --rows 1000     # a quick look
"""

from __future__ import annotations

import argparse
import os
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import psycopg
from _common import dynamodb_client, fresh_database, local_stack, parity_json, pg_proxy
from psycopg.types.json import Jsonb

from parity.config import load_config
from parity.jsontext import dumps_exact
from parity.local.example import (
    Session,
    config_toml,
    create_dynamodb_table,
    create_postgres_tables,
    sessions,
    write_dynamodb,
    write_postgres,
)
from parity.pg import connect
from parity.rollback.plan import Action, decide_upsert
from parity.rollback.values import item_to_row
from parity.store import Store

TABLE = "bench-replay"


def load(rows: int, dynamodb: Any, dsns: list[str]) -> tuple[list[Session], list[Session]]:
    """DynamoDB gets every session; each database the older/newer rows; the archive names them all."""
    written = sessions(rows, 50, seed=21)
    newer = written[: max(1, rows // 100)]
    older = written[len(newer) : len(newer) + (rows - len(newer)) // 2]
    write_dynamodb(dynamodb, TABLE, written)  # type: ignore[arg-type]
    stale = [s.touched(summary="before the failed write", updated_at=s.updated_at.replace(year=2020)) for s in older]
    ahead = [s.touched(summary="newer in PostgreSQL", updated_at=s.updated_at.replace(year=2030)) for s in newer]
    for dsn in dsns:
        with connect(dsn) as conn:
            create_postgres_tables(conn)
            write_postgres(conn, [*stale, *ahead])  # type: ignore[list-item]
            store = Store("parity")
            store.migrate(conn)
            store.archive(
                conn,
                [
                    {
                        "entity": "session",
                        "key": {"id": s.id},
                        "event_id": str(uuid.uuid4()),
                        "event_name": "MODIFY",
                        "approximate_created_at": datetime.now(UTC),
                        "new_image": s.item(),
                        "old_image": None,
                        "user_identity": None,
                    }
                    for s in written
                ],
            )
            conn.commit()
    return written, newer


def naive(config: Any, dynamodb: Any, dsn: str) -> int:
    """The rushed script: per key GetItem, SELECT, INSERT/UPDATE; returns rows written."""
    entity = next(e for e in config.entity if e.name == "session")
    columns = list(entity.all_columns)
    written = 0
    with psycopg.connect(dsn, autocommit=True, row_factory=psycopg.rows.dict_row) as conn:
        keys = conn.execute("SELECT DISTINCT key, new_image FROM parity.dynamodb_only_archive").fetchall()
        for entry in keys:
            image = entry["new_image"]
            item = dynamodb.get_item(
                TableName=TABLE, Key={"pk": image["pk"], "sk": image["sk"]}, ConsistentRead=True
            ).get("Item")
            if item is None:
                continue
            row = conn.execute("SELECT * FROM public.sessions WHERE id = %s", (entry["key"]["id"],)).fetchone()
            decision = decide_upsert(entity, item, row)
            if not decision.action.writes:
                continue
            values = item_to_row(entity, item)
            params = [Jsonb(values[c], dumps=dumps_exact) if c == "metadata" else values[c] for c in columns]
            if decision.action is Action.INSERT:
                conn.execute(
                    f"INSERT INTO public.sessions ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})",
                    params,
                )
            else:
                sets = ", ".join(f"{c} = %s" for c in columns[1:])
                conn.execute(f"UPDATE public.sessions SET {sets} WHERE id = %s", [*params[1:], params[0]])
            written += 1
    return written


def snapshot(dsn: str) -> dict[str, Any]:
    with connect(dsn) as conn:
        return {str(r["id"]): r for r in conn.execute("SELECT * FROM public.sessions")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=5_000)
    parser.add_argument("--pg-delay-ms", type=float, default=1.0, help="one-way delay to PostgreSQL")
    args = parser.parse_args()
    with local_stack() as stack:
        dynamodb = dynamodb_client(stack.endpoint_url)
        create_dynamodb_table(dynamodb, TABLE, stream=False)
        load_now = os.getloadavg()[0]
        print(f"replay benchmark: {args.rows:,} DynamoDB-only writes (1% newer in PostgreSQL), load {load_now:.1f}")
        for label, delay in (("loopback", 0.0), (f"{args.pg_delay_ms:g} ms away", args.pg_delay_ms)):
            names = [f"bench_replay_{kind}_{int(delay * 1000)}" for kind in ("naive", "parity")]
            dsns = [fresh_database(stack.dsn, name) for name in names]
            _, newer = load(args.rows, dynamodb, dsns)
            with pg_proxy(stack.dsn, delay) as proxy:
                config_path = stack.root / f"parity-{int(delay * 1000)}.toml"
                config_path.write_text(
                    config_toml(table=TABLE, dsn=proxy.dsn(dsns[1]), endpoint_url=stack.endpoint_url)
                )
                config = load_config(config_path)
                proxy.reset_counters()
                started = time.perf_counter()
                naive_rows = naive(config, dynamodb, proxy.dsn(dsns[0]))
                naive_s = time.perf_counter() - started
                naive_trips = proxy.round_trips
                proxy.reset_counters()
                started = time.perf_counter()
                summary = parity_json("replay", "--config", str(config_path), "--apply", "--json")
                parity_s = time.perf_counter() - started
                parity_trips = proxy.round_trips
            a, b = snapshot(dsns[0]), snapshot(dsns[1])
            same = a == b
            untouched = all(b[s.id]["summary"] == "newer in PostgreSQL" for s in newer)
            applied = summary["applied"]
            print(
                f"  PostgreSQL {label:<10} (a) naive  {naive_rows:>6,} rows in {naive_s:6.1f} s ="
                f" {naive_rows / naive_s:8,.0f} rows/s  {naive_trips * 1000 / max(1, naive_rows):7.0f}"
                " PG round trips/1,000 rows"
            )
            print(
                f"  {'':<21} (b) parity {applied:>6,} rows in {parity_s:6.1f} s = {applied / parity_s:8,.0f} rows/s"
                f"  {parity_trips * 1000 / max(1, applied):7.0f} PG round trips/1,000 rows"
                f"  (journalled, verified, {summary['resolved']} resolved)"
            )
            print(
                f"  {'':<21} (b)/(a) speed {naive_s / parity_s:4.1f}x; same final rows: {same};"
                f" {summary['skipped_newer_in_postgres']} newer rows left alone: {untouched}"
            )


if __name__ == "__main__":
    main()
