"""Pure tests of the SVG charts and the page: shapes, ordering, escaping, empty stores."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

from parity.report.charts import bar_chart, line_chart
from parity.report.data import Lag, OpenDiscrepancy, ReportData, Run, _percent, summarize
from parity.report.page import render

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
EVIL = '<script>alert("x")</script>&'


def test_line_chart_is_valid_svg_with_one_point_per_run() -> None:
    svg = line_chart([("a", 97.5), ("b", 99.0), ("c", 100.0)], title="parity")
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert len(root.findall(f"{ns}circle")) == 3
    series = next(p for p in root.findall(f"{ns}path") if p.get("class") == "series")
    ys = [float(m) for m in re.findall(r"[ML][\d.]+,([\d.]+)", series.get("d", ""))]
    assert ys[0] > ys[1] > ys[2]  # higher parity is drawn higher up (smaller y)
    assert "100.00%" in svg and "97.50%" in svg


def test_line_chart_single_run_and_escaped_labels() -> None:
    svg = line_chart([(EVIL, 100.0)], title=EVIL)
    ET.fromstring(svg)  # still well-formed: the label is escaped
    assert "<script>" not in svg


def test_bar_chart_orders_largest_first_and_folds_the_tail() -> None:
    counts = {f"c{i}": i for i in range(1, 21)}
    svg = bar_chart(counts, title="cols", limit=5)
    root = ET.fromstring(svg)
    labels = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text") if t.get("class") == "label"]
    assert labels == ["c20", "c19", "c18", "c17", "16 others"]
    values = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text") if t.get("class") == "value"]
    assert values[-1] == str(sum(range(1, 17)))


def test_summarize_counts_entities_kinds_and_columns() -> None:
    items = [
        OpenDiscrepancy("session", {"id": "1"}, "mismatched", ("name", "summary"), "stream", NOW, NOW),
        OpenDiscrepancy("session", {"id": "2"}, "mismatched", ("name",), "reconcile", NOW, NOW),
        OpenDiscrepancy("campaign", {"id": "3"}, "missing_in_postgres", (), "reconcile", NOW, NOW),
    ]
    by_entity, by_kind, by_column = summarize(items)
    assert by_entity == {"session": 2, "campaign": 1}
    assert by_kind == {"mismatched": 2, "missing_in_postgres": 1}
    assert by_column == {"session.name": 2, "session.summary": 1}


def test_percent_reads_the_documented_report_and_tolerates_others() -> None:
    assert _percent({"parity_percent": 99.25, "compared": 20000}) == (99.25, 20000)
    assert _percent(None) == (None, None)
    assert _percent({"parity_percent": "x", "compared": True}) == (None, None)


def test_page_escapes_every_store_value() -> None:
    item = OpenDiscrepancy(EVIL, {"id": EVIL}, EVIL, (EVIL,), EVIL, NOW, NOW)
    by_entity, by_kind, by_column = summarize([item])
    data = ReportData(
        generated_at=NOW,
        runs=(Run(EVIL, EVIL, NOW, NOW, 98.0, 10),),
        open_discrepancies=(item,),
        by_entity=by_entity,
        by_kind=by_kind,
        by_column=by_column,
        resolved_count=0,
        lags=(Lag(EVIL, EVIL, NOW - timedelta(seconds=5), 5.0, EVIL),),
    )
    page = render(data)
    assert "<script" not in page
    assert page.count("&lt;script&gt;") >= 8
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "")  # nothing fetched


def test_page_of_an_empty_store_says_what_is_missing() -> None:
    page = render(ReportData(NOW, (), (), {}, {}, {}, 0))
    assert "No finished reconcile run yet" in page
    assert "No open discrepancies." in page
    assert "has not recorded any progress" in page
    assert "<svg" not in page


def test_percent_axis_starts_at_a_round_tick_and_ends_at_100() -> None:
    from parity.report.charts import percent_axis

    assert percent_axis([95.3, 99.72]) == (92.0, 2.0)  # not 89.something
    assert percent_axis([89.3]) == (80.0, 5.0)
    assert percent_axis([99.7]) == (99.6, 0.1)
    assert percent_axis([100.0]) == (96.0, 1.0)
    assert percent_axis([40.0]) == (0.0, 25.0)
    svg = line_chart([("a", 95.3), ("b", 99.72)], title="parity")
    ticks = [t.text for t in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}text") if t.get("class") == "axis"]
    assert ticks[:5] == ["92%", "94%", "96%", "98%", "100%"]


def test_time_labels_are_distinct() -> None:
    from parity.report.page import time_labels

    same_minute = [NOW, NOW + timedelta(seconds=20), NOW + timedelta(seconds=40)]
    assert time_labels(same_minute) == ["11-25 08:00:00", "11-25 08:00:20", "11-25 08:00:40"]
    assert time_labels([NOW, NOW + timedelta(hours=1)]) == ["11-25 08:00", "11-25 09:00"]
    svg = line_chart([("x", 99.0), ("x", 100.0)], title="p")
    assert ">x<" in svg and ">x #2<" in svg


def test_status_counts_follow_each_key_through_its_changes() -> None:
    from parity.report.data import status_counts

    t = [NOW + timedelta(minutes=i) for i in range(5)]
    events = [
        {"entity": "s", "key_id": "a", "status": "open", "at": t[0]},
        {"entity": "s", "key_id": "b", "status": "open", "at": t[0]},
        {"entity": "s", "key_id": "a", "status": "accepted", "at": t[1]},
        {"entity": "s", "key_id": "b", "status": "resolved", "at": t[2]},
        {"entity": "s", "key_id": "a", "status": "open", "at": t[3]},  # reopened: its values changed
    ]
    assert status_counts(events) == [(t[0], 2, 0, 0), (t[1], 1, 1, 0), (t[2], 0, 1, 1), (t[3], 1, 0, 1)]


def test_page_shows_the_workflow_gate_history_findings_and_values() -> None:
    from parity.report.data import ReportData

    item = OpenDiscrepancy(
        "session", {"id": "1"}, "mismatched", ("name",), "stream", NOW, NOW, "open",
        {"name": {"dynamodb": "Ana", "postgres": "redacted:0123456789ab"}},
    )  # fmt: skip
    accepted = OpenDiscrepancy(
        "session", {"id": "2"}, "missing_in_postgres", (), "reconcile", NOW, NOW, "accepted",
        {"dynamodb": {"id": "2", "name": "Bo"}}, "test data", "ana",
    )  # fmt: skip
    run = Run("r1", "finished", NOW, NOW, 99.5, 200, {"mismatched": 1, "missing_in_postgres": 1}, {"session.name": 1})

    data = ReportData(
        NOW, (run,), (item,), *summarize([item]), 0,
        accepted_discrepancies=(accepted,),
        status_history=((NOW, 2, 0, 0), (NOW + timedelta(minutes=1), 1, 1, 0)),
        gate=(("reconcile_age", True, "fresh"), ("open_discrepancies", False, "1 open discrepancy")),
    )  # fmt: skip
    page = render(data, rules="session.name redacted")
    assert 'id="gate-checks"' in page and "FAIL</td><td><code>open_discrepancies" in page
    assert page.count('class="series status-') == 3 and "open 1" in page and "accepted 1" in page
    assert "session.name" in page  # the run's findings by column
    assert "&quot;Ana&quot;" in page and "redacted:0123456789ab" in page and "test data" in page
    assert "Column rules in force: session.name redacted" in page
