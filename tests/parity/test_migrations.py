"""Each app owns its migrations; the CLI applies them all; versions are unique across packages."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

import parity
from parity.cli import APP_MIGRATIONS
from parity.errors import StoreError
from parity.pg import Connection
from parity.store import Store, migrate
from parity.store.migrate import CORE, migrations


def _tables(conn: Connection, schema: str) -> set[str]:
    rows = conn.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,))
    return {r["table_name"] for r in rows} - {"schema_migrations"}


def test_versions_are_unique_across_every_package() -> None:
    found = migrations(APP_MIGRATIONS)
    versions = [m.version for m in found]
    assert len(versions) == len(set(versions)) and versions == sorted(versions)
    assert {m.package for m in found} == {CORE, *APP_MIGRATIONS}


def test_a_version_used_twice_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "clashing_app"
    (package / "migrations").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "migrations" / "001_mine.sql").write_text("CREATE TABLE mine (x int);")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(StoreError, match=r"two migrations share version 1: parity.store 001_core.sql"):
        migrations(["clashing_app"])
    sys.modules.pop("clashing_app", None)


def test_the_cli_applies_every_package_that_has_migrations() -> None:
    """Whatever command runs first sees the complete store: the CLI's list misses no app."""
    root = Path(parity.__file__).parent
    folders = {p.parent.parent for p in root.glob("*/migrations/*.sql")} | {
        p.parent.parent for p in root.glob("*/*/migrations/*.sql")
    }
    packages = {"parity." + ".".join(f.relative_to(root).parts) for f in folders}
    assert packages == {CORE, *APP_MIGRATIONS}


def test_the_core_alone_creates_only_its_tables_and_an_app_adds_its_own(
    pg_conn: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        importlib.import_module("parity.store.migrate"), "_registered", []
    )  # no CLI wiring: a library caller
    migrate(pg_conn, "lib")
    core = _tables(pg_conn, "lib")
    assert "discrepancies" in core and not any(t.startswith(("consumer_", "reconcile_s", "replay_")) for t in core)
    applied = Store("lib").migrate(pg_conn, "parity.consumer")
    assert applied == ["020_consumer.sql", "030_kcl_high_water.sql"]
    assert _tables(pg_conn, "lib") - core == {"consumer_pending", "consumer_heartbeats", "kcl_high_water"}
    # the CLI's full list, later: the rest, and nothing twice
    root = Path(parity.__file__).parent
    rest = sorted(  # every app migration but the consumer's, already applied
        p.name.split("_")[0]
        for package in APP_MIGRATIONS
        if package != "parity.consumer"
        for p in (root / package.removeprefix("parity.").replace(".", "/") / "migrations").glob("*.sql")
    )
    assert "010" in rest  # the reconciler's own
    assert [m.split("_")[0] for m in migrate(pg_conn, "lib", APP_MIGRATIONS)] == rest
    assert migrate(pg_conn, "lib", APP_MIGRATIONS) == []
