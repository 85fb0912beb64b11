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
from parity.report.data import load
from parity.store import Store
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


#: `parity reconcile` whose task is stopped (SIGTERM) the moment its run exists, before any page
_TERM_ON_CREATE = """
import os, signal, sys
from parity.reconciler import runs_store
created = runs_store.create_run
def create_then_term(*args, **kwargs):
    result = created(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGTERM)
    return result
runs_store.create_run = create_then_term
from parity.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_sigterm_as_the_run_starts_marks_it_interrupted(example_env: ExampleEnv, tmp_path: Path) -> None:
    """No moment of a run is left to SIGTERM's default (the process gone, the run still running)."""
    seeded = seed(example_env)
    env = {**os.environ, "PYTHONPATH": str(Path.cwd())}
    argv = ["reconcile", "--config", str(example_env.config_path), "--segments", "2", "--run-id", "early"]
    done = subprocess.run(
        [sys.executable, "-c", _TERM_ON_CREATE, *argv], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    assert "interrupted" in done.stderr and "--resume early" in done.stderr
    status = example_env.conn.execute("SELECT status FROM parity.reconcile_runs WHERE run_id = 'early'").fetchone()
    example_env.conn.commit()
    assert status == {"status": "interrupted"}
    code, resumed = reconcile(example_env, tmp_path, "--resume", "early")
    assert code == 0 and resumed["complete"] and resumed["compared"] == seeded.sessions + seeded.campaigns


def test_a_worker_process_that_dies_fails_the_run_with_one_line(
    example_env: ExampleEnv, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker killed outright (OOM killer, SIGKILL) sends nothing: the parent notices its exit."""
    seed(example_env)
    monkeypatch.setattr("parity.reconciler.segment.run_threads", lambda job, segments, runtime, source: os._exit(3))
    code = main(["reconcile", "--config", str(example_env.config_path), "--segments", "2", "--processes", "2"])
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("parity: ")]
    assert code == 70  # WorkerFailed is an InternalError (c7734e2): exit 70, as any bug (docs/reference.md §4)
    assert (
        len(errors) == 1
        and errors[0].startswith("parity: internal error")
        and "worker process ended without finishing (exit codes [3, 3])" in errors[0]
    )
    status = example_env.conn.execute("SELECT status FROM parity.reconcile_runs").fetchone()
    example_env.conn.commit()
    assert status == {"status": "failed"}


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _alive(pid: int) -> bool:
    """Running, not a zombie waiting to be reaped by whoever adopted it."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


@pytest.mark.skipif(sys.platform != "linux", reason="worker processes are forked on Linux only")
def test_kill_9_of_the_parent_ends_its_workers_and_the_run_shows_interrupted(
    example_env: ExampleEnv, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """SIGKILL leaves the parent no chance to clean up: the kernel ends its workers (they would
    otherwise scan and wait on), every listing shows the ownerless run interrupted at once, the
    gate never counts it, and the next run marks it interrupted in the store."""
    with example_env.config_path.open("a") as fh:
        fh.write("\n[reconcile]\npage_size = 1\n")
    seeded = seed(example_env)
    env = {**os.environ, "PYTHONPATH": str(Path.cwd())}
    proc = subprocess.Popen(
        [sys.executable, "-m", "parity.cli", "reconcile", "--config", str(example_env.config_path),
         "--segments", "2", "--processes", "2", "--run-id", "orphan", "--recheck-delay", "60"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    conn = connect(example_env.dsn, autocommit=True)
    try:
        deadline = time.monotonic() + 60
        workers: list[int] = []
        scanned = 0
        while time.monotonic() < deadline and proc.poll() is None and (not workers or scanned < 1):
            workers = _children(proc.pid)
            with contextlib.suppress(Exception):  # the store may not exist yet
                row = conn.execute(
                    "SELECT count(*) AS n FROM parity.reconcile_pending WHERE run_id = 'orphan'"
                ).fetchone()
                scanned = 0 if row is None else int(row["n"])
            time.sleep(0.05)
        # a worker whose segments hold re-checks waits out their delay (one whose segment was empty is done)
        workers = [w for w in _children(proc.pid) if _alive(w)]
        assert proc.poll() is None and workers, "a worker should be waiting out the re-check delay"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        deadline = time.monotonic() + 10
        while any(_alive(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(_alive(w) for w in workers), "workers outlived their killed parent"
        status = conn.execute("SELECT status FROM parity.reconcile_runs WHERE run_id = 'orphan'").fetchone()
        assert status == {"status": "running"}  # nobody could write otherwise...
        # ... but nobody holds it: the report lists it interrupted, and the gate has no reconcile to count
        # (once PostgreSQL has seen the connection close: its backend ends a moment after the process)
        deadline = time.monotonic() + 10
        while (listed := [(r.run_id, r.status) for r in load(conn, Store("parity")).runs]) != [
            ("orphan", "interrupted")
        ] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert listed == [("orphan", "interrupted")]
        capsys.readouterr()
        assert main(["gate", "--config", str(example_env.config_path), "--json"]) == 1
        checks = {c["name"]: c for c in json.loads(capsys.readouterr().out)["checks"]}
        assert not checks["reconcile_age"]["ok"] and not checks["reconcile_parity"]["ok"], checks
    finally:
        conn.close()
    reconcile(example_env, tmp_path)  # the next run records it
    row = example_env.conn.execute(
        "SELECT r.status, array_agg(DISTINCT s.status) AS segments FROM parity.reconcile_runs r"
        " JOIN parity.reconcile_segments s USING (run_id) WHERE run_id = 'orphan' GROUP BY r.status"
    ).fetchone()
    example_env.conn.commit()
    assert row is not None and row["status"] == "interrupted" and "running" not in row["segments"]
    example_env.conn.execute("UPDATE parity.reconcile_pending SET due_at = now()")  # no need to wait 60 s here
    example_env.conn.commit()
    code, resumed = reconcile(example_env, tmp_path, "--resume", "orphan")
    assert code == 0 and resumed["compared"] == seeded.sessions + seeded.campaigns and resumed["mismatched"] == 3
