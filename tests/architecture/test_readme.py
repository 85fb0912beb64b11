"""The README's promises that a newcomer acts on: the two commands, what the demo writes, the exit codes."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_try_it_installs_only_the_local_extra_and_the_test_command_is_unchanged() -> None:
    assert "python3 -m venv .venv && .venv/bin/pip install -e '.[local]' && .venv/bin/parity demo" in README
    assert "python3 -m venv .venv && .venv/bin/pip install -e '.[dev]' && .venv/bin/python -m pytest" in README
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert "local" in extras and not any("mypy" in d or "ruff" in d or "kclpy" in d for d in extras["local"])
    # the demo asks `parity serve` too: what it needs comes with the local extra
    assert "parity[serve]" in extras["local"]


def test_times_are_dated_and_the_demo_outputs_named() -> None:
    assert re.search(r"Measured on 20\d\d-\d\d-\d\d .* from a fresh clone", README, re.S)
    assert "reconcile.json" in README and "parity-report.html" in README


def test_exit_code_table_names_health_and_70() -> None:
    table = README.split("## Exit codes", 1)[1].split("##", 1)[0]
    assert "`parity health`" in table and re.search(r"^\| 70 \| an unexpected internal error", table, re.M)
