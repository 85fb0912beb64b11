"""Small parts of the consume loop: decoding GetRecords pages, retry with backoff, `parity health`."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest

from parity.cli import main
from parity.consumer.backoff import Backoff, retry
from parity.consumer.runner import decode_records
from parity.errors import PostgresError, PostgresUnavailable, Stopped
from tests.conftest import ExampleEnv

FAST = Backoff(first=0.001, ceiling=0.002)


def test_decode_keeps_undecodable_records_with_a_reason() -> None:
    good = {
        "eventID": "1",
        "eventName": "INSERT",
        "dynamodb": {"ApproximateCreationDateTime": 1, "Keys": {"pk": {"S": "a"}}, "SequenceNumber": "5"},
    }
    bad = {"eventID": "2", "eventName": "UPSERT", "dynamodb": {"SequenceNumber": "6", "Keys": {"pk": {"S": "a"}}}}
    records, undecodable = decode_records([good, bad])
    assert [r.event_id for r in records] == ["1"]
    assert [(u.record_id, u.reason, u.raw) for u in undecodable] == [("2", "unknown eventName 'UPSERT'", bad)]


def test_retry_waits_out_an_unavailable_dependency() -> None:
    attempts = []

    def flaky() -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise PostgresUnavailable("down")
        return "ok"

    assert retry("x", flaky, threading.Event(), backoff=FAST) == "ok"
    assert len(attempts) == 3


def test_retry_lets_other_errors_through_and_stops_on_request() -> None:
    def broken() -> None:
        raise PostgresError("syntax error")

    with pytest.raises(PostgresError):
        retry("x", broken, threading.Event(), backoff=FAST)
    stop = threading.Event()
    stop.set()

    def down() -> None:
        raise PostgresUnavailable("down")

    with pytest.raises(Stopped):
        retry("x", down, stop, backoff=FAST)


def test_backoff_grows_to_its_ceiling() -> None:
    b = Backoff(first=1, ceiling=8)
    assert 0.5 <= b.delay(0) <= 1 and 4 <= b.delay(10) <= 8


def _config_with(env: ExampleEnv, tmp_path: Path, extra: str) -> Path:
    text = env.config_path.read_text().replace("grace_seconds = 30\n", "grace_seconds = 30\n" + extra)
    path = tmp_path / "health.toml"
    path.write_text(text)
    return path


def test_health_from_a_file(example_env: ExampleEnv, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    beat = tmp_path / "beat"
    config = _config_with(example_env, tmp_path, f'health_file = "{beat}"\nhealth_max_age_seconds = 60\n')
    assert main(["health", "--config", str(config)]) == 1
    assert "no heartbeat" in capsys.readouterr().out
    beat.touch()
    assert main(["health", "--config", str(config)]) == 0
    old = time.time() - 120
    os.utime(beat, (old, old))
    assert main(["health", "--config", str(config)]) == 1
    assert "unhealthy: last heartbeat 1" in capsys.readouterr().out
    # from outside the task (no file there), --any-worker reads the store: nobody beat yet
    assert main(["health", "--config", str(config), "--any-worker"]) == 1
    assert "no heartbeat yet in store schema" in capsys.readouterr().out


def test_health_from_the_store(
    example_env: ExampleEnv, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from parity.consumer.heartbeat import beat
    from parity.store import Store

    monkeypatch.setenv("PARITY_WORKER_ID", "task-a")
    config = str(example_env.config_path)
    assert main(["health", "--config", config]) == 1
    conn, store = example_env.conn, Store("parity")
    beat(conn, store, "arn:stream", 10, {}, table=example_env.table)
    conn.commit()
    assert main(["health", "--config", config, "--json"]) == 0
    out = capsys.readouterr().out
    assert '"healthy": true' in out and '"worker": "task-a"' in out
    conn.execute("UPDATE parity.consumer_heartbeats SET committed_at = now() - interval '1 hour'")
    conn.commit()
    assert main(["health", "--config", config]) == 1


def test_health_checks_this_workers_own_heartbeat(
    example_env: ExampleEnv, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Several KCL tasks share one store: a healthy task must not make a wedged one look healthy."""
    from parity.consumer.heartbeat import beat
    from parity.store import Store

    config = str(example_env.config_path)
    conn, store = example_env.conn, Store("parity")
    store.migrate(conn)
    beat(conn, store, "kcl:shard-1", 5, {}, table=example_env.table, worker="task-a")  # wedged an hour ago
    beat(conn, store, "kcl:shard-2", 5, {}, table=example_env.table, worker="task-b")  # beating now
    beat(conn, store, "kcl:shard-3", 5, {}, table="another-table", worker="task-a")  # fresh, another table
    conn.execute(
        "UPDATE parity.consumer_heartbeats SET committed_at = now() - interval '1 hour'"
        " WHERE consumer_id = 'kcl:shard-1'"
    )
    conn.commit()
    monkeypatch.setenv("PARITY_WORKER_ID", "task-a")
    assert main(["health", "--config", config]) == 1
    assert "task-a" in capsys.readouterr().out
    assert main(["health", "--config", config, "--worker", "task-b"]) == 0
    assert main(["health", "--config", config, "--any-worker"]) == 0
    monkeypatch.setenv("PARITY_WORKER_ID", "task-c")  # a task that never beat
    assert main(["health", "--config", config]) == 1
    assert "no heartbeat yet" in capsys.readouterr().out


