from __future__ import annotations

import pytest

from parity.config import ParityConfig, load_config
from parity.local.example import config_toml


@pytest.fixture
def example_config(tmp_path) -> ParityConfig:  # type: ignore[no-untyped-def]
    path = tmp_path / "parity.toml"
    path.write_text(config_toml(table="app", dsn="postgresql://nobody@127.0.0.1:1/none"))
    return load_config(path)
