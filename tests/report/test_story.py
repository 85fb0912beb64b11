"""The report tells the run's story: what was found (by kind, column and checker), what became of it,
and how parity moved between reconcile runs. Pure: plain values in, HTML out."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from parity.report.data import History, ReportData, Run, _found, history_of
from parity.report.page import render

T0 = datetime(2026, 11, 30, 5, 0, tzinfo=UTC)
EVIL = '<script>alert("x")</script>&'


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_found_reads_kinds_and_columns_of_a_run_report() -> None:
    report = {
        "missing_in_postgres": 4,
        "missing_in_dynamodb": 0,
        "mismatched": 13,
        "entities": {"session": {"columns": {"name": 6, "summary": 7}}, "campaign": {"columns": {}}},
    }
    assert _found(report) == ({"missing_in_postgres": 4, "mismatched": 13}, {"session.summary": 7, "session.name": 6})
    assert _found(None) == ({}, {})


def test_history_counts_every_discrepancy_ever_recorded() -> None:
    rows = [
        {"entity": "session", "kind": "mismatched", "columns": ["name"], "detected_by": "stream", "status": "resolved"},
        {"entity": "session", "kind": "mismatched", "columns": ["name", "summary"], "detected_by": "stream",
         "status": "open"},
        {"entity": "session", "kind": "missing_in_postgres", "columns": [], "detected_by": "reconcile",
         "status": "resolved"},
    ]  # fmt: skip
    history = history_of(rows)
    assert history.total == 3
    assert history.by_kind == {"mismatched": 2, "missing_in_postgres": 1}
    assert history.by_column == {"session.name": 2, "session.summary": 1}
    assert history.by_checker == {"stream": 2, "reconcile": 1}
    assert history.by_status == {"resolved": 2, "open": 1}


def test_page_tells_what_was_found_then_fixed() -> None:
    runs = (
        Run("r1", "finished", T0, T0, 98.84, 1804, {"missing_in_postgres": 4, "mismatched": 13}, {"session.name": 6}),
        Run("r2", "finished", T0 + timedelta(seconds=20), T0, 100.0, 1800),
    )
    history = History(
        total=21,
        by_kind={"mismatched": 13, "missing_in_postgres": 4, "missing_in_dynamodb": 4},
        by_column={"session.summary": 7, "session.name": 6},
        by_checker={"stream": 21},
        by_status={"resolved": 21},
    )
    page = render(ReportData(T0, runs, (), {}, {}, {}, 21, history=history))
    story = _text(page.split('id="story"', 1)[1].split("</section>", 1)[0])
    assert "Found 21 discrepancies (21 by the stream checker): 13 mismatched, 4 missing in PostgreSQL," in story
    assert "Differing columns: 7 session.summary, 6 session.name." in story
    assert "Since then 21 resolved" in story and "0 still open" in story
    assert (
        "Parity went from 98.84% (2026-11-30 05:00:00) to 100.00% (2026-11-30 05:00:20) over 2 reconcile runs" in story
    )
    runs_table = _text(page.split('id="runs"', 1)[1].split("</table>", 1)[0])
    assert "98.84% 4 missing in PostgreSQL, 13 mismatched (6 session.name)" in runs_table
    assert "100.00% nothing" in runs_table


def test_story_escapes_store_values_and_says_when_nothing_ran() -> None:
    runs = (Run("r", "finished", T0, T0, 50.0, 2, {"mismatched": 1}, {EVIL: 1}),)
    history = History(1, {"mismatched": 1}, {EVIL: 1}, {"stream": 1}, {"open": 1})
    page = render(ReportData(T0, runs, (), {}, {}, {}, 0, history=history))
    assert "<script" not in page
    assert "Nothing checked yet" in render(ReportData(T0, (), (), {}, {}, {}, 0))
