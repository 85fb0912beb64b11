"""A test run leaves no moto folder in the temp directory when it passes (it keeps it, and says where,
when a test failed)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_a_passing_run_removes_its_moto_folder(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    # a short path of its own (an embedded PostgreSQL's socket path must stay short), removed at the end
    temp = Path(tempfile.mkdtemp(prefix="pt-"))
    request.addfinalizer(lambda: shutil.rmtree(temp, ignore_errors=True))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--basetemp={tmp_path / 'base'}",
            "tests/parity/test_cli.py::test_check_config_table_without_stream",
        ],
        cwd=ROOT,
        env={**os.environ, "TMPDIR": str(temp)},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "1 passed" in done.stdout
    assert not list(temp.glob("parity-test-moto-*")), sorted(p.name for p in temp.iterdir())
    assert "moto's server log kept" not in done.stdout
