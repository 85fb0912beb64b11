"""deploy/entrypoint.sh, run for real with sh: it writes the config that ECS passes in
PARITY_CONFIG_TOML (from SSM) to ./parity.toml, readable by its owner only, and execs the command;
then the ECS health check command (`parity health`) finds that config without --config."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from parity.local import example

ENTRYPOINT = Path(__file__).resolve().parents[2] / "deploy" / "entrypoint.sh"


def _env(tmp_path: Path, toml: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PARITY_", "OTEL_"))}
    env.update(PARITY_CONFIG=str(tmp_path / "parity.toml"), PARITY_CONFIG_TOML=toml)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def test_writes_the_config_privately_and_execs_the_command(tmp_path: Path) -> None:
    toml = example.config_toml(table="app")
    done = subprocess.run(
        ["sh", str(ENTRYPOINT), "sh", "-c", 'echo "left in env: [${PARITY_CONFIG_TOML:-}]"'],
        env=_env(tmp_path, toml),
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout == "left in env: []\n"  # the TOML does not linger in the child's environment
    written = tmp_path / "parity.toml"
    assert written.read_text() == toml + "\n"
    assert stat.S_IMODE(written.stat().st_mode) == 0o600


def test_the_health_check_command_reads_that_config(tmp_path: Path) -> None:
    beat = tmp_path / "heartbeat"
    toml = example.config_toml(table="app").replace(
        "[consumer]\n", f'[consumer]\nhealth_file = "{beat}"\nhealth_max_age_seconds = 60\n', 1
    )
    env = _env(tmp_path, toml)
    run = ["sh", str(ENTRYPOINT), "parity", "health"]
    stale = subprocess.run(run, env=env, cwd=tmp_path, capture_output=True, text=True)
    assert stale.returncode == 1, stale.stderr
    assert "unhealthy: no heartbeat yet" in stale.stdout
    beat.touch()
    fresh = subprocess.run(run, env=env, cwd=tmp_path, capture_output=True, text=True)
    assert fresh.returncode == 0, fresh.stderr
    assert fresh.stdout.startswith("healthy: last heartbeat")
