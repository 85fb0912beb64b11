"""deploy/kcl/logback.xml with the real logback (the dev wheel's KCL jars): the record processor's
stderr lines, which the MultiLangDaemon re-logs as ERROR, come out exactly as the processor wrote
them (JSON stays JSON, no ERROR level); the daemon's own lines keep their form."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _jars() -> Path:
    amazon_kclpy = pytest.importorskip("amazon_kclpy", reason="the kcl-dev extra carries the jars")
    return Path(amazon_kclpy.__file__).parent / "jars"


@pytest.mark.skipif(shutil.which("java") is None, reason="needs a Java runtime (the KCL daemon tests do too)")
def test_processor_lines_pass_through_unchanged() -> None:
    processor_line = json.dumps({"event": "batch checked", "level": "info", "shard": "x] for shard y"})
    plain = "a plain line with [brackets]"
    result = subprocess.run(
        [
            "java",
            f"-Dlogback.configurationFile={ROOT / 'deploy' / 'kcl' / 'logback.xml'}",
            "-cp",
            f"{_jars()}/*",
            str(ROOT / "tests" / "deploy" / "java" / "LogLines.java"),
            processor_line,
            plain,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    lines = result.stdout.splitlines()
    assert lines[0] == processor_line
    assert json.loads(lines[0])["event"] == "batch checked"
    assert lines[1] == plain
    assert "ERROR" not in result.stdout.split("daemon's own line")[0]
    assert " INFO  [main] " in lines[2] and lines[2].endswith("coordinator.Scheduler - daemon's own line")
    assert "WARN" not in result.stdout + result.stderr  # logback found and accepted the file
