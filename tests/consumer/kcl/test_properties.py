"""``parity kcl-properties``: the rendered file against the names the multilang daemon knows.

The known names come from the installed KCL multilang jar itself: the bean setters of
``MultiLangDaemonConfiguration`` (what ``KinesisClientLibConfigurator`` maps properties onto) plus
the names ``MultiLangDaemonConfig`` reads directly (executableName, processingLanguage, ...).
"""

from __future__ import annotations

import re
import subprocess
import zipfile
from pathlib import Path

import amazon_kclpy
import pytest

from tests.consumer.kcl.conftest import PARITY

JARS = Path(amazon_kclpy.__file__).parent / "jars"
CONFIGURATION = "software/amazon/kinesis/multilang/config/MultiLangDaemonConfiguration.class"
DAEMON_CONFIG = "software/amazon/kinesis/multilang/MultiLangDaemonConfig.class"


def known_property_names() -> set[str]:
    (jar,) = JARS.glob("amazon-kinesis-client-multilang-*.jar")
    with zipfile.ZipFile(jar) as archive:
        setters = set(re.findall(rb"\bset([A-Z][A-Za-z]+)", archive.read(CONFIGURATION)))
        direct = set(re.findall(rb"[A-Za-z]+", archive.read(DAEMON_CONFIG)))
    names = {s.decode() for s in setters}
    names |= {n[0].lower() + n[1:] for n in names}  # the configurator accepts either first letter
    names |= {n.decode() for n in direct & {b"executableName", b"processingLanguage", b"maxActiveThreads"}}
    return names


def parse(text: str) -> dict[str, str]:
    pairs = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            assert name.strip() not in pairs, f"{name} twice"
            pairs[name.strip()] = value.strip()
    return pairs


def render(config: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PARITY, "kcl-properties", "--config", str(config), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "parity.toml"
    path.write_text(
        '[dynamodb]\ntable = "app"\nregion = "eu-west-1"\nendpoint_url = "http://127.0.0.1:4566"\n'
        '[postgres]\ndsn = "postgresql://app@db/app"\n'
        '[[entity]]\nname = "s"\ntable = "public.s"\nmatch = { "__edb_e__" = "s" }\nkey = { id = "id" }\n'
        '[consumer]\nsource = "kinesis"\nstream_name = "app-changes"\nbatch_size = 500\n'
    )
    return path


def test_production_properties_use_only_names_kcl_knows(config_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "app.properties"
    env = {"PATH": "/usr/bin:/bin", "PARITY_ENVIRONMENT": "prod", "PARITY_KCL_WORKER_ID": "task-123"}
    done = render(config_file, "--output", str(out), "--stop-timeout", "120", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    props = parse(out.read_text())
    assert set(props) <= known_property_names(), set(props) - known_property_names()
    assert props["executableName"] == f"{PARITY} kcl-processor --config {config_file.resolve()}"
    assert props["applicationName"] == "parity-prod"
    assert props["streamName"] == "app-changes"
    assert props["regionName"] == "eu-west-1"
    assert props["workerId"] == "task-123"
    assert props["initialPositionInStream"] == "TRIM_HORIZON"
    assert props["retrievalMode"] == "POLLING"
    assert props["maxRecords"] == "500"
    assert int(props["shutdownGraceMillis"]) < 120_000
    assert props["AWSCredentialsProvider"] == "DefaultCredentialsProvider"
    assert "kinesisEndpoint" not in props and "dynamoDBEndpoint" not in props


def test_local_properties_point_at_the_local_stack(config_file: Path) -> None:
    done = render(config_file, "--local", "--application-name", "app-test", "--worker-id", "w1")
    assert done.returncode == 0, done.stderr
    props = parse(done.stdout)
    assert set(props) <= known_property_names()
    assert props["kinesisEndpoint"] == props["dynamoDBEndpoint"] == "http://127.0.0.1:4566"
    assert props["AWSCredentialsProvider"] == "EnvironmentVariableCredentialsProvider"
    assert (props["applicationName"], props["workerId"], props["metricsLevel"]) == ("app-test", "w1", "NONE")


def test_missing_stream_name_is_a_config_error(config_file: Path, tmp_path: Path) -> None:
    config_file.write_text(config_file.read_text().replace('stream_name = "app-changes"\n', ""))
    out = tmp_path / "never.properties"
    done = render(config_file, "--output", str(out))
    assert done.returncode == 2
    assert "[consumer].stream_name" in done.stderr and done.stderr.count("\n") == 1
    assert not out.exists()


def test_stop_timeout_too_short_is_rejected(config_file: Path) -> None:
    done = render(config_file, "--stop-timeout", "10")
    assert done.returncode == 2 and "--stop-timeout 10" in done.stderr
