"""`parity report --html` from a real store, loaded by headless Chromium: the charts render.

The store is a real PostgreSQL (the pg_dsn fixture) filled with reconcile runs, discrepancies and
consumer positions; the page is opened from a file with the network disabled. A screenshot must hold
many distinct colours (not a blank page) and the DOM Chromium built must hold the charts and tables.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from psycopg.types.json import Jsonb

from parity.cli import main
from parity.compare import Discrepancy
from parity.local.example import config_toml
from parity.pg import connect
from parity.store import Store
from tests.report.png import distinct_colours

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def find_chromium() -> str | None:
    """``PARITY_CHROMIUM`` when set, else the first Chromium or Chrome on PATH."""
    if os.environ.get("PARITY_CHROMIUM"):
        return os.environ["PARITY_CHROMIUM"]
    names = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
    return next((found for found in map(shutil.which, names) if found), None)


@pytest.fixture(scope="module")
def chromium() -> Iterator[str]:
    """A headless Chromium; the test skips, saying so, where there is none (.ci/run installs one)."""
    found = find_chromium()
    if found is None:
        pytest.skip("no Chromium: none of chromium, chromium-browser, google-chrome on PATH and PARITY_CHROMIUM unset")
    yield found


def _seed(dsn: str) -> None:
    conn = connect(dsn)
    store = Store("parity")
    store.migrate(conn)
    start = datetime.now(UTC) - timedelta(hours=5)
    for n, percent in enumerate([97.31, 98.62, 99.4, 99.87, 100.0]):
        at = start + timedelta(hours=n)
        conn.execute(
            "INSERT INTO parity.reconcile_runs (run_id, status, started_at, finished_at, total_segments, report)"
            " VALUES (%s, 'finished', %s, %s, 4, %s)",
            (f"run-{n}", at, at + timedelta(minutes=3), Jsonb({"parity_percent": percent, "compared": 1800})),
        )
    conn.execute("INSERT INTO parity.reconcile_runs (run_id, status, total_segments) VALUES ('run-now', 'running', 4)")
    found = [
        Discrepancy("session", {"id": f"s-{i}"}, "mismatched", ("name", "summary") if i % 2 else ("name",))
        for i in range(9)
    ]
    found += [Discrepancy("session", {"id": f"p-{i}"}, "missing_in_postgres", ()) for i in range(4)]
    found += [Discrepancy("campaign", {"id": f"c-{i}"}, "missing_in_dynamodb", ()) for i in range(3)]
    found += [Discrepancy("session", {"id": '<img src=x onerror="alert(1)">'}, "mismatched", ("<b>bold</b>",))]
    store.record_discrepancies(conn, found, "reconcile", datetime.now(UTC))
    store.resolve(conn, "session", [{"id": "s-0"}], "stream", datetime.now(UTC))
    conn.execute(
        "INSERT INTO parity.stream_checkpoints (stream_id, shard_id, sequence_number, updated_at)"
        " VALUES ('arn:aws:dynamodb:us-east-1:1:table/app/stream/x', 'shardId-0001', '4200', now() - interval '42 s')"
    )
    conn.commit()
    conn.close()


def test_report_renders_in_headless_chromium(chromium: str, pg_dsn: str, tmp_path: Path) -> None:
    _seed(pg_dsn)
    config = tmp_path / "parity.toml"
    config.write_text(config_toml(table="app", dsn=pg_dsn, endpoint_url="http://127.0.0.1:9"))
    page = tmp_path / "report.html"
    assert main(["report", "--config", str(config), "--html", str(page)]) == 0
    html = page.read_text()
    assert "<img src=x" not in html and "&lt;b&gt;bold&lt;/b&gt;" in html

    profile = tmp_path / "profile"
    url = page.as_uri()
    shot = tmp_path / "shot.png"
    common = [chromium, *FLAGS, f"--user-data-dir={profile}", "--window-size=1280,1800"]
    subprocess.run([*common, f"--screenshot={shot}", url], capture_output=True, timeout=120, check=True)
    assert distinct_colours(shot.read_bytes()) > 50
    if os.environ.get("PARITY_REPORT_SHOT"):
        shutil.copy(shot, os.environ["PARITY_REPORT_SHOT"])

    dom = subprocess.run([*common, "--dump-dom", url], capture_output=True, text=True, timeout=120, check=True).stdout
    # the parity line chart: one dot per finished run; the running run is listed but not plotted
    assert dom.count('class="point"') == 5
    assert "100.00%" in dom and "97.31%" in dom
    # bars by entity (2), by kind (3) and by column (3)
    assert dom.count('class="bar"') == 8
    assert 'id="open-discrepancies"' in dom
    assert dom.count("<tr>") >= 16  # 16 open discrepancies (+ header rows)
    assert "p-3" in dom and "name, summary" in dom
    assert 'id="consumer-lag"' in dom and "shardId-0001" in dom
    assert "<img" not in dom  # the stored markup stayed text


def test_report_of_an_empty_store(chromium: str, pg_dsn: str, tmp_path: Path) -> None:
    config = tmp_path / "parity.toml"
    config.write_text(config_toml(table="app", dsn=pg_dsn, endpoint_url="http://127.0.0.1:9"))
    page = tmp_path / "report.html"
    assert main(["report", "--config", str(config), "--html", str(page)]) == 0
    dom = subprocess.run(
        [chromium, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert "No finished reconcile run yet" in dom and "No open discrepancies." in dom


def test_report_into_a_missing_folder_is_an_input_error(pg_dsn: str, tmp_path: Path) -> None:
    config = tmp_path / "parity.toml"
    config.write_text(config_toml(table="app", dsn=pg_dsn, endpoint_url="http://127.0.0.1:9"))
    assert main(["report", "--config", str(config), "--html", str(tmp_path / "nope" / "r.html")]) == 2
    assert not (tmp_path / "nope").exists()
