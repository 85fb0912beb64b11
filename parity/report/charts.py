"""Inline SVG charts drawn in Python: no script, no network, every label HTML-escaped.

Pure functions from numbers to SVG text, so they are unit-tested without a browser; the browser test
checks that they render.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

PALETTE = ("#2563eb", "#dc2626", "#d97706", "#059669", "#7c3aed", "#db2777", "#0891b2", "#65a30d")
KIND_COLOURS = {"missing_in_postgres": "#dc2626", "missing_in_dynamodb": "#d97706", "mismatched": "#7c3aed"}


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def percent_axis(values: Sequence[float]) -> tuple[float, float]:
    """(lowest tick, tick step) of a parity axis that ends at 100 % with four round steps.

    The step is the smallest of 0.1, 0.2, 0.5, 1, 2, 5, 10, 25 % whose four steps reach below the
    lowest value (with a little room), so the axis starts at a round number (96 %, 80 %, 0 %), never
    at an arbitrary 89.3 %; from 50 % down it starts at 0.
    """
    lowest = min([100.0, *values])
    need = (100.0 - lowest) * 1.1 or 4.0  # every run at 100 %: 96-100 %, in 1 % steps
    for step in (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 25.0):
        if 4 * step >= need and 100.0 - 4 * step <= lowest:
            return round(100.0 - 4 * step, 6), step
    return 0.0, 25.0


def distinct_labels(labels: Sequence[str]) -> list[str]:
    """Labels made distinct: a repeated label gets ``#2``, ``#3``... so no two points read the same."""
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        out.append(label if seen[label] == 1 else f"{label} #{seen[label]}")
    return out


