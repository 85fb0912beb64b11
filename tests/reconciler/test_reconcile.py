"""``parity reconcile`` against the real local stack (moto's server and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from parity.store import Store
from tests.conftest import ExampleEnv
from tests.reconciler.helpers import reconcile, seed, stable


def test_every_kind_exact_counts_and_keys(example_env: ExampleEnv, tmp_path: Path) -> None:
    seeded = seed(example_env)
    code, report = reconcile(example_env, tmp_path, "--segments", "3")
    assert code == 0
    total = seeded.sessions + seeded.campaigns
    assert report["compared"] == total
    assert report["missing_in_postgres"] == 1
    assert report["missing_in_dynamodb"] == 1
    assert report["mismatched"] == 3
    assert report["matched"] == total - 5
    assert report["parity_percent"] == round((total - 5) * 100 / total, 4)
    assert report["skipped"] == 1
    assert report["items_scanned"] == total - 1 + 1  # one session has no item, one invoice item
    assert report["rechecked"] == 5 and report["cleared"] == 0 and report["in_flight"] == 0
    session = report["entities"]["session"]
    assert session["columns"] == {"session_number": 1, "summary": 1}
    assert report["entities"]["campaign"] == {
        "compared": seeded.campaigns,
        "matched": seeded.campaigns - 1,
        "missing_in_postgres": 0,
        "missing_in_dynamodb": 0,
        "mismatched": 1,
        "in_flight": 0,
        "rechecked": 1,
        "cleared": 0,
        "columns": {"name": 1},
        "parity_percent": round((seeded.campaigns - 1) * 100 / seeded.campaigns, 4),
    }
    listed = {(d["entity"], d["key"]["id"], d["kind"], tuple(d["columns"])) for d in report["discrepancies"]}
    assert listed == {
        ("session", seeded.missing_in_postgres, "missing_in_postgres", ()),
        ("session", seeded.missing_in_dynamodb, "missing_in_dynamodb", ()),
        ("session", seeded.mismatched_summary, "mismatched", ("summary",)),
        ("session", seeded.wrong_type, "mismatched", ("session_number",)),
        ("campaign", seeded.campaign_mismatch, "mismatched", ("name",)),
    }
    assert report["listed_truncated"] is False
    stored = Store("parity").list_discrepancies(example_env.conn)
    assert {(d["key"]["id"], d["kind"], d["detected_by"]) for d in stored} == {
        (k, kind, "reconcile") for _, k, kind, _ in listed
    }


def test_slices_merge_into_the_same_report(example_env: ExampleEnv, tmp_path: Path) -> None:
    seed(example_env)
    _, whole = reconcile(example_env, tmp_path, "--segments", "3")
    partials = [
        reconcile(example_env, tmp_path, "--segment", str(k), "--total-segments", "3", "--run-id", "nightly")
        for k in (2, 0, 1)
    ]
    assert [code for code, _ in partials] == [0, 0, 0]
    assert [r["complete"] for _, r in partials] == [False, False, True]
    assert partials[0][1]["segments_done"] == 1
    assert stable(partials[-1][1]) == stable(whole)


def test_interrupted_run_resumes_to_the_same_report(example_env: ExampleEnv, tmp_path: Path) -> None:
    with example_env.config_path.open("a") as fh:
        fh.write("\n[reconcile]\npage_size = 3\n")
    seed(example_env)
    _, whole = reconcile(example_env, tmp_path, "--segments", "2")
    from parity.errors import ParityError

    try:
        reconcile(example_env, tmp_path, "--segments", "2", "--run-id", "halfway", stop_after_pages=4)
    except ParityError as exc:
        assert "interrupted" in str(exc) and "--resume halfway" in str(exc)
    else:  # pragma: no cover - the hook must stop the run
        raise AssertionError("the run was not interrupted")
    status = example_env.conn.execute("SELECT status FROM parity.reconcile_runs WHERE run_id = 'halfway'").fetchone()
    example_env.conn.commit()
    assert status is not None and status["status"] == "interrupted"
    pages = example_env.conn.execute(
        "SELECT sum(pages) AS n FROM parity.reconcile_segments WHERE run_id = 'halfway'"
    ).fetchone()
    example_env.conn.commit()
    assert pages is not None and 4 <= pages["n"] <= 5  # the other worker finishes its page
    code, resumed = reconcile(example_env, tmp_path, "--resume")
    assert code == 0
    assert resumed["run_id"] == "halfway"
    assert stable(resumed) == stable(whole)


def test_fail_under_exits_1(example_env: ExampleEnv, tmp_path: Path) -> None:
    seed(example_env)
    code, report = reconcile(example_env, tmp_path, "--fail-under", "99.5", "--json")
    assert report["parity_percent"] < 99.5
    assert code == 1
    code, _ = reconcile(example_env, tmp_path, "--fail-under", "50")
    assert code == 0


def test_empty_stores_report_100(example_env: ExampleEnv, tmp_path: Path) -> None:
    code, report = reconcile(example_env, tmp_path, "--fail-under", "100")
    assert code == 0
    assert report["compared"] == 0 and report["parity_percent"] == 100.0
    assert set(report["entities"]) == {"session", "campaign"}


def test_a_matching_rerun_resolves_open_discrepancies(example_env: ExampleEnv, tmp_path: Path) -> None:
    seeded = seed(example_env)
    reconcile(example_env, tmp_path)
    example_env.conn.execute(
        "UPDATE public.sessions SET summary = 'changed only in DynamoDB' WHERE id = %s", (seeded.mismatched_summary,)
    )
    example_env.conn.commit()
    _, report = reconcile(example_env, tmp_path)
    assert report["mismatched"] == 2
    statuses = {d["key"]["id"]: d["status"] for d in Store("parity").list_discrepancies(example_env.conn, "all")}
    assert statuses[seeded.mismatched_summary] == "resolved"
    assert statuses[seeded.wrong_type] == "open"


def test_threads_processes_and_both_anti_joins_give_the_same_report(
    example_env: ExampleEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Worker processes (the default on Linux) and one process of threads; the SQL anti-join and
    the Python one (kept for key types SQL cannot render exactly) find the same keys."""
    seed(example_env)
    _, processes = reconcile(example_env, tmp_path, "--segments", "4", "--processes", "2")
    _, threads = reconcile(example_env, tmp_path, "--segments", "4", "--processes", "1")
    monkeypatch.setattr("parity.reconciler.final.key_object_sql", lambda entity, types: None)
    _, python_anti_join = reconcile(example_env, tmp_path, "--segments", "2")
    assert processes["missing_in_dynamodb"] == 1
    assert stable(processes) == stable(threads) == stable(python_anti_join)


