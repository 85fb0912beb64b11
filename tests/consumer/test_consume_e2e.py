"""``parity consume`` end to end on the local stack (moto's DynamoDB stream, real PostgreSQL).

The consumer runs as a subprocess, as in ECS. Each test runs the dual-writing workload of
:mod:`tests.consumer.workload` and asserts that ``parity discrepancies --json --status open`` lists
exactly the injected faults, that the DynamoDB-only writes are archived once, and that the records
counted in committed transactions equal the records in the stream (none unchecked, none twice),
also across a SIGKILL and across PostgreSQL going away and coming back.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from parity.local.embedded import LOCAL_AWS_ENV, start_postgres
from parity.local.example import config_toml, create_postgres_tables, generate, write_postgres
from parity.pg import connect
from tests.conftest import ExampleEnv
from tests.consumer.workload import Workload, build, finish_late

pytestmark = pytest.mark.slow

SETTINGS = "grace_seconds = 1\nbatch_size = {batch}\npoll_interval_seconds = 0.1\nhealth_file = {health}\n"


def _config(env: ExampleEnv, tmp_path: Path, *, dsn: str, batch: int = 10) -> Path:
    text = config_toml(table=env.table, dsn=dsn, endpoint_url=env.endpoint_url)
    health = json.dumps(str(tmp_path / "health"))
    text = text.replace("grace_seconds = 30\n", SETTINGS.format(batch=batch, health=health))
    path = tmp_path / "consume.toml"
    path.write_text(text)
    return path


def _parity(*args: str) -> list[str]:
    return [sys.executable, "-m", "parity.cli", *args]


def _start(config: Path, *extra: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, **LOCAL_AWS_ENV}
    command = _parity("consume", "--config", str(config), *extra)
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _finish(proc: subprocess.Popen[bytes], timeout: float = 60) -> str:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err.decode()[-3000:]
    assert out == b""  # logs go to stderr only
    return err.decode()


def _stream_size(env: ExampleEnv) -> int:
    """Records in the table's stream, by a bare read (independent of the consumer)."""
    return len(_stream_sequence_numbers(env))


def _stream_sequence_numbers(env: ExampleEnv) -> list[str]:
    """Every record's sequence number, in stream order, by a bare read."""
    streams = env.streams()
    arn = env.dynamodb.describe_table(TableName=env.table)["Table"]["LatestStreamArn"]
    numbers: list[str] = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")
        iterator = it["ShardIterator"]
        while iterator:
            page = streams.get_records(ShardIterator=iterator, Limit=1000)
            numbers.extend(r["dynamodb"]["SequenceNumber"] for r in page["Records"])
            if not page["Records"]:
                break
            iterator = page.get("NextShardIterator")
    return numbers


def _checked_bounds(env: ExampleEnv) -> tuple[int, int]:
    """How many records a consumer stopped and restarted may count: the stream's size, plus repeats.

    moto numbers a stream record as ``len(items) + start`` before appending it (StreamShard.add in
    moto/dynamodb/models/table.py), so two writes racing in its threaded server can get the same
    sequence number, the second one stored after the first. A checkpoint at that number resumes
    *after* the first, so a restart reads the second record again (checked twice: its verdict is
    idempotent). DynamoDB's numbers are unique; only a restart landing on a repeat can count one more.
    """
    numbers = _stream_sequence_numbers(env)
    repeats = sum(1 for a, b in pairwise(numbers) if a == b)
    return len(numbers), len(numbers) + repeats


def _open_discrepancies(config: Path) -> set[tuple[str, str, tuple[str, ...]]]:
    done = subprocess.run(
        _parity("discrepancies", "--config", str(config), "--json", "--status", "open"),
        capture_output=True,
        timeout=60,
        check=True,
    )
    found = json.loads(done.stdout)
    assert all(d["detected_by"] == "stream" and d["status"] == "open" for d in found)
    return {(d["key"]["id"], d["kind"], tuple(d["columns"])) for d in found}


def _store_counts(dsn: str) -> dict[str, Any]:
    with connect(dsn) as conn:
        one = conn.execute(
            "SELECT (SELECT coalesce(sum(records), 0) FROM parity.consumer_heartbeats) AS checked,"
            " (SELECT count(*) FROM parity.dynamodb_only_archive) AS archived,"
            " (SELECT count(*) FROM parity.dead_letters) AS dead,"
            " (SELECT count(*) FROM parity.consumer_pending) AS pending,"
            " (SELECT count(*) FROM parity.discrepancies) AS discrepancies"
        ).fetchone()
    assert one is not None
    return dict(one)


