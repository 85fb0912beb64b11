"""deploy/kcl-daemon.sh, run for real with sh, with two stand-ins on PATH: `parity` (prints the
properties, as `parity kcl-properties` does) and `java` (prints its command line and the properties
it was given, instead of starting the daemon). This tests the script's own logic: the properties
are written before the daemon starts, the deployment's workerId and applicationName win over the
rendered ones (Java properties: last key wins), the classpath holds the jars and the properties'
directory, and a renderer that prints nothing stops the task with exit 2. The real MultiLangDaemon
run against the local stack is the KCL processor's own end-to-end test."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

DAEMON = Path(__file__).resolve().parents[2] / "deploy" / "kcl-daemon.sh"

RENDERED = "applicationName = from-config\nstreamName = app-changes\nworkerId = rendered\n"


def _bin(tmp_path: Path, rendered: str) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "parity").write_text(f"#!/bin/sh\n[ \"$1\" = kcl-properties ] || exit 9\nprintf '%s' '{rendered}'\n")
    (bin_dir / "java").write_text(
        '#!/bin/sh\necho "ARGS $*"\nwhile [ "$#" -gt 1 ]; do shift; done\necho "--- $1"\ncat "$1"\n'
    )
    for tool in ("parity", "java"):
        (bin_dir / tool).chmod(0o755)
    return bin_dir


def _run(tmp_path: Path, rendered: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PARITY_", "KCL_", "ECS_"))}
    base.update(
        PATH=f"{_bin(tmp_path, rendered)}{os.pathsep}{os.environ['PATH']}",
        KCL_PROPERTIES=str(tmp_path / "run" / "kcl.properties"),
        KCL_JARS="/opt/kcl/jars",
        PARITY_CONFIG=str(tmp_path / "parity.toml"),
        **env,
    )
    return subprocess.run(["sh", str(DAEMON)], env=base, capture_output=True, text=True)


def _properties(text: str) -> dict[str, str]:
    """Java .properties semantics for 'key = value' lines: the last occurrence wins."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out


def test_starts_the_multilang_daemon_with_the_deployment_values_winning(tmp_path: Path) -> None:
    done = _run(tmp_path, RENDERED, PARITY_KCL_WORKER_ID="task-123", PARITY_KCL_APPLICATION_NAME="parity-prod")
    assert done.returncode == 0, done.stderr
    args, _, shown = done.stdout.partition("\n--- ")
    run_dir = tmp_path / "run"
    assert args == (
        "ARGS -Dlogback.configurationFile=/opt/kcl/logback.xml"
        f" -cp /opt/kcl/jars/*:{run_dir} software.amazon.kinesis.multilang.MultiLangDaemon"
        f" --properties-file {run_dir / 'kcl.properties'}"
    )
    props = _properties(shown.partition("\n")[2])
    assert props == {"applicationName": "parity-prod", "streamName": "app-changes", "workerId": "task-123"}
    assert not (run_dir / "kcl.properties.tmp").exists()


def test_worker_id_falls_back_to_the_hostname_outside_ecs(tmp_path: Path) -> None:
    done = _run(tmp_path, RENDERED)
    assert done.returncode == 0, done.stderr
    props = _properties(done.stdout.partition("\n--- ")[2].partition("\n")[2])
    assert props["workerId"] == subprocess.run(["hostname"], capture_output=True, text=True).stdout.strip()
    assert props["applicationName"] == "from-config"  # no deployment override given


def test_an_empty_rendering_stops_before_the_daemon(tmp_path: Path) -> None:
    done = _run(tmp_path, "")
    assert done.returncode == 2
    assert "ARGS" not in done.stdout
    assert "printed nothing" in done.stderr