def line_chart(points: Sequence[tuple[str, float]], *, title: str, width: int = 720, height: int = 260) -> str:
    """Parity % per run as a line with dots; the y axis ends at 100 % in round steps (:func:`percent_axis`)."""
    left, right, top, bottom = 56, 40, 28, 48
    plot_w, plot_h = width - left - right, height - top - bottom
    low, step = percent_axis([v for _, v in points])
    span = 100.0 - low or 1.0
    labels = distinct_labels([label for label, _ in points])
    points = [(label, v) for label, (_, v) in zip(labels, points, strict=True)]

    def x(i: int) -> float:
        inner = plot_w - 2 * 36  # room for the first and last labels inside the plot
        return left + 36 + (inner / 2 if len(points) == 1 else inner * i / (len(points) - 1))

    def y(v: float) -> float:
        return top + plot_h * (100.0 - v) / span

    parts = [
        f'<svg class="chart line-chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}"'
        f' width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#f8fafc" stroke="#cbd5e1"/>',
    ]
    for k in range(5):
        value = low + step * k
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{_num(y(value))}" y2="{_num(y(value))}" stroke="#e2e8f0"/>'
            f'<text x="{left - 6}" y="{_num(y(value) + 4)}" text-anchor="end" class="axis">{_num(value)}%</text>'
        )
    if points:
        path = " ".join(f"{'M' if i == 0 else 'L'}{_num(x(i))},{_num(y(v))}" for i, (_, v) in enumerate(points))
        area = f"{path} L{_num(x(len(points) - 1))},{top + plot_h} L{_num(x(0))},{top + plot_h} Z"
        parts.append(f'<path d="{area}" fill="#2563eb" fill-opacity="0.12" stroke="none"/>')
        parts.append(f'<path class="series" d="{path}" fill="none" stroke="#2563eb" stroke-width="2.5"/>')
        every = max(1, len(points) // 8)
        for i, (label, value) in enumerate(points):
            colour = "#059669" if value >= 100 else "#2563eb"
            parts.append(
                f'<circle class="point" cx="{_num(x(i))}" cy="{_num(y(value))}" r="4.5" fill="{colour}">'
                f"<title>{escape(label)}: {value:.2f}%</title></circle>"
            )
            if i % every == 0 or i == len(points) - 1:
                parts.append(
                    f'<text x="{_num(x(i))}" y="{top + plot_h + 18}" text-anchor="middle" class="axis">'
                    f"{escape(label)}</text>"
                    f'<text x="{_num(x(i))}" y="{_num(y(value) - 9)}" text-anchor="middle" class="value">'
                    f"{value:.2f}%</text>"
                )
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(
    counts: dict[str, int],
    *,
    title: str,
    colours: dict[str, str] | None = None,
    width: int = 460,
    limit: int = 12,
) -> str:
    """Horizontal bars, largest first, at most ``limit`` rows (the rest summed as "others")."""
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    if len(items) > limit:
        items = [*items[: limit - 1], (f"{len(items) - limit + 1} others", sum(v for _, v in items[limit - 1 :]))]
    row, label_w, top = 26, 170, 8
    height = top * 2 + row * max(1, len(items))
    plot_w = width - label_w - 56
    biggest = max([1, *(v for _, v in items)])
    parts = [
        f'<svg class="chart bar-chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}"'
        f' width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for i, (label, value) in enumerate(items):
        colour = (colours or {}).get(label, PALETTE[i % len(PALETTE)])
        y = top + i * row
        bar = max(2.0, plot_w * value / biggest)
        shown = label if len(label) <= 24 else label[:23] + "…"
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 17}" text-anchor="end" class="label">{escape(shown)}</text>'
            f'<rect class="bar" x="{label_w}" y="{y + 4}" width="{_num(bar)}" height="{row - 8}" rx="3"'
            f' fill="{colour}"><title>{escape(label)}: {value}</title></rect>'
            f'<text x="{_num(label_w + bar + 6)}" y="{y + 17}" class="value">{value}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


SERIES_COLOURS = {"open": "#dc2626", "accepted": "#d97706", "resolved": "#059669"}


def count_axis(biggest: int) -> tuple[int, int]:
    """(top tick, step) of a count axis from 0 in four round steps (1, 2, 5, 10, 20, 50, ...)."""
    step = 1
    while 4 * step < biggest:
        for factor in (2, 5 / 2, 2):  # 1, 2, 5, 10, 20, 50, ...
            step = int(step * factor)
            if 4 * step >= biggest:
                break
    return 4 * step, step


def status_chart(
    times: Sequence[str], series: Mapping[str, Sequence[int]], *, title: str, width: int = 720, height: int = 260
) -> str:
    """Discrepancies by status over time: one step line per status, y from 0 in round steps.

    ``times`` are the (already distinct, ordered) labels of the moments the counts changed.
    """
    left, right, top, bottom = 56, 110, 20, 48
    plot_w, plot_h = width - left - right, height - top - bottom
    biggest = max([1, *(v for values in series.values() for v in values)])
    top_tick, step = count_axis(biggest)

    def x(i: int) -> float:
        return left + (plot_w / 2 if len(times) == 1 else plot_w * i / (len(times) - 1))

    def y(v: float) -> float:
        return top + plot_h * (1 - v / top_tick)

    parts = [
        f'<svg class="chart status-chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}"'
        f' width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#f8fafc" stroke="#cbd5e1"/>',
    ]
    for k in range(5):
        value = step * k
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{_num(y(value))}" y2="{_num(y(value))}" stroke="#e2e8f0"/>'
            f'<text x="{left - 6}" y="{_num(y(value) + 4)}" text-anchor="end" class="axis">{value}</text>'
        )
    every = max(1, len(times) // 6)
    for i, label in enumerate(times):
        if i % every == 0 or i == len(times) - 1:
            parts.append(
                f'<text x="{_num(x(i))}" y="{top + plot_h + 18}" text-anchor="middle" class="axis">'
                f"{escape(label)}</text>"
            )
    for row, (name, values) in enumerate(series.items()):
        colour = SERIES_COLOURS.get(name, PALETTE[row % len(PALETTE)])
        path = []
        for i, value in enumerate(values):
            if i == 0:
                path.append(f"M{_num(x(0))},{_num(y(value))}")
            else:  # a step: the count holds until the next change
                path.append(f"H{_num(x(i))} V{_num(y(value))}")
        parts.append(
            f'<path class="series status-{escape(name)}" d="{" ".join(path)}" fill="none" stroke="{colour}"'
            f' stroke-width="2.5"><title>{escape(name)}</title></path>'
            f'<text x="{left + plot_w + 10}" y="{top + 14 + 18 * row}" class="label" fill="{colour}">'
            f"{escape(name)} {values[-1] if values else 0}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
