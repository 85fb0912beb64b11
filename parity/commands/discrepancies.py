"""``parity discrepancies``: what the checkers found, from the store."""

from __future__ import annotations

import argparse

from parity.commands.common import config_from, print_json, store_connection


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--status", choices=["open", "resolved", "all"], default="open")
    parser.add_argument("--json", action="store_true", help="print the contract's JSON list")


def run(args: argparse.Namespace) -> int:
    config = config_from(args)
    with store_connection(config) as (conn, store):
        found = store.list_discrepancies(conn, args.status)
    if args.json:
        print_json(found)
        return 0
    if not found:
        print(f"no {args.status if args.status != 'all' else ''} discrepancies".replace("  ", " "))
        return 0
    print(f"{'entity':<14} {'kind':<20} {'status':<9} {'by':<10} {'last seen':<26} key / columns")
    for d in found:
        key = ",".join(f"{k}={v}" for k, v in d["key"].items())
        columns = f"  [{', '.join(d['columns'])}]" if d["columns"] else ""
        head = f"{d['entity']:<14} {d['kind']:<20} {d['status']:<9} {d['detected_by']:<10} {d['last_seen']:<26}"
        print(f"{head} {key}{columns}")
    print(f"{len(found)} discrepanc{'y' if len(found) == 1 else 'ies'}")
    return 0
