"""Fixtures of the KCL processor tests: the example app's stores with a Kinesis-mode config."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from parity.config import ParityConfig, load_config
from tests.conftest import ExampleEnv

PARITY = str(Path(sys.executable).with_name("parity"))


def kinesis_config(text: str, stream_name: str, *, dsn: str | None = None) -> str:
    """The example config switched to Kinesis mode, grace 0 (first mismatches decided at once)."""
    text = re.sub(
        r'\[consumer\]\nsource = "dynamodb-streams"\ngrace_seconds = 30\n',
        f'[consumer]\nsource = "kinesis"\nstream_name = "{stream_name}"\ngrace_seconds = 0\nbatch_size = 100\n'
        "poll_interval_seconds = 0.5\n",
        text,
    )
    assert 'source = "kinesis"' in text
    if dsn is not None:
        text = re.sub(r'dsn = "[^"]*"', f'dsn = "{dsn}"', text, count=1)
    return text


@dataclass
class KclEnv:
    example: ExampleEnv
    config_path: Path
    config: ParityConfig
    stream_name: str

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(PARITY_LOG_LEVEL="info", AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
        env.update(AWS_REGION="us-east-1", AWS_DEFAULT_REGION="us-east-1")
        return env


@pytest.fixture
def kcl_env(example_env: ExampleEnv, tmp_path: Path, table_name: str) -> Iterator[KclEnv]:
    stream = f"parity-{table_name}"
    path = tmp_path / "kinesis.toml"
    path.write_text(kinesis_config(example_env.config_path.read_text(), stream))
    yield KclEnv(example_env, path, load_config(path), stream)
