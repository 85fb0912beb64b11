"""Shared helpers of the reconciler tests: a seeded dataset with one discrepancy of every kind."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, replace
from datetime import timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from parity.local.example import Campaign, Session, generate, write_dynamodb, write_postgres
from parity.reconciler import command
from tests.conftest import ExampleEnv


def parse(argv: list[str], config_path: Path) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config")
    parser.add_argument("--log-level")
    command.add_arguments(parser)
    return parser.parse_args([*argv, "--config", str(config_path)])


def reconcile(
    env: ExampleEnv, tmp: Path, *argv: str, stop_after_pages: int | None = None
) -> tuple[int, dict[str, Any]]:
    """Run ``parity reconcile`` in-process; (exit code, the JSON report written with --report)."""
    report = tmp / f"report-{len(list(tmp.glob('report-*.json')))}.json"
    args = parse(["--report", str(report), "--recheck-delay", "0", *argv], env.config_path)
    code = command.run(args, stop_after_pages=stop_after_pages)
    return code, json.loads(report.read_text())


def stable(report: dict[str, Any]) -> dict[str, Any]:
    """The report without what differs between two runs of the same data (ids, clocks, speed)."""
    volatile = {
        "started_at",
        "finished_at",
        "items_per_second",
        "run_id",
        "consumed_rcu",
        "segments_done",
        "total_segments",
    }
    return {k: v for k, v in report.items() if k not in volatile}


@dataclass
class Seeded:
    """What was injected: keys of each kind and the expected counts."""

    missing_in_postgres: str
    missing_in_dynamodb: str
    mismatched_summary: str
    wrong_type: str
    campaign_mismatch: str
    sessions: int
    campaigns: int


def seed(env: ExampleEnv, *, campaigns: int = 3, sessions: int = 8) -> Seeded:
    """Both stores with the same example data plus one injected discrepancy of every kind, and
    values that differ in form only (1.50 vs 1.5, zones, JSON key order, set order, UUID case)."""
    data = generate(campaigns, sessions, seed=11)
    all_sessions: list[Session] = [s for c in data for s in c.sessions]
    camps: list[Campaign] = list(data)
    pg_records: list[Session | Campaign] = [*camps, *all_sessions]
    write_postgres(env.conn, pg_records)

    only_ddb, only_pg, differ, wrong, *rest = all_sessions
    items: list[dict[str, Any]] = []
    for s in rest:
        items.append(s.item())
    # canonical-equal variants on the DynamoDB side
    items[0]["createdAt"] = {"S": rest[0].created_at.astimezone(timezone(timedelta(hours=2))).isoformat()}
    items[1]["campaignId"] = {"S": rest[1].campaign_id.upper()}
    if len(rest[2].tags) >= 0:
        items[2]["tags"] = {"SS": sorted({*rest[2].tags, "zz", "aa"}, reverse=True)}
        write_postgres(env.conn, [replace(rest[2], tags=frozenset({*rest[2].tags, "zz", "aa"}))])
    items[3]["metadata"] = {"M": dict(reversed(list(items[3]["metadata"]["M"].items())))}
    # discrepancies
    items.append(only_ddb.item())
    env.conn.execute("DELETE FROM public.sessions WHERE id = %s", (only_ddb.id,))
    env.conn.commit()
    items.append(differ.touched(summary="changed only in DynamoDB", updated_at=differ.updated_at).item())
    bad = wrong.item()
    bad["sessionNumber"] = {"S": "seven"}
    items.append(bad)
    camp_items = [c.item() for c in camps]
    camp_items[0]["budget"] = {"N": f"{camps[0].budget:.2f}0"}  # 1234.50 vs 1234.5: equal
    camp_items[1]["name"] = {"S": camps[1].name + " (renamed)"}
    # an item of no configured entity
    other = {"pk": {"S": "$other#x"}, "sk": {"S": "$other_1"}, "__edb_e__": {"S": "invoice"}}
    for item in [*items, *camp_items, other]:
        env.dynamodb.put_item(TableName=env.table, Item=item)
    assert Decimal(camp_items[0]["budget"]["N"]) == camps[0].budget
    _ = write_dynamodb  # the records above are written one by one to keep their injected shapes
    return Seeded(
        missing_in_postgres=only_ddb.id,
        missing_in_dynamodb=only_pg.id,
        mismatched_summary=differ.id,
        wrong_type=wrong.id,
        campaign_mismatch=camps[1].id,
        sessions=len(all_sessions),
        campaigns=len(camps),
    )
