"""Config validation: docs/reference.md's example loads; mistakes name the key path and a suggestion."""

from __future__ import annotations

import copy
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from parity.config import load_config, parse_config
from parity.errors import ConfigError

EXAMPLE: dict[str, Any] = tomllib.loads(resources.files("parity.local").joinpath("example.toml").read_text())


def rejected(mutate: Any) -> str:
    data = copy.deepcopy(EXAMPLE)
    mutate(data)
    with pytest.raises(ConfigError) as info:
        parse_config(data, "parity.toml")
    message = str(info.value)
    assert "\n" not in message
    return message


def test_example_loads() -> None:
    config = parse_config(EXAMPLE)
    session = config.entity_named("session")
    assert session is not None
    assert list(session.key) == ["id"]
    assert session.columns["name"].attribute == "name"
    assert session.columns["tags"].type == "string_set"
    assert config.consumer.grace_seconds == 30
    assert config.postgres.store_schema == "parity"


def test_reference_example_verbatim(tmp_path: Path) -> None:
    """The config example in docs/reference.md loads as it stands (the docs cannot drift from the code)."""
    reference = Path(__file__).resolve().parents[2] / "docs" / "reference.md"
    block = reference.read_text(encoding="utf-8").split("```toml", 1)[1].split("```", 1)[0]
    path = tmp_path / "parity.toml"
    path.write_text(block)
    config = load_config(path)
    assert config.search is not None and config.search.columns == ["name", "summary", "metadata"]
    session = config.entity_named("session")
    assert session is not None and session.version == "updated_at" and list(session.key) == ["id"]


def test_unknown_type_suggests() -> None:
    message = rejected(lambda d: d["entity"][0]["columns"].__setitem__("tags", {"attribute": "t", "type": "strng_set"}))
    assert "entity[0].columns.tags.type" in message and "did you mean 'string_set'" in message


def test_unknown_keys_suggest_at_every_level() -> None:
    assert "unknown key 'dynamodb.tabel'; did you mean 'table'" in rejected(
        lambda d: d["dynamodb"].__setitem__("tabel", 1)
    )
    assert "'entity[0].colums'; did you mean 'columns'" in rejected(lambda d: d["entity"][0].__setitem__("colums", {}))
    assert "did you mean 'attribute'" in rejected(
        lambda d: d["entity"][0]["columns"]["tags"].__setitem__("atribute", "x")
    )
    assert "did you mean 'consumer'" in rejected(lambda d: d.__setitem__("consumr", {}))


def test_unknown_column_references() -> None:
    assert "did you mean 'summary'" in rejected(lambda d: d["search"].__setitem__("columns", ["name", "sumary"]))
    assert "did you mean 'updated_at'" in rejected(lambda d: d["entity"][0].__setitem__("version", "updatd_at"))
    assert "not a mapped column" in rejected(lambda d: d["entity"][0].__setitem__("item_key", {"pk": "x_{nope}"}))


def test_missing_required() -> None:
    assert "missing required key 'dynamodb.table'" in rejected(lambda d: d["dynamodb"].pop("table"))


def test_timestamp_options_only_on_timestamps() -> None:
    assert "only to columns of type 'timestamp'" in rejected(
        lambda d: d["entity"][0]["columns"].__setitem__("name", {"attribute": "n", "unit": "ms"})
    )


def test_unknown_consumer_source() -> None:
    assert "'consumer.source'" in rejected(lambda d: d["consumer"].__setitem__("source", "kafka"))


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[dynamodb\ntable = 'x'")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)


def test_version_column_is_a_timestamp_integer_or_decimal() -> None:
    message = rejected(lambda d: d["entity"][0].__setitem__("version", "name"))
    assert "version column 'name' has type 'string'; a version is one of decimal, integer, timestamp" in message
    for kind in ("integer", "decimal"):
        data = copy.deepcopy(EXAMPLE)
        data["entity"][0]["columns"]["session_number"]["type"] = kind
        data["entity"][0]["version"] = "session_number"
        assert parse_config(data).entity[0].version == "session_number"