def test_integer_version_row_without_item_is_missing_not_in_flight(example_env: ExampleEnv, tmp_path: Path) -> None:
    """An integer version cannot be compared with the run's start time: a row without item is a
    discrepancy, never counted in flight (which used to report 100 %)."""
    from parity.local.example import generate, write_dynamodb, write_postgres

    text = example_env.config_path.read_text()
    session_version = 'version = "updated_at"\nitem_key = { pk = "$campaignapp#campaignid_{campaign_id}"'
    assert session_version in text
    example_env.config_path.write_text(
        text.replace(session_version, session_version.replace("updated_at", "session_number"))
    )
    data = generate(1, 3, seed=9)
    write_postgres(example_env.conn, [data[0], *data[0].sessions])
    write_dynamodb(example_env.dynamodb, example_env.table, [data[0], *data[0].sessions[:2]])
    code, report = reconcile(example_env, tmp_path)
    assert code == 0
    assert report["in_flight"] == 0
    assert report["missing_in_dynamodb"] == 1 and report["parity_percent"] < 100
    assert [d["key"]["id"] for d in report["discrepancies"]] == [data[0].sessions[2].id]


def test_two_slices_finishing_at_once_run_the_final_phase_once(
    example_env: ExampleEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both slices of a run reach the final phase together (a barrier holds each until both have
    scanned): the run's lock lets one finish the run and hands the other the same report."""
    import threading
    import time

    from parity.reconciler import runs_store
    from parity.reconciler.final import FinalPhase

    seeded = seed(example_env)
    barrier = threading.Barrier(2, timeout=60)
    finishes: list[str] = []
    original_finish = FinalPhase.finish_if_complete
    original_finish_run = runs_store.finish_run

    def finish_together(self: FinalPhase, conn: Any, events: Any) -> Any:
        barrier.wait()
        return original_finish(self, conn, events)

    def slow_finish_run(conn: Any, store: Any, run_id: str, report: Any, finished_at: Any) -> None:
        finishes.append(run_id)
        time.sleep(0.5)  # widen the window in which the other slice could slip in
        original_finish_run(conn, store, run_id, report, finished_at)

    monkeypatch.setattr(FinalPhase, "finish_if_complete", finish_together)
    monkeypatch.setattr(runs_store, "finish_run", slow_finish_run)
    results: dict[int, tuple[int, dict[str, Any]]] = {}

    def slice_(k: int) -> None:
        results[k] = reconcile(
            example_env, tmp_path / str(k), "--segment", str(k), "--total-segments", "2", "--run-id", "together"
        )

    for k in (0, 1):
        (tmp_path / str(k)).mkdir()
    threads = [threading.Thread(target=slice_, args=(k,)) for k in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert finishes == ["together"]
    (code0, report0), (code1, report1) = results[0], results[1]
    assert code0 == code1 == 0 and report0["complete"] and report1["complete"]
    assert report0 == report1
    assert report0["missing_in_dynamodb"] == 1 and report0["compared"] == seeded.sessions + seeded.campaigns
