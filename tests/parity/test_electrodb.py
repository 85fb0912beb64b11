"""A real client of the data: items written by the real ElectroDB library (Node.js) into the local
DynamoDB, mapped and compared by the core against the PostgreSQL rows the app wrote.

Skipped, with the reason, where Node.js or npm is missing. The npm packages are installed by this
test into tests/electrodb/node_modules (pinned in tests/electrodb/package.json).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from parity.compare import Verdict, compare
from parity.local.example import Campaign, Session, generate, write_postgres
from parity.mapping import item_key, match_entity
from parity.pg import fetch_rows
from tests.conftest import ExampleEnv

WRITER = Path(__file__).resolve().parents[1] / "electrodb"


@pytest.fixture(scope="module")
def electrodb_writer() -> Path:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("Node.js and npm are needed to run the real ElectroDB library; install nodejs to run this test")
    if not (WRITER / "node_modules" / "electrodb").is_dir():
        done = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=WRITER,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, f"npm install of electrodb failed: {done.stderr[-2000:]}"
    return WRITER / "write.js"


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return _number(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def electrodb_values(record: Session | Campaign) -> dict[str, Any]:
    """What the app passes to ElectroDB's put()."""
    if isinstance(record, Campaign):
        return {
            "entity": "campaign",
            "values": {
                "campaignId": record.id,
                "name": record.name,
                "budget": _number(record.budget),
                "active": record.active,
                "updatedAt": int(record.updated_at.timestamp() * 1000),
            },
        }
    values: dict[str, Any] = {
        "sessionId": record.id,
        "campaignId": record.campaign_id,
        "name": record.name,
        "metadata": _plain(record.metadata),
        "sessionNumber": record.session_number,
        "createdAt": record.created_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "updatedAt": record.updated_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }
    if record.summary is not None:
        values["summary"] = record.summary
    if record.tags:
        values["tags"] = sorted(record.tags)
    return {"entity": "session", "values": values}


def test_electrodb_items_match_postgres_rows(electrodb_writer: Path, example_env: ExampleEnv) -> None:
    campaigns = generate(3, 4, seed=11)
    records: list[Session | Campaign] = [*campaigns, *(s for c in campaigns for s in c.sessions)]
    write_postgres(example_env.conn, records)
    env = {
        **os.environ,
        "TABLE": example_env.table,
        "AWS_ENDPOINT_URL": example_env.endpoint_url,
        "AWS_REGION": "us-east-1",
    }
    done = subprocess.run(
        ["node", str(electrodb_writer)],
        input=json.dumps([electrodb_values(r) for r in records]),
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(len(records))

    items = example_env.dynamodb.scan(TableName=example_env.table)["Items"]
    assert len(items) == len(records)
    by_id = {r.id: r for r in records}
    verdicts: dict[str, Verdict] = {}
    for item in items:
        entity = match_entity(example_env.config.entity, item)
        assert entity is not None, f"ElectroDB item matched no entity: {item.get('__edb_e__')}"
        key = item_key(entity, item)
        # ElectroDB's own key shape is the one parity's example app and search config assume
        expected = by_id[key[0]]
        assert {"pk": item["pk"], "sk": item["sk"]} == (
            expected.key()
            if isinstance(expected, Session)
            else {"pk": expected.item()["pk"], "sk": expected.item()["sk"]}
        )
        row = fetch_rows(example_env.conn, entity, [key]).get(key)
        verdicts[key[0]] = compare(entity, item, row).verdict
    assert set(verdicts.values()) == {Verdict.MATCH}, verdicts

    # the comparison still sees a real difference in ElectroDB-written data
    victim = campaigns[0].sessions[0]
    example_env.conn.execute("UPDATE public.sessions SET summary = 'changed' WHERE id = %s", (victim.id,))
    example_env.conn.commit()
    session = example_env.config.entity_named("session")
    assert session is not None
    [item] = [i for i in items if i.get("sessionId", {}).get("S") == victim.id]
    row = fetch_rows(example_env.conn, session, [(victim.id,)])[(victim.id,)]
    result = compare(session, item, row)
    assert (result.verdict, result.columns) == (Verdict.MISMATCHED, ("summary",))
