"""The self-contained HTML page: inline CSS and inline SVG, nothing fetched; every store value escaped."""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from typing import Any

from parity.jsontext import dumps_exact
from parity.report.charts import KIND_COLOURS, bar_chart, distinct_labels, line_chart, status_chart
from parity.report.data import OpenDiscrepancy, ReportData, Run

MAX_ROWS = 2000

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f1f5f9;color:#0f172a}
header{background:#0f172a;color:#f8fafc;padding:18px 28px}header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;color:#cbd5e1}main{padding:20px 28px;display:grid;gap:18px}
section{background:#fff;border-radius:10px;padding:16px 20px;box-shadow:0 1px 3px rgba(15,23,42,.12)}
h2{font-size:16px;margin:0 0 10px}.row{display:flex;flex-wrap:wrap;gap:18px}.row>div{flex:1 1 300px}
.tiles{display:flex;gap:14px;flex-wrap:wrap}
.tile{background:#f8fafc;border-radius:8px;padding:10px 16px;min-width:140px}
.tile b{display:block;font-size:24px}.tile.good b{color:#059669}.tile.bad b{color:#dc2626}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #e2e8f0}
th{background:#f8fafc}td code{font-size:12px}td{white-space:nowrap}td:nth-child(2){white-space:normal}
.empty{color:#64748b;font-style:italic}tr.fail td:first-child{color:#dc2626;font-weight:600}
tr.ok td:first-child{color:#059669;font-weight:600}
.kind{border-radius:4px;padding:1px 6px;color:#fff;font-size:12px}
table.values{width:auto;font-size:12px}table.values th,table.values td{padding:1px 6px;border:0;background:none}
table.values td{white-space:normal;max-width:28em;overflow-wrap:anywhere}
svg text{font-family:inherit}svg .axis{font-size:11px;fill:#475569}svg .label{font-size:12px;fill:#0f172a}
svg .value{font-size:11px;fill:#334155}
"""


def _empty(text: str) -> str:
    return f'<p class="empty">{escape(text)}</p>'


def _when(moment: datetime) -> str:
    """A timestamp in UTC, to the second."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _value(value: object) -> str:
    text = value if isinstance(value, str) and value.startswith("redacted:") else dumps_exact(value)
    return escape(text if len(text) <= 160 else text[:159] + "…")


def values_html(kind: str, values: dict[str, Any], columns: tuple[str, ...] = ()) -> str:
    """What each store holds: a small table per discrepancy (column, DynamoDB, PostgreSQL)."""
    if not values:
        return f'{escape(", ".join(columns))} <span class="empty">(values not recorded)</span>'
    if kind == "mismatched":
        rows = "".join(
            f"<tr><th>{escape(column)}</th><td><code>{_value(pair.get('dynamodb'))}</code></td>"
            f"<td><code>{_value(pair.get('postgres'))}</code></td></tr>"
            for column, pair in values.items()
        )
        return f'<table class="values"><tr><th></th><th>DynamoDB</th><th>PostgreSQL</th></tr>{rows}</table>'
    parts = []
    for side, held in values.items():
        rows = "".join(
            f"<tr><th>{escape(column)}</th><td><code>{_value(v)}</code></td></tr>" for column, v in held.items()
        )
        name = "DynamoDB" if side == "dynamodb" else "PostgreSQL" if side == "postgres" else side
        parts.append(f'<table class="values"><tr><th></th><th>{escape(name)} only</th></tr>{rows}</table>')
    return "".join(parts)


def _key_text(key: dict[str, Any]) -> str:
    return dumps_exact(key, ensure_ascii=False, sort_keys=True, separators=(", ", ": "))


def discrepancy_table(items: tuple[OpenDiscrepancy, ...], table_id: str, *, notes: bool = False) -> str:
    """The discrepancies with both sides' values (and, for accepted ones, the note and who accepted)."""
    shown = items[:MAX_ROWS]
    rows = "".join(
        f"<tr><td>{escape(d.entity)}</td>"
        f"<td><code>{escape(_key_text(d.key))}</code></td>"
        f'<td><span class="kind" style="background:{KIND_COLOURS.get(d.kind, "#475569")}">{escape(d.kind)}</span></td>'
        f"<td>{values_html(d.kind, d.values, d.columns)}</td><td>{escape(d.detected_by)}</td>"
        + (f"<td>{escape(d.note or '')}<br><small>{escape(d.accepted_by or '')}</small></td>" if notes else "")
        + f"<td>{_when(d.first_seen)}</td><td>{_when(d.last_seen)}</td></tr>"
        for d in shown
    )
    more = (
        f"<p>Showing {MAX_ROWS} of {len(items)}; `parity discrepancies --json` lists all.</p>"
        if len(items) > MAX_ROWS
        else ""
    )
    note_head = "<th>note (by)</th>" if notes else ""
    return (
        f'<table id="{table_id}"><thead><tr><th>entity</th><th>key</th><th>kind</th><th>values</th>'
        f"<th>found by</th>{note_head}<th>first seen</th><th>last seen</th></tr></thead><tbody>{rows}</tbody></table>"
        f"{more}"
    )


_KIND_WORDS = {
    "missing_in_postgres": "missing in PostgreSQL",
    "missing_in_dynamodb": "missing in DynamoDB",
    "mismatched": "mismatched",
}


def _counts(counts: dict[str, int], words: dict[str, str] | None = None) -> str:
    return ", ".join(f"{n:,} {escape((words or {}).get(k, k))}" for k, n in counts.items())


def story_html(data: ReportData) -> str:
    """The run's story in a few sentences: what was found (by kind and column, by which checker), what
    became of it, and how parity moved between the first and the latest reconcile run."""
    history = data.history
    if history.total == 0 and not data.runs:
        return _empty("Nothing checked yet: run `parity consume` or `parity reconcile`.")
    lines = []
    if history.total:
        checkers = _counts(history.by_checker, {"stream": "by the stream checker", "reconcile": "by the reconciler"})
        lines.append(
            f"<li>Found <b>{history.total:,}</b> discrepancies ({checkers}):"
            f" {_counts(history.by_kind, _KIND_WORDS)}.</li>"
        )
        if history.by_column:
            lines.append(f"<li>Differing columns: {_counts(history.by_column)}.</li>")
        status = history.by_status
        lines.append(
            f"<li>Since then <b>{status.get('resolved', 0):,} resolved</b> (a later check found both stores equal:"
            f" a replay or repair wrote the fix, or the late half of a dual write landed),"
            f" {status.get('accepted', 0):,} accepted, <b>{status.get('open', 0):,} still open</b>.</li>"
        )
    else:
        lines.append("<li>No discrepancy found so far.</li>")
    finished = [r for r in data.runs if r.parity_percent is not None]
    if len(finished) >= 2:
        first, last = finished[0], finished[-1]
        lines.append(
            f"<li>Parity went from <b>{first.parity_percent:.2f}%</b> ({_when(first.started_at)})"
            f" to <b>{last.parity_percent:.2f}%</b> ({_when(last.started_at)})"
            f" over {len(finished)} reconcile runs.</li>"
        )
    elif finished:
        lines.append(f"<li>One reconcile run: parity <b>{finished[0].parity_percent:.2f}%</b>.</li>")
    return f'<ul id="story-lines">{"".join(lines)}</ul>'


def _run_found(run: Run) -> str:
    if run.parity_percent is None:
        return ""
    if not run.found:
        return "nothing"
    columns = f" ({_counts(run.columns)})" if run.columns else ""
    return _counts(run.found, _KIND_WORDS) + columns


def time_labels(moments: list[datetime]) -> list[str]:
    """Labels for moments in UTC, as short as keeps them distinct: ``11-30 05:40``, else with seconds,
    else with the date and time to the millisecond; the chart numbers any that still repeat."""
    for fmt in ("%m-%d %H:%M", "%m-%d %H:%M:%S", "%m-%d %H:%M:%S.%f"):
        labels = [m.astimezone(UTC).strftime(fmt)[: 18 if fmt.endswith("%f") else None] for m in moments]
        if len(set(labels)) == len(labels):
            return labels
    return labels


def gate_html(data: ReportData) -> str:
    if not data.gate:
        return _empty("No store readings.")
    rows = "".join(
        f'<tr class="{"ok" if ok else "fail"}"><td>{"ok" if ok else "FAIL"}</td><td><code>{escape(name)}</code></td>'
        f"<td>{escape(detail)}</td></tr>"
        for name, ok, detail in data.gate
    )
    return (
        f'<table id="gate-checks"><thead><tr><th></th><th>check</th><th>detail</th></tr></thead><tbody>{rows}'
        "</tbody></table><p>From the store alone; <code>parity gate</code> also checks every shard's lag"
        " against the stream (<code>stream_lag</code>).</p>"
    )


def status_html(data: ReportData) -> str:
    if not data.status_history:
        return _empty("No discrepancy recorded yet.")
    history = list(data.status_history)
    if len(history) > 200:  # keep the chart light: every n-th change, and always the last
        every = len(history) // 200 + 1
        history = [*history[::every][:-1], history[-1]] if history[::every][-1] != history[-1] else history[::every]
    labels = distinct_labels(time_labels([at for at, *_ in history]))
    series = {
        "open": [o for _, o, _, _ in history],
        "accepted": [a for _, _, a, _ in history],
        "resolved": [r for _, _, _, r in history],
    }
    return status_chart(labels, series, title="discrepancies by status over time (UTC)")


def render(data: ReportData, *, title: str = "parity report", rules: str | None = None) -> str:
    """The whole page as one string."""
    latest = next((r for r in reversed(data.runs) if r.parity_percent is not None), None)
    tiles = [
        (
            "latest parity",
            f"{latest.parity_percent:.2f}%" if latest and latest.parity_percent is not None else "no run yet",
            "good" if latest and latest.parity_percent == 100 else "bad" if latest else "",
        ),
        ("reconcile runs", str(len(data.runs)), ""),
        ("open discrepancies", str(len(data.open_discrepancies)), "bad" if data.open_discrepancies else "good"),
        ("accepted", str(len(data.accepted_discrepancies)), ""),
        ("resolved", str(data.resolved_count), ""),
        ("pending re-checks", str(data.pending_rechecks), ""),
    ]
    tile_html = "".join(
        f'<div class="tile {cls}" data-tile="{escape(name)}"><span>{escape(name)}</span><b>{escape(value)}</b></div>'
        for name, value, cls in tiles
    )
    finished = [r for r in data.runs if r.parity_percent is not None]
    points = list(zip(time_labels([r.started_at for r in finished]), [r.parity_percent for r in finished], strict=True))
    runs_chart = (
        line_chart([(label, float(v)) for label, v in points if v is not None], title="parity % per reconcile run")
        if points
        else _empty("No finished reconcile run yet: run `parity reconcile`.")
    )
    runs_table = "".join(
        f"<tr><td><code>{escape(r.run_id)}</code></td><td>{escape(r.status)}</td>"
        f"<td>{_when(r.started_at)}</td>"
        f"<td>{_when(r.finished_at) if r.finished_at else ''}</td>"
        f"<td>{'' if r.compared is None else r.compared}</td>"
        f"<td>{'' if r.parity_percent is None else f'{r.parity_percent:.2f}%'}</td><td>{_run_found(r)}</td></tr>"
        for r in reversed(data.runs[-20:])
    )

    runs_html = (
        '<table id="runs"><thead><tr><th>run</th><th>status</th><th>started</th><th>finished</th>'
        f"<th>compared</th><th>parity</th><th>found</th></tr></thead><tbody>{runs_table}</tbody></table>"
        if runs_table
        else ""
    )

    def bars(counts: dict[str, int], name: str, colours: dict[str, str] | None = None) -> str:
        return bar_chart(counts, title=name, colours=colours) if counts else _empty("none open")

    table = (
        discrepancy_table(data.open_discrepancies, "open-discrepancies")
        if data.open_discrepancies
        else _empty("No open discrepancies.")
    )
    accepted_table = (
        discrepancy_table(data.accepted_discrepancies, "accepted-discrepancies", notes=True)
        if data.accepted_discrepancies
        else _empty("No accepted discrepancies.")
    )
    lag_rows = "".join(
        f"<tr><td>{escape(lag.source)}</td><td><code>{escape(lag.name)}</code></td>"
        f"<td>{_when(lag.updated_at)}</td><td>{escape(_duration(lag.seconds))}</td>"
        f"<td><code>{escape(lag.detail)}</code></td></tr>"
        for lag in data.lags
    )
    lag_html = (
        f'<table id="consumer-lag"><thead><tr><th>source</th><th>name</th><th>last progress</th>'
        f"<th>age at report time</th><th>position</th></tr></thead><tbody>{lag_rows}</tbody></table>"
        if data.lags
        else _empty("The stream consumer has not recorded any progress in this store.")
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{escape(title)}</title><style>{CSS}</style></head>
<body><header><h1>{escape(title)}</h1>
<p>DynamoDB compared with PostgreSQL · generated {_when(data.generated_at)} UTC</p></header>
<main>
<section id="summary"><div class="tiles">{tile_html}</div>
<p id="rules">{escape("Column rules in force: " + rules) if rules else "Every mapped column is compared exactly."}</p>
</section>
<section id="story"><h2>What happened</h2>{story_html(data)}</section>
<section id="parity-over-time"><h2>Parity % over reconcile runs</h2>{runs_chart}
{runs_html}
</section>
<section id="gate"><h2>The cutover gate (<code>parity gate</code>, default thresholds)</h2>{gate_html(data)}</section>
<section id="status-over-time"><h2>Discrepancies over time: open, accepted, resolved</h2>{status_html(data)}</section>
<section id="breakdown"><h2>Open discrepancies</h2><div class="row">
<div id="by-entity"><h3>by entity</h3>{bars(data.by_entity, "open discrepancies by entity")}</div>
<div id="by-kind"><h3>by kind</h3>{bars(data.by_kind, "open discrepancies by kind", KIND_COLOURS)}</div>
<div id="by-column"><h3>by differing column</h3>{bars(data.by_column, "open mismatches by column")}</div>
</div></section>
<section id="open"><h2>Open discrepancies ({len(data.open_discrepancies)})</h2>{table}</section>
<section id="accepted"><h2>Accepted discrepancies ({len(data.accepted_discrepancies)})</h2>
<p>Known, tolerated differences (<code>parity discrepancies accept</code>);
a checker reopens one whose values change.</p>
{accepted_table}</section>
<section id="lag"><h2>Consumer lag</h2>{lag_html}</section>
</main></body></html>
"""
