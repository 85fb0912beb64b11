"""The example app's stores as the demo and the benchmarks get them: tables on both sides, a config
mapping them, a dual write that lands in both; and the example data helpers they share."""

from __future__ import annotations

from pathlib import Path

from parity.cli import main
from parity.local.example import Campaign, Session, generate, records, sessions
from parity.local.example_stores import example_stores


def test_example_stores_map_both_tables_and_a_dual_write_lands_in_both(
    tmp_path: Path, pg_dsn: str, moto_endpoint: str, table_name: str
) -> None:
    config_path = tmp_path / "parity.toml"
    with example_stores(pg_dsn, moto_endpoint, config_path, table=table_name, consumer="grace_seconds = 2") as stores:
        assert stores.config.dynamodb.table == table_name
        assert stores.config.consumer.grace_seconds == 2
        assert "LatestStreamArn" in stores.description
        written = records(generate(2, 3, seed=1))
        stores.write(written)
        rows = stores.conn.execute("SELECT count(*) AS n FROM public.sessions").fetchone()
        assert rows is not None and rows["n"] == 6
        items = stores.dynamodb.scan(TableName=table_name, Select="COUNT")["Count"]
        assert items == len(written) == 8
    assert stores.conn.closed
    # the config file is the one parity reads: a full compare finds the two stores equal
    assert main(["reconcile", "--config", str(config_path), "--recheck-delay", "0"]) == 0


def test_example_stores_without_a_stream(tmp_path: Path, pg_dsn: str, moto_endpoint: str, table_name: str) -> None:
    with example_stores(pg_dsn, moto_endpoint, tmp_path / "p.toml", table=table_name, stream=False) as stores:
        assert "LatestStreamArn" not in stores.description
        assert stores.config.consumer.grace_seconds == 30


def test_sessions_are_the_first_of_the_campaigns_they_fill_and_records_list_campaigns_first() -> None:
    picked = sessions(7, 3, seed=5)
    assert picked == [s for c in generate(3, 3, seed=5) for s in c.sessions][:7]
    assert sessions(6, 3, seed=5) == picked[:6]
    campaigns = generate(2, 2, seed=5)
    listed = records(campaigns)
    assert [type(r) for r in listed] == [Campaign, Campaign, Session, Session, Session, Session]
    assert listed[2:] == [*campaigns[0].sessions, *campaigns[1].sessions]