def _wait_for_checkpoint(dsn: str, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    with connect(dsn, autocommit=True) as conn:
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            try:
                row = conn.execute(
                    "SELECT count(*) AS n FROM parity.stream_checkpoints WHERE sequence_number IS NOT NULL"
                ).fetchone()
            except Exception:
                row = None
            if row and row["n"]:
                return
            time.sleep(0.01)
    raise AssertionError("the consumer committed no checkpoint")


def _assert_outcome(env: ExampleEnv, config: Path, dsn: str, w: Workload) -> None:
    assert _open_discrepancies(config) == w.expected
    counts = _store_counts(dsn)
    least, most = _checked_bounds(env)  # equal unless moto numbered two racing writes alike
    assert least <= counts["checked"] <= most, (counts["checked"], least, most)
    assert counts | {"checked": least} == {
        "checked": least,  # every record counted once, in the transaction of its verdicts
        "archived": w.archived_events,
        "dead": 0,
        "pending": 0,
        "discrepancies": len(w.expected),
    }


def test_workload_reports_exactly_the_injected_faults(example_env: ExampleEnv, tmp_path: Path) -> None:
    env = example_env
    w = build(env.dynamodb, env.table, env.conn, env.dsn)
    config = _config(env, tmp_path, dsn=env.dsn)
    proc = _start(config, "--stop-when-idle", "1.5")
    time.sleep(0.3)
    finish_late(w, env.conn)  # the late PostgreSQL halves land within grace
    log = _finish(proc)
    assert '"event": "consumer stopped"' in log
    _assert_outcome(env, config, env.dsn, w)
    health = subprocess.run(_parity("health", "--config", str(config)), capture_output=True, timeout=30)
    assert health.returncode == 0, health.stdout


def test_sigkill_mid_stream_then_restart(example_env: ExampleEnv, tmp_path: Path) -> None:
    env = example_env
    w = build(env.dynamodb, env.table, env.conn, env.dsn, clean=200)
    config = _config(env, tmp_path, dsn=env.dsn, batch=5)
    proc = _start(config, "--stop-when-idle", "30")
    _wait_for_checkpoint(env.dsn, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    checked_before = _store_counts(env.dsn)["checked"]
    assert 0 < checked_before < _stream_size(env)  # it really died mid-stream
    finish_late(w, env.conn)
    _finish(_start(config, "--stop-when-idle", "1.5"))
    _assert_outcome(env, config, env.dsn, w)


def test_postgres_stops_mid_stream_and_comes_back(example_env: ExampleEnv, tmp_path: Path) -> None:
    env = example_env
    pg = start_postgres()  # a short temp path: its Unix socket lives there
    try:
        with connect(pg.dsn) as conn:
            create_postgres_tables(conn)
            conn.commit()
            w = build(env.dynamodb, env.table, conn, pg.dsn, clean=200)
            finish_late(w, conn)
        config = _config(env, tmp_path, dsn=pg.dsn, batch=5)
        proc = _start(config, "--stop-when-idle", "1.5")
        _wait_for_checkpoint(pg.dsn, proc)
        pg.pg_ctl("stop")
        time.sleep(1.0)
        assert proc.poll() is None  # it waits for PostgreSQL instead of dying
        pg.pg_ctl("start")
        log = _finish(proc, timeout=120)
        assert "recovered" in log
        _assert_outcome(env, config, pg.dsn, w)
    finally:
        pg.stop()
        shutil.rmtree(pg.data_dir.parent, ignore_errors=True)


def test_sigterm_finishes_the_batch_and_exits_zero(example_env: ExampleEnv, tmp_path: Path) -> None:
    env = example_env
    w = build(env.dynamodb, env.table, env.conn, env.dsn, clean=200)
    finish_late(w, env.conn)
    config = _config(env, tmp_path, dsn=env.dsn, batch=5)
    proc = _start(config)  # runs until stopped
    _wait_for_checkpoint(env.dsn, proc)
    proc.send_signal(signal.SIGTERM)
    log = _finish(proc, timeout=30)
    assert "stop requested" in log
    _finish(_start(config, "--stop-when-idle", "1.5"))
    _assert_outcome(env, config, env.dsn, w)


def test_poison_records_in_the_middle_of_good_ones(example_env: ExampleEnv, tmp_path: Path) -> None:
    """U+0000, uuid keys "" and "not-a-uuid", JSON nested 3,000 deep: dead letters or discrepancies,
    and ``parity consume`` checks every good record, checkpoints the whole stream and exits 0."""
    env = example_env
    sessions = [s for c in generate(1, 8) for s in c.sessions]
    write_postgres(env.conn, sessions)
    env.conn.commit()
    poison = {
        2: {"name": {"S": "nul\x00inside"}},
        3: {"sessionId": {"S": ""}},
        4: {"sessionId": {"S": "not-a-uuid"}},
        5: {"metadata": {"S": "[" * 3000 + "]" * 3000}},
    }
    for i, s in enumerate(sessions):
        env.dynamodb.put_item(TableName=env.table, Item={**s.item(), **poison.get(i, {})})
    config = _config(env, tmp_path, dsn=env.dsn)
    _finish(_start(config, "--stop-when-idle", "1.5"))
    assert _open_discrepancies(config) == {
        (sessions[2].id, "mismatched", ("name",)),
        (sessions[5].id, "mismatched", ("metadata",)),
    }
    counts = _store_counts(env.dsn)
    assert counts["checked"] == _stream_size(env) == len(sessions)  # every record in a committed transaction
    assert counts["dead"] == 2 and counts["pending"] == 0
    listed = subprocess.run(
        _parity("dead-letters", "--config", str(config), "--json"), capture_output=True, timeout=60, check=True
    )
    letters = json.loads(listed.stdout)
    reasons = sorted(d["reason"] for d in letters)
    assert reasons[0].endswith("'' is not a uuid") and reasons[1].endswith("'not-a-uuid' is not a uuid"), reasons
    with connect(env.dsn) as conn:
        row = conn.execute("SELECT count(*) AS n FROM parity.stream_checkpoints WHERE sequence_number IS NOT NULL")
        assert (row.fetchone() or {"n": 0})["n"] >= 1
