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


def test_percent_reads_the_contract_report_and_tolerates_others() -> None:
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
