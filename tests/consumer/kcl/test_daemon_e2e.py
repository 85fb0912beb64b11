"""End to end: the real KCL MultiLangDaemon (java) runs ``parity kcl-processor`` on a 2-shard stream.

moto is served over HTTP/2 (KCL's Kinesis client speaks h2c; see docs/kcl.md). moto has no
Kinesis streaming destination for DynamoDB, so the test writes records in the Kinesis Data Streams
for DynamoDB JSON shape to the stream itself, as DynamoDB would. The properties come from
``parity kcl-properties --local``. Asserted: every record's verdict in the PostgreSQL store (the
injected mismatches are the only discrepancies; every key's high-water mark is its record's creation
time), and the daemon's checkpoints in its lease table at each shard's last sequence number. Poison
records sit in the middle of the good ones (creation time NaN and 1e400, a payload nested 100,000
deep, a uuid key "not-a-uuid", a name holding U+0000): each is a dead letter or a discrepancy, is
reported on its own log line with its sequence number, and the checkpoint still passes it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import amazon_kclpy
import boto3
import pytest

from parity.local.embedded import MotoServer, start_moto
from parity.local.example import config_toml, create_postgres_tables, generate, write_postgres
from parity.pg import connect
from parity.store import Store
from tests.consumer.kcl.conftest import PARITY, kinesis_config
from tests.consumer.kcl.kinesis import kds_payload, micros, now

pytestmark = pytest.mark.slow

JARS = Path(amazon_kclpy.__file__).parent / "jars"
AWS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1"}


@pytest.fixture(scope="module")
def moto_h2(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    server = start_moto(http2=True, log_dir=tmp_path_factory.mktemp("moto-h2"))
    try:
        yield server
    finally:
        server.stop()


def wait_for(what: str, check: Any, timeout: float, log: Path) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(1)
    tail = log.read_text(errors="replace")[-4000:] if log.exists() else ""
    raise AssertionError(f"{what} not within {timeout}s; daemon log tail:\n{tail}")


def test_multilang_daemon_checks_every_record(moto_h2: MotoServer, pg_dsn: str, tmp_path: Path) -> None:
    if shutil.which("java") is None:
        pytest.skip("java is not installed: the KCL MultiLangDaemon needs a Java runtime")
    endpoint = moto_h2.endpoint_url
    stream = "parity-e2e"
    kinesis = boto3.client("kinesis", endpoint_url=endpoint, region_name="us-east-1", **_keys())
    kinesis.create_stream(StreamName=stream, ShardCount=2)
    kinesis.get_waiter("stream_exists").wait(StreamName=stream)

    conn = connect(pg_dsn)
    create_postgres_tables(conn)
    sessions = [s for c in generate(3, 4) for s in c.sessions]
    wrong, nul = sessions[5], sessions[7]
    write_postgres(conn, [replace(s, name="drifted") if s is wrong else s for s in sessions])
    config_path = tmp_path / "parity.toml"
    config_path.write_text(kinesis_config(config_toml(table="app", dsn=pg_dsn, endpoint_url=endpoint), stream))

    start = now() - timedelta(minutes=1)
    created = {s.id: start + timedelta(microseconds=i) for i, s in enumerate(sessions)}
    last_sequence: dict[str, str] = {}
    poison_sequences: list[str] = []

    def put(data: bytes, partition: str) -> str:
        response = kinesis.put_record(StreamName=stream, Data=data, PartitionKey=partition)
        last_sequence[response["ShardId"]] = response["SequenceNumber"]
        return str(response["SequenceNumber"])

    poison = _poison(sessions[0], start)
    for i, session in enumerate([*sessions, sessions[0], sessions[1]]):  # two redeliveries
        payload = kds_payload("INSERT", session, created=created[session.id])
        if session is nul:
            payload["dynamodb"]["NewImage"]["name"] = {"S": "nul\x00inside"}
        put(json.dumps(payload).encode(), session.key()["sk"]["S"])
        if i % 3 == 1 and poison:  # poison in the middle of good records
            poison_sequences.append(put(poison.pop(), f"poison-{i}"))
    assert len(last_sequence) == 2, "both shards should get records"
    assert not poison and len(poison_sequences) == 4

    env = {**os.environ, **AWS_ENV, "AWS_DEFAULT_REGION": "us-east-1", "PARITY_LOG_LEVEL": "info"}
    properties = tmp_path / "app.properties"
    rendered = subprocess.run(
        [PARITY, "kcl-properties", "--config", str(config_path), "--local", "--output", str(properties)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert rendered.returncode == 0, rendered.stderr
    app = next(
        line.split("=", 1)[1].strip()
        for line in properties.read_text().splitlines()
        if line.startswith("applicationName")
    )

    log = tmp_path / "daemon.log"
    command = [
        "java",
        "-Daws.cborEnabled=false",
        "-cp",
        f"{JARS}/*:{tmp_path}",
        "software.amazon.kinesis.multilang.MultiLangDaemon",
        "--properties-file",
        str(properties),
    ]
    with log.open("wb") as out:
        daemon = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=tmp_path, start_new_session=True
        )
    dynamodb = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1", **_keys())
    store = Store("parity")
    try:

        def marks() -> dict[str, Any]:
            try:
                with conn.transaction():
                    rows = conn.execute("SELECT item_key, approximate_created FROM parity.kcl_high_water").fetchall()
            except Exception:  # the processor has not migrated the store yet
                conn.rollback()
                return {}
            return {r["item_key"]: r["approximate_created"] for r in rows}

        def checkpoints() -> dict[str, str]:
            try:
                items = dynamodb.scan(TableName=app)["Items"]
            except dynamodb.exceptions.ResourceNotFoundException:
                return {}
            return {i["leaseKey"]["S"]: i.get("checkpoint", {}).get("S", "") for i in items}

        seen = wait_for("every record's verdict", lambda: len(marks()) == len(sessions) and marks(), 150, log)
        assert sorted(micros(t) for t in seen.values()) == sorted(micros(t) for t in created.values())
        with conn.transaction():
            found = [(d["key"], d["kind"]) for d in store.list_discrepancies(conn, "all")]
        assert sorted(found, key=str) == sorted(  # redeliveries not doubled
            [({"id": wrong.id}, "mismatched"), ({"id": nul.id}, "mismatched")], key=str
        )
        taken = wait_for("checkpoints", lambda: checkpoints() == last_sequence and checkpoints(), 60, log)
        assert taken == last_sequence  # past every poison record, each one dead-lettered first
        with conn.transaction():
            letters = store.list_dead_letters(conn)
        assert len(letters) == 4 and {d["source"] for d in letters} == {"kinesis"}
        assert {d["record_id"] for d in letters} >= set(poison_sequences[:3])  # undecodable: by sequence number
    finally:
        if daemon.poll() is None:
            daemon.send_signal(signal.SIGTERM)  # the daemon's graceful shutdown: shutdownRequested
        try:
            daemon.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(daemon.pid, signal.SIGKILL)
            daemon.wait(10)
            raise AssertionError("the daemon did not stop within 60 s of SIGTERM") from None
        finally:
            conn.close()
    stopped = log.read_text(errors="replace")
    assert "shutdown requested; deciding due re-checks, then checkpointing" in stopped, stopped[-4000:]
    decoder = json.JSONDecoder()
    reported = [
        decoder.raw_decode(line[line.index("{") :])[0] for line in stopped.splitlines() if '"record failed"' in line
    ]
    # each poison record reported with its sequence number (the daemon may echo a processor's line twice)
    assert {r["sequence_number"] for r in reported} == set(poison_sequences), reported
    assert all(r["reason"] for r in reported)
    leftovers = subprocess.run(["pgrep", "-s", str(daemon.pid)], capture_output=True, text=True).stdout.split()
    assert leftovers == [], f"processes left behind: {leftovers}"


def _poison(template: Any, start: Any) -> list[bytes]:
    """Kinesis payloads no checker can check (popped from the end: a uuid key last)."""
    good = json.dumps(kds_payload("INSERT", template, created=start))
    created = f'"ApproximateCreationDateTime": {micros(start)}'
    assert created in good
    bad_uuid = kds_payload("INSERT", template, created=start)
    bad_uuid["dynamodb"]["NewImage"]["sessionId"] = {"S": "not-a-uuid"}
    return [
        json.dumps(bad_uuid).encode(),
        b"[" * 100_000 + b"]" * 100_000,
        good.replace(created, '"ApproximateCreationDateTime": 1e400').encode(),
        good.replace(created, '"ApproximateCreationDateTime": NaN').encode(),
    ]


def _keys() -> dict[str, str]:
    return {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
