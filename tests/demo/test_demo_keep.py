"""`parity demo --keep`: the commands it prints work as printed, and Ctrl-C stops the stack and removes its folder."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.demo.leftovers import processes_using


@pytest.mark.slow
def test_kept_stack_answers_the_printed_commands_and_ctrl_c_cleans_up(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PARITY_", "PG"))}
    argv = [sys.executable, "-m", "parity.cli", "demo", "--keep", "--campaigns", "20", "--updates", "40"]
    demo = subprocess.Popen(
        [*argv, "--workdir", str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    assert demo.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 180
    try:
        while time.monotonic() < deadline:
            line = demo.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("Stop it with Ctrl-C"):
                break
        out = "".join(lines)
        assert "Stop it with Ctrl-C (the stack stops and its folder is removed)." in out, out[-3000:]
        # nothing to export: the printed config names both servers (boto3 gets moto's dummy credentials)
        assert "export " not in out and "with nothing to set first:" in out
        # the suggested commands, run as printed (global --config before the command), against the kept
        # stack, in an environment without a single AWS_, PARITY_ or PG variable
        suggested = [ln.split("#")[0].strip() for ln in lines if ln.startswith(f"  parity --config {tmp_path}")]
        assert any(" discrepancies --status all" in s for s in suggested) and any(
            "--list-campaigns" in s for s in suggested
        )
        for command in suggested:
            if " reconcile" in command or "--help" in command or " report" in command:
                continue  # the cheap ones are enough to prove the printed form works
            words = shlex.split(command)
            done = subprocess.run(
                [sys.executable, "-m", "parity.cli", *words[1:]],
                capture_output=True,
                text=True,
                env=env,
                timeout=60,
            )
            assert done.returncode == 0, (command, done.stderr)
            assert done.stdout.strip(), command
        # and the psql line: PostgreSQL itself, for the row to change before a reconcile
        [psql] = [ln.split("#")[0].strip() for ln in lines if ln.strip().split(" ")[0].endswith("/psql")]
        done = subprocess.run(
            shlex.split(psql), input="SELECT count(*) AS n FROM public.sessions;\n", capture_output=True,
            text=True, env=env, timeout=60,
        )  # fmt: skip
        assert done.returncode == 0 and re.search(r"^\s*\d+\s*$", done.stdout, re.M), (psql, done.stdout, done.stderr)
        folder = re.search(r"PostgreSQL \(embedded\) (\S+)/pgdata", out)
        assert folder is not None
        root = Path(folder.group(1))
        assert root.exists()
        demo.send_signal(signal.SIGINT)
        rest, _ = demo.communicate(timeout=60)
    finally:
        if demo.poll() is None:
            demo.kill()
    assert demo.returncode == 0, rest
    assert f"the local stack is stopped and its folder removed ({root}, " in rest
    assert not root.exists()
    assert processes_using(root, tmp_path) == {}
