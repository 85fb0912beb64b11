"""Benchmark of the discrepancy workflow's reads: a targeted re-check and the gate, beside a full reconcile.

On the embedded local stack (moto's DynamoDB server, an embedded PostgreSQL), in one run:

1. a table of ``--items`` (default 10,000) in both stores with ``--broken`` (default 50) sessions whose
   summary differs; ``parity reconcile`` (a full Scan) finds them, timed;
2. ``--fixed`` of them (default 30) are fixed in PostgreSQL; ``parity reconcile --open`` re-checks only
   the open keys (BatchGetItem), timed; its own output counts the requests and read units;
3. ``parity gate --json``, timed over ``--gate-runs`` runs (median), first on this store, then after
   ``--history`` (default 100,000) resolved discrepancies are added to the store (a long migration's
   history): the gate's reads must not grow with it.

Every figure is wall-clock time of the command as a subprocess (Python start-up included, the same for
each), so the ratios compare like with like. The machine's load is printed: on a shared machine the
figures are noisy.

    .venv/bin/python bench/workflow.py
    .venv/bin/python bench/workflow.py --items 2000 --history 10000     # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from typing import Any

from _common import ROOT, load_average, local_stack

from parity.local.example import Session, generate, records, write_dynamodb, write_postgres
from parity.local.example_stores import example_stores


def _run(env: dict[str, str], *argv: str) -> tuple[float, int, str]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "parity.cli", *argv], capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"parity {' '.join(argv)} exited {done.returncode}: {done.stderr[-2000:]}")
    return seconds, done.returncode, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--broken", type=int, default=50)
    parser.add_argument("--fixed", type=int, default=30)
    parser.add_argument("--history", type=int, default=100_000)
    parser.add_argument("--gate-runs", type=int, default=5)
    args = parser.parse_args()
    print(f"load: {load_average()} (1/5/15 min)")
    with (
        local_stack(log_level=None) as stack,
        example_stores(stack.dsn, stack.endpoint_url, stack.root / "parity.toml") as stores,
    ):
        env = {**os.environ, **stack.environment(), "PARITY_LOG_LEVEL": "warning", "PYTHONPATH": str(ROOT)}
        cfg = ["--config", str(stores.config_path)]
        conn = stores.conn
        campaigns = max(1, args.items // 100)
        written = records(generate(campaigns, args.items // campaigns - 1, seed=3))
        sessions = [r for r in written if isinstance(r, Session)]
        step = max(1, len(sessions) // args.broken)
        broken = sessions[::step][: args.broken]
        ids = {s.id for s in broken}
        write_postgres(conn, written)
        drifted = [replace(r, summary="drifted") if r.id in ids else r for r in written]
        write_dynamodb(stores.dynamodb, stores.table, drifted)  # type: ignore[arg-type]
        print(f"{len(written):,} items in both stores, {len(broken)} sessions differ (summary)")

        full, _, out = _run(env, "reconcile", *cfg, "--json", "--recheck-delay", "0")
        report: dict[str, Any] = json.loads(out)
        print(f"full reconcile (Scan):           {full:7.2f} s  found {report['mismatched']} mismatched")

        for s in broken[: args.fixed]:
            conn.execute("UPDATE public.sessions SET summary = 'drifted' WHERE id = %s", (s.id,))
        conn.commit()
        targeted, _, out = _run(env, "reconcile", *cfg, "--open", "--json")
        rechecked = json.loads(out.splitlines()[-1])
        print(
            f"reconcile --open (BatchGetItem): {targeted:7.2f} s  re-checked {rechecked['rechecked']},"
            f" resolved {rechecked['resolved']}, {rechecked['batch_get_requests']} BatchGetItem request(s)"
        )
        print(f"ratio full / --open:             {full / targeted:7.1f}x")

        def gate() -> tuple[float, bool]:
            times, ready = [], False
            for _ in range(args.gate_runs):
                seconds, _, out = _run(env, "gate", *cfg, "--json")
                times.append(seconds)
                ready = json.loads(out)["ready"]
            return statistics.median(times), ready

        small, ready = gate()
        print(f"parity gate (median of {args.gate_runs}):      {small:7.2f} s  ready={ready}")
        conn.execute(
            "INSERT INTO parity.discrepancies (entity, key_id, key, kind, columns, detected_by, first_seen,"
            " last_seen, status, resolved_at, resolved_by)"
            " SELECT 'session', '{\"id\":\"h' || g || '\"}', jsonb_build_object('id', 'h' || g), 'mismatched',"
            " '{summary}', 'reconcile', now(), now(), 'resolved', now(), 'reconcile' FROM generate_series(1, %s) g",
            (args.history,),
        )
        conn.commit()
        big, _ = gate()
        print(f"parity gate, +{args.history:,} resolved:   {big:7.2f} s  ratio {big / small:.2f}x")
        startup, _, _ = _run(env, "--version")
        print(f"(python + parity start-up alone: {startup:.2f} s)")
    print(f"load: {load_average()} (1/5/15 min)")


if __name__ == "__main__":
    main()