def test_worker_identity_prefers_explicit_then_ecs_then_host() -> None:
    from parity.consumer.heartbeat import worker_identity

    ecs = {"ECS_CONTAINER_METADATA_URI_V4": "http://169.254.170.2/v4/8f03e412-1234567890/"}
    assert worker_identity({"PARITY_WORKER_ID": "w-1", **ecs}, hostname="h") == "w-1"
    assert worker_identity(ecs, hostname="h") == "ecs:8f03e412-1234567890"
    assert worker_identity({"ECS_CONTAINER_METADATA_URI": "http://169.254.170.2/v3/abc"}, hostname="h") == "ecs:abc"
    assert worker_identity({"PARITY_WORKER_ID": "  "}, hostname="box-7") == "host:box-7"


def test_consume_refuses_a_table_without_a_stream(
    example_env: ExampleEnv, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from parity.local.example import config_toml, create_dynamodb_table

    create_dynamodb_table(example_env.dynamodb, "nostream", stream=False)
    path = tmp_path / "nostream.toml"
    path.write_text(config_toml(table="nostream", dsn=example_env.dsn, endpoint_url=example_env.endpoint_url))
    assert main(["consume", "--config", str(path), "--stop-when-idle", "0"]) == 2
    assert "has no DynamoDB stream" in capsys.readouterr().err


def test_consume_refuses_kinesis_mode(
    example_env: ExampleEnv, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config_with(example_env, tmp_path, "")
    config.write_text(config.read_text().replace('source = "dynamodb-streams"', 'source = "kinesis"'))
    assert main(["consume", "--config", str(config)]) == 2
    assert "kcl-processor" in capsys.readouterr().err


def _pending_row(conn: object, key_id: str, due: str) -> None:
    conn.execute(  # type: ignore[attr-defined]
        "INSERT INTO parity.consumer_pending (entity, key_id, key, source, event_id, event_name,"
        " approximate_created, received_at, due_at) VALUES ('session', %s, '{}', 'dynamodb-streams', %s,"
        f" 'MODIFY', now(), now(), now() + interval '{due}')",
        (key_id, f"event-{key_id}"),
    )


def test_health_is_unhealthy_when_pending_rechecks_are_overdue(
    example_env: ExampleEnv, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A consumer that beats but never decides its re-checks (KCL properties without
    callProcessRecordsEvenForEmptyRecordList) is not healthy."""
    from parity.consumer.heartbeat import beat
    from parity.store import Store

    monkeypatch.setenv("PARITY_WORKER_ID", "task-a")
    config = str(example_env.config_path)
    conn, store = example_env.conn, Store("parity")
    assert main(["health", "--config", config]) == 1  # migrates the store
    capsys.readouterr()
    beat(conn, store, "kcl:shard-1", 5, {}, table=example_env.table)
    _pending_row(conn, "soon", "10 seconds")  # not due yet: fine
    _pending_row(conn, "late-by-a-minute", "-60 seconds")  # due, within the 120 s limit: fine
    conn.commit()
    assert main(["health", "--config", config]) == 0
    assert capsys.readouterr().out.startswith("healthy: last heartbeat")
    _pending_row(conn, "stuck-1", "-1 hour")
    _pending_row(conn, "stuck-2", "-2 hours")
    conn.commit()
    assert main(["health", "--config", config]) == 1
    out = capsys.readouterr().out
    assert out.startswith("unhealthy: 2 pending re-check(s) are overdue, the oldest due 72")
    assert "callProcessRecordsEvenForEmptyRecordList = true" in out
    assert main(["health", "--config", config, "--any-worker", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert (report["healthy"], report["overdue_rechecks"]) == (False, 2)


def test_health_file_carries_the_earliest_due_recheck(
    example_env: ExampleEnv, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from datetime import UTC, datetime, timedelta

    from parity.consumer.heartbeat import file_next_due, touch

    beat = tmp_path / "beat"
    config = _config_with(example_env, tmp_path, f'health_file = "{beat}"\nhealth_max_age_seconds = 60\n')
    now = datetime.now(UTC)
    touch(str(beat), next_due=now + timedelta(seconds=20))
    assert file_next_due(str(beat)) == now + timedelta(seconds=20)
    assert main(["health", "--config", str(config)]) == 0
    touch(str(beat), next_due=now - timedelta(minutes=10))  # fresh file, re-checks left undecided
    assert main(["health", "--config", str(config)]) == 1
    assert (
        capsys.readouterr()
        .out.splitlines()[-1]
        .startswith("unhealthy: pending re-checks are overdue, the oldest due 600s ago (limit 60s)")
    )
    touch(str(beat))
    assert main(["health", "--config", str(config)]) == 0
    beat.write_text("")  # an empty file (a plain touch, an older parity): age only
    assert main(["health", "--config", str(config)]) == 0


def test_health_any_worker_says_no_consumer_is_running_when_none_beats(
    example_env: ExampleEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    """A stopped consumer is not 'unhealthy, last heartbeat 654 s ago' to the person asking: say what it is."""
    from parity.consumer.heartbeat import beat
    from parity.store import Store

    config = str(example_env.config_path)
    conn, store = example_env.conn, Store("parity")
    store.migrate(conn)
    beat(conn, store, "stream:shard-1", 5, {}, table=example_env.table, worker="task-a")
    conn.execute("UPDATE parity.consumer_heartbeats SET committed_at = now() - interval '654 seconds'")
    conn.commit()
    assert main(["health", "--config", config, "--any-worker"]) == 1
    out = capsys.readouterr().out
    assert f"unhealthy: no consumer running for table '{example_env.table}'" in out
    assert "the last heartbeat of any worker was 654s ago" in out
