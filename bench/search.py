"""Benchmark of ``parity search``: DynamoDB + client-side evaluation vs PostgreSQL full-text search.

One 50-session campaign of the example app is written to both stores of the embedded local stack
(moto's real HTTP server, an embedded PostgreSQL over a Unix socket). For a set of websearch
queries (words, phrases, ``or``, negation, stop words), measured side by side in one run:

(a) parity: Query the campaign's partition on DynamoDB (every page), evaluate and rank on the
    client -- with the process's document cache warm, and cold (cache cleared before each query);
(b) PostgreSQL: the baseline SQL (``document @@ websearch_to_tsquery`` ordered by ``ts_rank``);
(c) the client-side evaluation alone on the fetched items (parse the query, build the 50
    documents or take them from the cache, match, rank, order), pinned to one core;
(d) the ``parity search --json`` command as a subprocess (process start included), a few runs;
(e) the bare DynamoDB Query of the campaign (what moto itself costs; real DynamoDB answers a
    50-item Query in milliseconds, moto takes far longer, so (a) here is mostly moto).

Every query's two answers are compared (keys, order, float4 ranks) before timing.

    .venv/bin/python bench/search.py                  # default: 20 rounds over the queries
    .venv/bin/python bench/search.py --rounds 3       # a quick look
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from _common import ROOT, local_stack, percentile

from parity.local.example import generate
from parity.local.example_stores import example_stores
from parity.search.engine import (
    DOCUMENTS,
    parse_query,
    query_items,
    query_request,
    rank_items,
    search_config,
    search_dynamodb,
    search_postgres,
)

QUERIES = [
    "launch", "budget review", '"customer onboarding"', "pricing or roadmap", "marketing -forecast",
    "planning the launch", "reviews", '"launch review" or email', "growth", "partner web", "migration",
    "postgres dynamodb", "search -cutover", '"quarterly planning" retention', "the of and", "webinar",
    "funnel or churn or design", "sprint -release -page", "database", "conversion growth",
]  # fmt: skip


def timed(fn: Callable[[], Any], rounds: int, before: Callable[[], None] | None = None) -> list[float]:
    samples = []
    for _ in range(rounds):
        for query in QUERIES:
            if before is not None:
                before()
            start = time.perf_counter()
            fn_query(fn, query)
            samples.append((time.perf_counter() - start) * 1000)
    return samples


def fn_query(fn: Callable[[str], Any], query: str) -> Any:
    return fn(query)


def line(label: str, samples: list[float]) -> str:
    return (
        f"{label:<44} p50 {percentile(samples, 50):8.3f} ms   p99 {percentile(samples, 99):8.3f} ms"
        f"   mean {statistics.fmean(samples):8.3f} ms   n={len(samples)}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=20, help="passes over the query list per measurement")
    parser.add_argument("--sessions", type=int, default=50, help="sessions in the campaign (default 50)")
    parser.add_argument("--cli-runs", type=int, default=3, help="runs of the parity search command")
    args = parser.parse_args()

    with local_stack(log_level=None) as stack:
        config_path = stack.root / "parity.toml"
        stores = example_stores(stack.dsn, stack.endpoint_url, config_path, stream=False, autocommit=True)
        dynamodb, conn, config = stores.dynamodb, stores.conn, stores.config
        campaign = generate(1, args.sessions, seed=5)[0]
        stores.write([campaign, *campaign.sessions])
        search, entity = search_config(config)
        cid = campaign.id

        # equivalence first: the timings below are of answers that agree
        matched = 0
        for query in QUERIES:
            ours = search_dynamodb(config, dynamodb, cid, query)
            theirs = search_postgres(config, conn, cid, query)
            if [(h.key, h.rank) for h in ours] != [(h.key, h.rank) for h in theirs]:
                print(f"NOT EQUIVALENT for {query!r}: {ours} vs {theirs}", file=sys.stderr)
                return 1
            matched += len(ours)
        print(f"campaign of {args.sessions} sessions; {len(QUERIES)} queries; all answers equal PostgreSQL's")
        print(f"({matched} matching sessions over the queries)\n")

        items = query_items(
            dynamodb, query_request(search, entity, "app", cid, parse_query(search, "launch"))
        )  # the whole campaign (push-down is off in this config)

        def evaluate_warm(q: str) -> Any:
            return rank_items(search, entity, items, parse_query(search, q))

        def evaluate_cold(q: str) -> Any:
            return rank_items(search, entity, items, parse_query(search, q), cache=None)

        try:
            os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
            pinned = "pinned to one core"
        except (AttributeError, OSError):
            pinned = "not pinned"
        for q in QUERIES:  # warm the cache and the stemmer's memo
            evaluate_warm(q)
        eval_warm = timed(evaluate_warm, args.rounds)
        eval_cold = timed(evaluate_cold, args.rounds)
        os.sched_setaffinity(0, os.sched_getaffinity(0) | set(range(os.cpu_count() or 1)))

        request = query_request(search, entity, "app", cid, parse_query(search, "launch"))
        raw_query = timed(lambda q: query_items(dynamodb, request), args.rounds)
        parity_warm = timed(lambda q: search_dynamodb(config, dynamodb, cid, q), args.rounds)
        parity_cold = timed(lambda q: search_dynamodb(config, dynamodb, cid, q), args.rounds, before=DOCUMENTS.clear)
        postgres = timed(lambda q: search_postgres(config, conn, cid, q), args.rounds)

        cli = []
        env = {**os.environ}
        for _ in range(args.cli_runs):
            start = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "parity.cli", "search", "--config", str(config_path), "--campaign", cid,
                 "--json", "budget review"],
                check=True, capture_output=True, env=env, cwd=ROOT,
            )  # fmt: skip
            cli.append((time.perf_counter() - start) * 1000)
        conn.close()

    print(line("parity search, DynamoDB + client (cache warm)", parity_warm))
    print(line("parity search, DynamoDB + client (cache cold)", parity_cold))
    print(line("  of which the DynamoDB Query alone (moto)", raw_query))
    print(line("PostgreSQL full-text search (baseline SQL)", postgres))
    print(line(f"client evaluation alone, warm ({pinned})", eval_warm))
    print(line(f"client evaluation alone, cold ({pinned})", eval_cold))
    if cli:
        print(line("parity search --json as a process", cli))
    print()
    ratio = percentile(parity_warm, 50) / percentile(postgres, 50)
    print(f"p50 ratio parity (warm) / PostgreSQL: {ratio:.2f}x;"
          f" cold: {percentile(parity_cold, 50) / percentile(postgres, 50):.2f}x")  # fmt: skip
    target = 2.0
    for label, samples in (("warm", eval_warm), ("cold", eval_cold)):
        verdict = "meets" if percentile(samples, 50) <= target else "misses"
        print(f"client evaluation {label}: p50 {percentile(samples, 50):.3f} ms {verdict} the {target} ms target")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
