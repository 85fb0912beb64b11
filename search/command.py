"""``parity search``: keyword search over a campaign's sessions, served by DynamoDB."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from psycopg import sql

from parity.commands.common import config_from, print_json
from parity.config import ParityConfig
from parity.dynamo import client as dynamo_client
from parity.errors import InputError
from parity.jsontext import dumps_exact
from parity.pg import connect, postgres_errors, resolve_dsn, table_identifier
from parity.search.engine import (
    Hit,
    add_release_argument,
    check_campaign,
    rank_text,
    search_config,
    search_dynamodb,
    search_postgres,
    with_release,
)

EXAMPLES = """\
examples:
  parity search --campaign CAMPAIGN_ID '"late delivery" -refund'   # a phrase, and not "refund"
  parity search --list-campaigns            # campaign ids to search in
  parity search --batch queries.jsonl --json
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("query", nargs="?", help="websearch-style query (quoted phrases, or, -negation)")
    parser.add_argument("--campaign", help="campaign id whose sessions are searched")
    parser.add_argument("--batch", type=Path, metavar="FILE.jsonl", help='lines of {"campaign": ..., "query": ...}')
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--compare-postgres", action="store_true", help="also run the PostgreSQL baseline")
    parser.add_argument(
        "--list-campaigns",
        nargs="?",
        type=int,
        const=20,
        default=None,
        metavar="N",
        help="list the N campaigns with the most sessions (from PostgreSQL) to search in (default N: 20)",
    )
    add_release_argument(parser)


def _hits(hits: list[Hit]) -> list[dict[str, Any]]:
    return [{"key": h.key, "rank": rank_text(h.rank)} for h in hits]


def _requests(args: argparse.Namespace) -> list[tuple[str, str]]:
    if args.batch is not None:
        out = []
        try:
            lines = args.batch.read_text().splitlines()
        except OSError as exc:
            raise InputError(f"cannot read --batch file {args.batch}: {exc.strerror}") from exc
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                out.append((str(obj["campaign"]), str(obj["query"])))
            except (ValueError, KeyError, TypeError) as exc:
                raise InputError(f'{args.batch}:{number}: expected {{"campaign": ..., "query": ...}}') from exc
        return out
    if not args.campaign or args.query is None:
        raise InputError("parity search needs --campaign ID and a QUERY (or --batch FILE.jsonl)")
    return [(args.campaign, args.query)]


def list_campaigns(config: ParityConfig, limit: int) -> tuple[list[tuple[str, int]], int]:
    """(the ``limit`` campaigns with the most rows of the searched entity, how many campaigns there are)."""
    search, entity = search_config(config)
    column = sql.Identifier(search.campaign_column)
    query = sql.SQL(
        "SELECT {col}::text AS campaign, count(*) AS n, count(*) OVER () AS total FROM {table}"
        " WHERE {col} IS NOT NULL GROUP BY {col} ORDER BY n DESC, campaign LIMIT %(limit)s"
    ).format(col=column, table=table_identifier(entity))
    dsn = resolve_dsn(config)
    with postgres_errors(f"listing campaigns from {entity.table}.{search.campaign_column}", dsn):
        conn = connect(dsn, autocommit=True)
        try:
            rows = conn.execute(query, {"limit": limit}).fetchall()
        finally:
            conn.close()
    return [(str(r["campaign"]), int(r["n"])) for r in rows], int(rows[0]["total"]) if rows else 0


def _print_campaigns(args: argparse.Namespace, config: ParityConfig) -> int:
    if args.list_campaigns < 1:
        raise InputError(f"--list-campaigns {args.list_campaigns}: must be at least 1")
    campaigns, total = list_campaigns(config, args.list_campaigns)
    if args.json:
        print_json({"campaigns": [{"campaign": c, "sessions": n} for c, n in campaigns], "total": total})
        return 0
    if not campaigns:
        print("no campaigns: the searched table has no rows")
        return 0
    print(f"{'sessions':>8}  campaign")
    for campaign, count in campaigns:
        print(f"{count:>8}  {campaign}")
    shown = f"the {len(campaigns)} with the most sessions of {total:,}" if total > len(campaigns) else "all"
    print(f"{shown} campaigns; search one with: parity search --campaign {campaigns[0][0]} QUERY")
    return 0


def run(args: argparse.Namespace) -> int:
    config = with_release(config_from(args), args.postgres_version)
    if args.list_campaigns is not None:
        return _print_campaigns(args, config)
    requests = _requests(args)
    client = dynamo_client(config.dynamodb)
    conn = None
    if args.compare_postgres:
        dsn = resolve_dsn(config)
        with postgres_errors("connecting to PostgreSQL", dsn):
            conn = connect(dsn, autocommit=True)
    try:
        for campaign, query in requests:
            check_campaign(config, campaign)
            hits = search_dynamodb(config, client, campaign, query)
            out: dict[str, Any] = {"campaign": campaign, "query": query, "results": _hits(hits)}
            if conn is not None:
                pg_hits = search_postgres(config, conn, campaign, query)
                out["postgres"] = _hits(pg_hits)
                out["equivalent"] = [(h.key, h.rank) for h in hits] == [(h.key, h.rank) for h in pg_hits]
            if args.json or args.batch is not None:
                print_json(out)
            else:
                for hit in out["results"]:
                    print(f"{hit['rank']:<12} {dumps_exact(hit['key'], separators=(', ', ': '))}")
                if not out["results"]:  # no match, or a campaign without sessions: say so, never nothing
                    print("0 results")
                if conn is not None:
                    print(f"postgres: {len(out['postgres'])} result(s); equivalent: {str(out['equivalent']).lower()}")
    finally:
        if conn is not None:
            conn.close()
    return 0


__all__ = ["add_arguments", "print_json", "run"]
