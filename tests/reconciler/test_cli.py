"""Bad input exits 2 with one line; SIGTERM stops a run that ``--resume`` completes."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from parity.cli import main
from parity.pg import connect
from tests.conftest import ExampleEnv
from tests.reconciler.helpers import reconcile, seed, stable


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--segments", "0"], "--segments must be at least 1, got 0"),
        (["--segment", "1"], "--segment needs --total-segments"),
        (["--total-segments", "4"], "--total-segments needs --segment"),
        (["--segment", "4", "--total-segments", "4"], "--segment 4 is outside 0..3"),
        (["--fail-under", "101"], "--fail-under must be a percentage"),
        (["--max-rcu", "0"], "--max-rcu must be positive"),
        (["--processes", "0"], "--processes must be at least 1, got 0"),
        (["--resume", "no-such-run"], "no reconcile run 'no-such-run'"),
        (["--report", "/nonexistent/dir/r.json"], "--report /nonexistent/dir/r.json: directory /nonexistent/dir"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    example_env: ExampleEnv, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code = main(["reconcile", "--config", str(example_env.config_path), *argv])
    captured = capsys.readouterr()
    assert code == 2
    errors = [line for line in captured.err.splitlines() if line.startswith("parity: error:")]
    assert len(errors) == 1 and message in errors[0], captured.err
    assert captured.out == ""


def test_terminal_summary(example_env: ExampleEnv, capsys: pytest.CaptureFixture[str]) -> None:
    seeded = seed(example_env)
    code = main(["reconcile", "--config", str(example_env.config_path), "--recheck-delay", "0"])
    out = capsys.readouterr().out
    assert code == 0
    assert "Parity " in out and "missing in PostgreSQL 1" in out and "mismatched 3" in out
    assert seeded.wrong_type in out and "[session_number]" in out


@pytest.mark.slow
def test_sigterm_interrupts_and_resume_completes(example_env: ExampleEnv, tmp_path: Path) -> None:
    with example_env.config_path.open("a") as fh:
        fh.write("\n[reconcile]\npage_size = 1\n")
    seed(example_env)
    _, whole = reconcile(example_env, tmp_path, "--segments", "2")
    env = {**os.environ, "PYTHONPATH": str(Path.cwd())}
    proc = subprocess.Popen(
        [sys.executable, "-m", "parity.cli", "reconcile", "--config", str(example_env.config_path),
         "--segments", "2", "--run-id", "ecs-task", "--recheck-delay", "0", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    conn = connect(example_env.dsn, autocommit=True)
    try:
        deadline = time.monotonic() + 30
        pages = 0
        while pages < 3 and time.monotonic() < deadline and proc.poll() is None:
            row = None
            with contextlib.suppress(Exception):  # the store may not exist yet
                row = conn.execute(
                    "SELECT coalesce(sum(pages), 0) AS n FROM parity.reconcile_segments WHERE run_id = 'ecs-task'"
                ).fetchone()
            pages = 0 if row is None else int(row["n"])
            time.sleep(0.02)
        assert proc.poll() is None, "the run ended before it could be interrupted"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        status = conn.execute("SELECT status FROM parity.reconcile_runs WHERE run_id = 'ecs-task'").fetchone()
    finally:
        conn.close()
    assert proc.returncode == 2
    assert out == ""
    assert "interrupted" in err and "--resume ecs-task" in err
    assert status is not None and status["status"] == "interrupted"
    code, resumed = reconcile(example_env, tmp_path, "--resume", "ecs-task")
    assert code == 0
    assert stable(resumed) == stable(whole)
    assert json.dumps(stable(resumed), sort_keys=True) == json.dumps(stable(whole), sort_keys=True)


def test_a_worker_process_that_dies_fails_the_run_with_one_line(
    example_env: ExampleEnv, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker killed outright (OOM killer, SIGKILL) sends nothing: the parent notices its exit."""
    seed(example_env)
    monkeypatch.setattr("parity.reconciler.segment.run_threads", lambda job, segments, runtime, source: os._exit(3))
    code = main(["reconcile", "--config", str(example_env.config_path), "--segments", "2", "--processes", "2"])
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("parity: ")]
    assert code == 70  # WorkerFailed is an InternalError (c7734e2): exit 70, as any bug (contract §9)
    assert (
        len(errors) == 1
        and errors[0].startswith("parity: internal error")
        and "worker process ended without finishing (exit codes [3, 3])" in errors[0]
    )
    status = example_env.conn.execute("SELECT status FROM parity.reconcile_runs").fetchone()
    example_env.conn.commit()
    assert status == {"status": "failed"}
