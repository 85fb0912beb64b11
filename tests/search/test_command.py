"""``parity search`` end to end on the local stack (moto's DynamoDB server, a real PostgreSQL)
with the example app's data: the DynamoDB answer must equal the PostgreSQL full-text baseline."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from typing import Any

import pytest

from parity.cli import main
from parity.config import load_config
from parity.local.example import Session, generate, write_dynamodb, write_postgres
from parity.search.engine import session_lexemes
from tests.conftest import ExampleEnv

UNKNOWN = "0b0e0000-0000-4000-8000-000000000000"  # a well-formed campaign id nobody has

QUERIES = [
    "launch",
    "budget review",
    '"customer onboarding"',
    "pricing or roadmap",
    "marketing -forecast",
    "planning the launch",
    "the",
    "reviews",
    "quarterly -",
    '"launch review" or email',
    "growth",
    "partner web",
]


def follow_server(env: ExampleEnv) -> None:
    """Search answers like the test server's release (its Snowball, its websearch parsing), as production's would."""
    major, minor = divmod(env.conn.info.server_version, 10000)
    path = env.config_path
    if "postgres_version" not in path.read_text():  # [search] is the config's last section
        path.write_text(path.read_text() + f'postgres_version = "{major}.{minor}"\n')


def _seed(env: ExampleEnv, *, campaigns: int = 2, sessions: int = 25, with_lexemes: bool = False) -> list[str]:
    follow_server(env)
    data = generate(campaigns, sessions, seed=11)
    rng = random.Random(3)
    records: list[Any] = []
    for campaign in data:
        records.append(campaign)
        for session in campaign.sessions:
            if rng.random() < 0.1:
                session = replace(session, metadata=None)
            records.append(session)
    write_postgres(env.conn, records)
    if with_lexemes:
        config = load_config(env.config_path)
        items = []
        for record in records:
            item = record.item()
            if isinstance(record, Session):
                lexemes = session_lexemes(
                    config, {"name": record.name, "summary": record.summary, "metadata": record.metadata}
                )
                if lexemes:
                    item["lexemes"] = {"SS": lexemes}
            items.append(item)
        for start in range(0, len(items), 25):
            env.dynamodb.batch_write_item(
                RequestItems={env.table: [{"PutRequest": {"Item": i}} for i in items[start : start + 25]]}
            )
    else:
        write_dynamodb(env.dynamodb, env.table, records)
    return [c.id for c in data]


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.slow
def test_compare_postgres_reports_equivalent(example_env: ExampleEnv, capsys: pytest.CaptureFixture[str]) -> None:
    campaigns = _seed(example_env)
    found = 0
    for campaign in campaigns:
        for query in QUERIES:
            code, out, err = _run(
                capsys, "search", "--config", str(example_env.config_path), "--campaign", campaign,
                "--json", "--compare-postgres", query,
            )  # fmt: skip
            assert code == 0, err
            answer = json.loads(out)
            assert answer["campaign"] == campaign and answer["query"] == query
            assert answer["equivalent"] is True, answer
            assert answer["results"] == answer["postgres"]
            ranks = [r["rank"] for r in answer["results"]]
            assert ranks == sorted(ranks, reverse=True)
            found += len(answer["results"])
    assert found > 20  # the queries do find sessions, so "equivalent" is not two empty lists


@pytest.mark.slow
def test_batch_with_precomputed_lexemes(
    example_env: ExampleEnv, capsys: pytest.CaptureFixture[str], tmp_path: Any
) -> None:
    path = example_env.config_path
    path.write_text(path.read_text() + 'lexeme_attribute = "lexemes"\n')
    campaigns = _seed(example_env, with_lexemes=True)
    batch = tmp_path / "queries.jsonl"
    batch.write_text("\n".join(json.dumps({"campaign": c, "query": q}) for c in campaigns for q in QUERIES) + "\n")
    code, out, err = _run(
        capsys, "search", "--config", str(path), "--batch", str(batch), "--json", "--compare-postgres"
    )
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == len(campaigns) * len(QUERIES)
    assert all(line["equivalent"] for line in lines), [line for line in lines if not line["equivalent"]]
    assert sum(len(line["results"]) for line in lines) > 20


def test_query_longer_than_the_limit_is_rejected(example_env: ExampleEnv, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(
        capsys, "search", "--config", str(example_env.config_path), "--campaign", UNKNOWN, "x" * 300,
    )  # fmt: skip
    assert code == 2
    assert out == ""
    assert "max_query_length = 256" in err and "300 characters" in err


def test_missing_campaign_is_bad_input(example_env: ExampleEnv, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "search", "--config", str(example_env.config_path), "launch")
    assert code == 2
    assert "--campaign" in err


def test_bad_batch_line_names_file_and_line(
    example_env: ExampleEnv, capsys: pytest.CaptureFixture[str], tmp_path: Any
) -> None:
    batch = tmp_path / "q.jsonl"
    batch.write_text('{"campaign": "a", "query": "x"}\nnot json\n')
    code, out, err = _run(capsys, "search", "--config", str(example_env.config_path), "--batch", str(batch), "--json")
    assert code == 2
    assert f"{batch}:2" in err
    assert out == ""


def test_zero_results_and_an_unknown_campaign_say_so(
    example_env: ExampleEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    campaigns = _seed(example_env, campaigns=1, sessions=3)
    config = str(example_env.config_path)
    for campaign, query in [(campaigns[0], "zebra"), (UNKNOWN, "launch")]:
        code, out, err = _run(capsys, "search", "--config", config, "--campaign", campaign, query)
        assert (code, out) == (0, "0 results\n"), err
    code, out, err = _run(capsys, "search", "--config", config, "--campaign", "c1", "launch")
    assert code == 2 and out == "" and "not a uuid" in err
    code, out, err = _run(capsys, "search", "--config", config, "--campaign", campaigns[0], "launch " + "-" * 33)
    assert code == 2 and out == "" and "tsquery stack too small" in err


def test_library_callers_get_parity_errors_not_driver_errors(example_env: ExampleEnv) -> None:
    """search_dynamodb / search_postgres map what the drivers raise at the boundary (``from`` the cause)."""
    import botocore.exceptions
    import psycopg

    from parity.errors import DynamoDBError, PostgresError
    from parity.search import search_dynamodb, search_postgres

    campaign = _seed(example_env, campaigns=1, sessions=2)[0]
    example_env.dynamodb.delete_table(TableName=example_env.table)
    with pytest.raises(DynamoDBError) as found:
        search_dynamodb(example_env.config, example_env.dynamodb, campaign, "alpha")
    assert isinstance(found.value.__cause__, botocore.exceptions.ClientError)
    example_env.conn.execute("DROP TABLE sessions")
    with pytest.raises(PostgresError) as refused:
        search_postgres(example_env.config, example_env.conn, campaign, "alpha")
    assert isinstance(refused.value.__cause__, psycopg.Error)
