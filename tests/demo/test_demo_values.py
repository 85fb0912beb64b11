"""On the demo's own workload: every injected fault is listed with exactly what the workload wrote
to each store (``values``, docs/reference.md §5), found by the stream checker; a reconcile keeps them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from parity.cli import main
from parity.local.demo.workload import workload
from parity.local.example import Campaign, Session, generate, write_dynamodb, write_postgres
from tests.conftest import ExampleEnv


def _ts(moment: datetime) -> str:
    """A timestamp as the JSON output shows it: ISO-8601 UTC at millisecond precision."""
    at = moment.astimezone(UTC)
    return at.replace(microsecond=at.microsecond // 1000 * 1000).isoformat().replace("+00:00", "Z")


def _columns(s: Session) -> dict[str, Any]:
    """Every mapped column of a session as the workload wrote it (the example config's mapping)."""
    return {
        "id": s.id,
        "campaign_id": s.campaign_id,
        "name": s.name,
        "summary": s.summary,
        "metadata": s.metadata,
        "session_number": s.session_number,
        "tags": sorted(s.tags) or None,  # DynamoDB cannot store an empty set: empty is NULL
        "created_at": _ts(s.created_at),
        "updated_at": _ts(s.updated_at),
    }


def _difference(got: dict[str, Any], want: dict[str, Any]) -> str:
    """The (side, column) entries that differ, for a readable failure."""
    out = []
    for side in sorted(set(got) | set(want)):
        g, w = got.get(side) or {}, want.get(side) or {}
        out += [
            f"{side}.{c}: got {g.get(c)!r}, want {w.get(c)!r}" for c in sorted(set(g) | set(w)) if g.get(c) != w.get(c)
        ]
    return "; ".join(out)


def test_each_injected_fault_shows_what_the_workload_wrote_to_each_side(
    example_env: ExampleEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = example_env.config_path
    cfg.write_text(cfg.read_text().replace("grace_seconds = 30\n", "grace_seconds = 2\n"))
    campaigns = generate(10, 5, seed=7)
    records: list[Session | Campaign] = [*campaigns, *(s for c in campaigns for s in c.sessions)]
    write_postgres(example_env.conn, records)
    write_dynamodb(example_env.dynamodb, example_env.table, records)
    before = {s.id: s for c in campaigns for s in c.sessions}
    faults = workload(example_env.conn, example_env.dynamodb, campaigns, 100, 0.06, table=example_env.table)
    assert faults.dynamodb_only and faults.wrong_column and faults.new_dynamodb_only and faults.deleted_dynamodb_only
    capsys.readouterr()
    assert main(["consume", "--config", str(cfg), "--stop-when-idle", "3"]) == 0
    capsys.readouterr()

    assert main(["discrepancies", "--config", str(cfg), "--json"]) == 0
    # numbers parsed exactly: 45.3 in the output must be the workload's Decimal("45.3")
    found = {(d["entity"], d["key"]["id"]): d for d in json.loads(capsys.readouterr().out, parse_float=Decimal)}
    expected: dict[str, tuple[str, dict[str, Any]]] = {}
    for newer in faults.dynamodb_only:  # DynamoDB took the update, PostgreSQL kept the version before it
        old = before[newer.id]
        expected[newer.id] = (
            "mismatched",
            {
                "summary": {"dynamodb": newer.summary, "postgres": old.summary},
                "updated_at": {"dynamodb": _ts(newer.updated_at), "postgres": _ts(old.updated_at)},
            },
        )
    for newer in faults.wrong_column:  # the same version, PostgreSQL's name with a typo
        expected[newer.id] = ("mismatched", {"name": {"dynamodb": newer.name, "postgres": newer.name + " (typo)"}})
    for created in faults.new_dynamodb_only:
        expected[created.id] = ("missing_in_postgres", {"dynamodb": _columns(created)})
    for deleted in faults.deleted_dynamodb_only:
        expected[deleted.id] = ("missing_in_dynamodb", {"postgres": _columns(deleted)})
    late = {s.id for s in faults.late}
    assert not late & {key for _, key in found}, "a late write (within grace) was reported"
    assert {key for _, key in found} == set(expected)
    for key, (kind, values) in expected.items():
        d = found[("session", key)]
        assert (d["kind"], d["detected_by"], d["status"]) == (kind, "stream", "open")
        assert d["values"] == values, _difference(d["values"], values)

    # a full reconcile finds the same differences and keeps the same values
    assert main(["reconcile", "--config", str(cfg), "--recheck-delay", "0"]) == 0
    capsys.readouterr()
    assert main(["discrepancies", "--config", str(cfg), "--json"]) == 0
    again = {d["key"]["id"]: d for d in json.loads(capsys.readouterr().out, parse_float=Decimal)}
    assert {k: (d["kind"], d["values"]) for k, d in again.items()} == expected
