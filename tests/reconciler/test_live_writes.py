"""Re-checks under live writes: a transient mismatch clears, a key whose version moved is in flight.

The run waits ``--recheck-delay`` seconds before re-reading first mismatches; the test plays the
application and writes during that wait, once it sees the pending re-check in the store.
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

from parity.local.example import generate, write_dynamodb, write_postgres
from parity.pg import connect
from tests.conftest import ExampleEnv
from tests.reconciler.helpers import parse
from tests.threads import Worker


def _pending(dsn: str) -> int:
    conn = connect(dsn)
    try:
        row = conn.execute("SELECT count(*) AS n FROM parity.reconcile_pending").fetchone()
        return 0 if row is None else int(row["n"])
    except Exception:  # the store may not be migrated yet
        return 0
    finally:
        conn.close()


def test_transient_mismatch_clears_and_moved_version_is_in_flight(example_env: ExampleEnv, tmp_path: Path) -> None:
    from parity.reconciler import command

    data = generate(1, 6, seed=5)
    sessions = data[0].sessions
    write_postgres(example_env.conn, [data[0], *sessions])
    lagging, moving, broken = sessions[0], sessions[1], sessions[2]
    ddb = [data[0], *sessions]
    ddb[1] = lagging.touched(summary="new summary", updated_at=lagging.updated_at + timedelta(seconds=1))
    ddb[2] = moving.touched(summary="first write", updated_at=moving.updated_at + timedelta(seconds=1))
    ddb[3] = broken.touched(summary="never fixed", updated_at=broken.updated_at)
    write_dynamodb(example_env.dynamodb, example_env.table, ddb)

    report_path = tmp_path / "report.json"
    args = parse(["--recheck-delay", "2", "--report", str(report_path), "--segments", "1"], example_env.config_path)
    worker = Worker(lambda: command.run(args), name="reconcile")
    worker.start()
    deadline = time.monotonic() + 30
    while _pending(example_env.dsn) < 3 and time.monotonic() < deadline and worker.is_alive():
        time.sleep(0.05)
    if not worker.is_alive():
        worker.result(0)  # it ended early: its error (or its code) is the story
    assert _pending(example_env.dsn) == 3, "the run should be waiting to re-check three keys"
    # the application's PostgreSQL write of `lagging` lands; `moving` gets a newer DynamoDB write
    write_postgres(example_env.conn, [ddb[1]])
    write_dynamodb(
        example_env.dynamodb,
        example_env.table,
        [moving.touched(summary="second write", updated_at=moving.updated_at + timedelta(seconds=2))],
    )
    assert worker.result(60) == 0
    import json

    report = json.loads(report_path.read_text())
    assert report["rechecked"] == 3
    assert report["cleared"] == 1
    assert report["in_flight"] == 1
    assert report["mismatched"] == 1
    assert report["compared"] == 7 - 1  # the in-flight key is not counted
    assert report["matched"] == 5
    assert [(d["key"]["id"], d["columns"]) for d in report["discrepancies"]] == [(broken.id, ["summary"])]


def test_row_written_after_the_run_started_is_in_flight(example_env: ExampleEnv, tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from tests.reconciler.helpers import reconcile

    data = generate(1, 3, seed=9)
    write_postgres(example_env.conn, [data[0], *data[0].sessions])
    write_dynamodb(example_env.dynamodb, example_env.table, [data[0], *data[0].sessions[:1]])
    future = data[0].sessions[1].touched(updated_at=datetime.now(UTC) + timedelta(hours=1))
    write_postgres(example_env.conn, [future])
    code, report = reconcile(example_env, tmp_path)
    assert code == 0
    assert report["in_flight"] == 1
    assert report["missing_in_dynamodb"] == 1
    assert [d["key"]["id"] for d in report["discrepancies"]] == [data[0].sessions[2].id]
