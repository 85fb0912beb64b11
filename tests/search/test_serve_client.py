"""The TypeScript client of docs/search.md, run by node against ``parity serve`` on the local stack: it
writes the sessions with the real ElectroDB library and their lexemes from ``POST /v1/lexemes``, then
searches over HTTP with the lexeme push-down on. Its answers must be PostgreSQL's, and the lexemes it
stored PostgreSQL's ``to_tsvector`` lexemes.

Skipped, with the reason, where Node.js or npm is missing; npm installs tests/electrodb's pinned packages.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from parity.config import load_config
from parity.local.example import generate, write_postgres
from parity.search.engine import search_postgres
from parity.search.rank import f4
from tests.conftest import ExampleEnv
from tests.parity.test_electrodb import _plain
from tests.search.test_command import QUERIES, follow_server
from tests.search.test_serve import serve

HARNESS = Path(__file__).resolve().parents[1] / "electrodb"
DOC = Path(__file__).resolve().parents[2] / "docs" / "search.md"


@pytest.fixture(scope="module")
def node() -> str:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("Node.js and npm are needed to run the TypeScript client; install nodejs to run this test")
    if not all((HARNESS / "node_modules" / p).is_dir() for p in ("electrodb", "typescript", "@types/node")):
        done = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=HARNESS,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, f"npm install failed: {done.stderr[-2000:]}"
    return node


def doc_client() -> str:
    """The one ```ts block of docs/search.md: what the test runs is what the user reads."""
    blocks = re.findall(r"```ts\n(.*?)```", DOC.read_text(), re.S)
    assert len(blocks) == 1, "docs/search.md should hold exactly one TypeScript example"
    return str(blocks[0])


@pytest.mark.slow
def test_the_documented_typescript_client_gets_postgresqls_answers(
    node: str, example_env: ExampleEnv, tmp_path: Path
) -> None:
    follow_server(example_env)
    path = example_env.config_path
    path.write_text(path.read_text() + 'lexeme_attribute = "lexemes"\n')
    campaign = generate(1, 12, seed=21)[0]
    write_postgres(example_env.conn, [campaign, *campaign.sessions])
    sessions = []
    for s in campaign.sessions:
        values: dict[str, Any] = {"sessionId": s.id, "campaignId": s.campaign_id, "name": s.name}
        if s.summary is not None:
            values["summary"] = s.summary
        if s.metadata is not None:
            values["metadata"] = _plain(s.metadata)
        sessions.append(values)
    queries = [q for q in QUERIES if q.strip()]
    client = tmp_path / "client.ts"
    client.write_text(doc_client())

    with serve(path, tmp_path / "serve.log", "--request-timeout", "60") as served:
        env = {
            **os.environ,
            "PARITY_SEARCH_URL": served.url,
            "TABLE": example_env.table,
            "AWS_ENDPOINT_URL": example_env.endpoint_url,
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "NODE_PATH": str(HARNESS / "node_modules"),
        }
        stdin = json.dumps({"sessions": sessions, "queries": [{"campaign": campaign.id, "q": q} for q in queries]})
        done = subprocess.run(
            [node, str(HARNESS / "search_client.js"), str(client)],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
    assert done.returncode == 0, done.stderr[-3000:]
    answers = json.loads(done.stdout)["answers"]

    config = load_config(path)
    found = 0
    for query, answer in zip(queries, answers, strict=True):
        expected = [(h.key, h.rank) for h in search_postgres(config, example_env.conn, campaign.id, query)]
        assert [(r["key"], f4(r["rank"])) for r in answer["results"]] == expected, query
        found += len(expected)
    assert found > 5

    rows = example_env.conn.execute(
        "SELECT id::text AS id, tsvector_to_array(to_tsvector('english', coalesce(name::text, ''))"
        " || to_tsvector('english', coalesce(summary::text, ''))"
        " || coalesce(to_tsvector('english'::regconfig, metadata::jsonb), ''::tsvector)) AS lexemes FROM sessions"
    ).fetchall()
    items = example_env.dynamodb.scan(TableName=example_env.table)["Items"]
    stored = {i["sk"]["S"].rsplit("_", 1)[-1]: sorted(i["lexemes"]["SS"]) for i in items if "lexemes" in i}
    assert len(stored) == len(sessions)
    assert stored == {row["id"]: sorted(row["lexemes"]) for row in rows}
