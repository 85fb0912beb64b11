"""The items repair writes are the app's items: the real ElectroDB library (Node.js) reads every
repaired item back with ``get`` and finds it with the app's query of a campaign's sessions.

Skipped, with the reason, where Node.js or npm is missing (the fixture installs the pinned
packages of tests/electrodb/package.json).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from parity.cli import main
from parity.local.example import Campaign, Session
from tests.conftest import ExampleEnv
from tests.parity.test_electrodb import electrodb_writer  # noqa: F401 - the fixture that installs ElectroDB
from tests.repair.conftest import Broken


def _read(script: Path, env: ExampleEnv, request: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        ["node", str(script)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        env={**os.environ, "TABLE": env.table, "AWS_ENDPOINT_URL": env.endpoint_url, "AWS_REGION": "us-east-1"},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def _get(record: Session | Campaign) -> dict[str, Any]:
    if isinstance(record, Campaign):
        return {"entity": "campaign", "key": {"campaignId": record.id}}
    return {"entity": "session", "key": {"campaignId": record.campaign_id, "sessionId": record.id}}


def test_electrodb_reads_every_repaired_item(
    electrodb_writer: Path,  # noqa: F811 - the imported fixture
    example_env: ExampleEnv,
    broken: Broken,
    capsys: pytest.CaptureFixture[str],
) -> None:
    reader = electrodb_writer.with_name("read.js")
    repaired: list[Session | Campaign] = [*broken.missing, *broken.wrong]
    campaigns = sorted({r.id if isinstance(r, Campaign) else r.campaign_id for r in broken.records})
    request = {"gets": [_get(r) for r in repaired], "campaigns": campaigns}

    before = _read(reader, example_env, request)
    assert [found is None for found in before["gets"]] == [True] * len(broken.missing) + [False] * len(broken.wrong)

    assert main(["reconcile", "--config", str(example_env.config_path), "--json"]) == 0
    assert main(["repair", "--config", str(example_env.config_path), "--apply", "--json"]) == 0
    capsys.readouterr()

    after = _read(reader, example_env, request)
    for record, found in zip(repaired, after["gets"], strict=True):
        assert found is not None, f"ElectroDB get found no item for repaired {type(record).__name__} {record.id}"
        if isinstance(record, Session):
            assert (found["sessionId"], found["name"], found["sessionNumber"]) == (
                record.id,
                record.name,
                record.session_number,
            )
            assert found["updatedAt"] == record.item()["updatedAt"]["S"]
            assert sorted(found.get("tags", [])) == sorted(record.tags)
        else:
            assert (found["campaignId"], found["name"], found["active"]) == (record.id, record.name, record.active)
            assert found["updatedAt"] == int(record.item()["updatedAt"]["N"])
    sessions = [r for r in broken.records if isinstance(r, Session)]
    expected = {c: sorted(s.id for s in sessions if s.campaign_id == c) for c in campaigns}
    assert after["sessions_by_campaign"] == expected
