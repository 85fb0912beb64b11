"""Exit codes a script can rely on (docs/reference.md §4): a bug exits 70 with one line, whatever the path it
took (worker processes or not); a missing extra is one line and exit 2; a reader that closes the
pipe early ends the command quietly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from parity.cli import main
from parity.compare import Discrepancy
from parity.pg import connect
from parity.store import Store
from tests.conftest import ExampleEnv

ERROR_LINE = "parity: internal error (a bug; the traceback is in the log): "


def _bug(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("injected bug")


def _assert_bug_reported(err: str, message: str) -> None:
    lines = err.splitlines()
    assert lines[-1] == ERROR_LINE + message, err
    assert not any(line.startswith(("Traceback", "  File ")) for line in lines), err
    logged = [json.loads(line) for line in lines[:-1] if line.startswith("{")]
    (event,) = [e for e in logged if e.get("event") == "internal error"]
    assert event["level"] == "error" and any("RuntimeError: injected bug" in t for t in event["traceback"])


def test_a_bug_exits_70_with_one_line_and_the_traceback_in_the_log(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import parity.commands.discrepancies as command

    monkeypatch.setattr(command, "run", _bug)
    assert main(["discrepancies"]) == 70
    out, err = capsys.readouterr()
    assert out == ""
    _assert_bug_reported(err, "RuntimeError: injected bug")


@pytest.mark.parametrize(("processes", "message"), [("1", ""), ("2", "a reconcile worker failed: ")])
def test_a_bug_in_reconcile_exits_70_with_or_without_worker_processes(
    processes: str,
    message: str,
    example_env: ExampleEnv,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The same bug in the page comparison: 70 in threads and in forked workers alike (it was a
    traceback and exit 1 in one, a 'parity: error' and exit 2 in the other)."""
    from parity.local.example import generate, write_dynamodb, write_postgres

    campaign = generate(1, 2, seed=5)[0]
    write_dynamodb(example_env.dynamodb, example_env.table, [campaign, *campaign.sessions])
    write_postgres(example_env.conn, [campaign, *campaign.sessions])
    example_env.conn.commit()
    import parity.reconciler.segment as segment

    monkeypatch.setattr(segment, "group_page", _bug)
    config = ["--config", str(example_env.config_path)]
    assert main(["reconcile", *config, "--segments", "2", "--processes", processes]) == 70
    _assert_bug_reported(capsys.readouterr().err, f"{message}RuntimeError: injected bug")


def test_kcl_processor_without_the_kcl_extra_is_one_line_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in [m for m in sys.modules if m.startswith(("amazon_kclpy", "parity.consumer.kcl_"))]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "amazon_kclpy", None)  # import amazon_kclpy: ModuleNotFoundError
    assert main(["kcl-processor", "--config", "parity.toml", "--some-option", "x"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        "parity: error: 'kcl-processor' is not available in this build:"
        " it needs the 'kcl' extra (pip install 'parity[kcl]')\n"
    )


def test_a_pipe_closed_early_ends_quietly(pg_dsn: str, tmp_path: Path) -> None:
    """`parity discrepancies | head -1` with more rows than a pipe holds: no traceback, no
    'Exception ignored' message, exit 0."""
    conn = connect(pg_dsn)
    store = Store("parity")
    store.migrate(conn)
    found = [
        Discrepancy(entity="session", key={"id": str(uuid.uuid4())}, kind="missing_in_postgres") for _ in range(3000)
    ]
    store.record_discrepancies(conn, found, "stream", datetime.now(UTC))
    conn.commit()
    conn.close()
    config = tmp_path / "parity.toml"
    config.write_text(resources.files("parity.local").joinpath("example.toml").read_text())
    for flags in ([], ["--json"]):
        proc = subprocess.Popen(
            [sys.executable, "-m", "parity.cli", "discrepancies", "--config", str(config), *flags],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "PARITY_POSTGRES_DSN": pg_dsn},
        )
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.readline()  # what `head -1` reads, then it closes the pipe
        proc.stdout.close()
        err = proc.stderr.read().decode()
        assert proc.wait(timeout=60) == 0, err
        assert err == "", err


def test_reconcile_refuses_a_report_path_it_cannot_write_before_scanning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nonexistent" / "dir" / "r.json"
    assert main(["reconcile", "--config", str(tmp_path / "absent.toml"), "--report", str(missing)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"parity: error: --report {missing}: directory {missing.parent} does not exist\n"
    assert main(["reconcile", "--report", str(tmp_path)]) == 2
    assert capsys.readouterr().err == f"parity: error: --report {tmp_path}: is a directory; name a file\n"


def test_a_bug_while_a_worker_process_starts_is_reported_by_the_parent(
    example_env: ExampleEnv, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """Before a worker runs its segments (its DynamoDB source): no traceback from the child, exit 70."""
    import parity.reconciler.processes as processes

    monkeypatch.setattr(processes, "TableSource", _bug)
    config = ["--config", str(example_env.config_path)]
    assert main(["reconcile", *config, "--segments", "2", "--processes", "2"]) == 70
    _assert_bug_reported(capfd.readouterr().err, "a reconcile worker failed: RuntimeError: injected bug")


def test_a_bug_while_loading_a_command_is_70_too(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import parity.cli

    monkeypatch.setattr(parity.cli, "_load", _bug)
    assert main(["discrepancies"]) == 70
    out, err = capsys.readouterr()
    assert out == ""
    _assert_bug_reported(err, "RuntimeError: injected bug")


def test_an_optional_module_missing_at_run_time_names_its_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import parity.commands.discrepancies as command

    def needs_kcl(args: Any) -> int:
        raise ModuleNotFoundError("No module named 'amazon_kclpy'", name="amazon_kclpy")

    monkeypatch.setattr(command, "run", needs_kcl)
    assert main(["discrepancies"]) == 2
    assert capsys.readouterr().err == (
        "parity: error: this needs the 'kcl' extra (pip install 'parity[kcl]'): No module named 'amazon_kclpy'\n"
    )
