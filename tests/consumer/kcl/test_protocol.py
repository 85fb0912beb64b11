"""``parity kcl-processor`` as the MultiLangDaemon sees it: a subprocess spoken to line by line.

The test plays the daemon (initialize, processRecords with base64 Kinesis records, checkpoint
replies including errors, shardEnded, leaseLost, shutdownRequested), asserts the exact messages the
processor writes, and reads the verdicts it committed from the real PostgreSQL store.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from typing import Any

from parity.local.example import Session, generate, write_postgres
from parity.store import Store
from tests.consumer.kcl.conftest import PARITY, KclEnv, kinesis_config
from tests.consumer.kcl.kinesis import (
    Daemon,
    checkpoint,
    checkpoint_reply,
    initialize,
    kcl_record,
    kds_payload,
    now,
    process_records,
    status,
)


def start(env: KclEnv, *extra: str, config: str | None = None) -> Daemon:
    command = [PARITY, "kcl-processor", "--config", config or str(env.config_path), *extra]
    return Daemon(command, env.env(), env.config_path.parent)


def sessions(count: int) -> list[Session]:
    return generate(1, count)[0].sessions[:count]


def rows(env: KclEnv, query: str) -> list[dict[str, Any]]:
    conn = env.example.conn
    with conn.transaction():
        return list(conn.execute(query.replace("{schema}", env.config.postgres.store_schema)))


def assert_protocol_only(daemon: Daemon) -> None:
    """stdout carried protocol messages and nothing else (blank separators aside)."""
    for line in daemon.raw_stdout:
        if line.strip():
            assert json.loads(line)["action"] in {"status", "checkpoint"}, line


def test_batches_checkpoint_after_commit_with_stale_duplicate_and_checkpoint_errors(kcl_env: KclEnv) -> None:
    a, b = sessions(2)
    write_postgres(kcl_env.example.conn, [a, replace(b, name="not what DynamoDB has")])
    t0 = now() - timedelta(minutes=5)
    t1, t2 = t0 + timedelta(microseconds=1), t0 + timedelta(microseconds=2)
    b_payload = kds_payload("INSERT", b, created=t1)
    batch1 = [kcl_record(kds_payload("MODIFY", a, created=t2)), kcl_record(b_payload), kcl_record(b"{not json")]

    daemon = start(kcl_env)
    try:
        daemon.send(initialize())
        assert daemon.receive() == status("initialize")

        daemon.send(process_records(batch1))
        last = batch1[-1]["sequenceNumber"]
        assert daemon.receive() == checkpoint(last, 0)
        daemon.send(checkpoint_reply(last, 0, error="ThrottlingException"))
        assert daemon.receive() == checkpoint(last, 0)  # throttled: retried
        daemon.send(checkpoint_reply(last, 0))
        assert daemon.receive() == status("processRecords")

        store = kcl_env.config.postgres.store_schema
        open_ = [(d["key"], d["kind"]) for d in Store(store).list_discrepancies(kcl_env.example.conn)]
        assert open_ == [({"id": b.id}, "mismatched")]
        dead = rows(kcl_env, "SELECT source, record_id FROM {schema}.dead_letters")
        assert dead == [{"source": "kinesis", "record_id": last}]
        marks = rows(kcl_env, "SELECT approximate_created FROM {schema}.kcl_high_water ORDER BY 1")
        assert [m["approximate_created"] for m in marks] == [t1, t2]  # microseconds kept
        beats = rows(kcl_env, "SELECT consumer_id, records FROM {schema}.consumer_heartbeats")
        assert beats == [{"consumer_id": "kcl:shardId-000000000000", "records": 3}]  # for `parity health`

        # An older event of A (stale: its image would be a DynamoDB-only write if checked) and a
        # redelivery of B's record.
        ghost = a.touched(name="ghost", updated_at=a.updated_at + timedelta(days=1))
        batch2 = [kcl_record(kds_payload("MODIFY", ghost, created=t0)), kcl_record(b_payload)]
        daemon.send(process_records(batch2))
        last2 = batch2[-1]["sequenceNumber"]
        assert daemon.receive() == checkpoint(last2, 0)
        daemon.send(checkpoint_reply(last2, 0, error="ShutdownException"))
        assert daemon.receive() == status("processRecords")  # not retried: the lease is going away

        all_ = Store(store).list_discrepancies(kcl_env.example.conn, "all")
        assert [(d["key"], d["kind"]) for d in all_] == [({"id": b.id}, "mismatched")]  # not doubled, no A
        assert rows(kcl_env, "SELECT count(*) AS n FROM {schema}.dynamodb_only_archive") == [{"n": 0}]
        assert any('"stale": 1' in line for line in daemon.stderr), "".join(daemon.stderr)

        daemon.send({"action": "shutdownRequested"})
        assert daemon.receive() == checkpoint(None, None)
        daemon.send(checkpoint_reply(last2, 0))
        assert daemon.receive() == status("shutdownRequested")
        assert daemon.close() == 0
        assert_protocol_only(daemon)
    finally:
        daemon.kill()


def test_shard_ended_checkpoints(kcl_env: KclEnv) -> None:
    daemon = start(kcl_env)
    try:
        daemon.send(initialize("shardId-000000000001"))
        assert daemon.receive() == status("initialize")
        daemon.send({"action": "shardEnded"})
        assert daemon.receive() == checkpoint(None, None)
        daemon.send(checkpoint_reply("SHARD_END", 0))
        assert daemon.receive() == status("shardEnded")
        assert daemon.close() == 0
        assert_protocol_only(daemon)
    finally:
        daemon.kill()


def test_lease_lost_does_not_checkpoint(kcl_env: KclEnv) -> None:
    (a,) = sessions(1)
    write_postgres(kcl_env.example.conn, [a])
    batch = [kcl_record(kds_payload("INSERT", a, created=now()))]
    daemon = start(kcl_env)
    try:
        daemon.send(initialize())
        assert daemon.receive() == status("initialize")
        daemon.send(process_records(batch))
        assert daemon.receive() == checkpoint(batch[0]["sequenceNumber"], 0)
        daemon.send(checkpoint_reply(batch[0]["sequenceNumber"], 0, error="InvalidStateException"))
        assert daemon.receive() == status("processRecords")  # not retried
        daemon.send({"action": "leaseLost"})
        assert daemon.receive() == status("leaseLost")  # and no checkpoint before it
        assert daemon.close() == 0
        assert daemon.receive() is None
        assert_protocol_only(daemon)
    finally:
        daemon.kill()


def test_postgres_failure_exits_non_zero_without_checkpointing(kcl_env: KclEnv) -> None:
    unreachable = kcl_env.config_path.with_name("down.toml")
    text = kcl_env.example.config_path.read_text()
    unreachable.write_text(
        kinesis_config(text, kcl_env.stream_name, dsn="postgresql://parity@127.0.0.1:9/parity?connect_timeout=2")
    )
    (a,) = sessions(1)
    daemon = start(kcl_env, "--max-attempts", "2", "--max-backoff", "0.1", config=str(unreachable))
    try:
        daemon.send(initialize())
        assert daemon.receive() == status("initialize")
        daemon.send(process_records([kcl_record(kds_payload("INSERT", a, created=now()))]))
        assert daemon.receive(timeout=60) is None  # EOF: no checkpoint, no status
        assert daemon.process.wait(30) == 2  # a dependency down (a bug would be 70; never 1)
        stderr = "".join(daemon.stderr)
        assert "failed 2 times; exiting" in stderr
        assert "postgresql://parity@127.0.0.1:9" not in stderr or "password" not in stderr
        assert_protocol_only(daemon)
    finally:
        daemon.kill()
