"""Inline SVG charts drawn in Python: no script, no network, every label HTML-escaped.

Pure functions from numbers to SVG text, so they are unit-tested without a browser; the browser test
checks that they render.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

PALETTE = ("#2563eb", "#dc2626", "#d97706", "#059669", "#7c3aed", "#db2777", "#0891b2", "#65a30d")
KIND_COLOURS = {"missing_in_postgres": "#dc2626", "missing_in_dynamodb": "#d97706", "mismatched": "#7c3aed"}


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def line_chart(points: Sequence[tuple[str, float]], *, title: str, width: int = 720, height: int = 260) -> str:
    """Parity % per run as a line with dots, y from the lowest value (at most 90) to 100."""
    left, right, top, bottom = 56, 40, 28, 48
    plot_w, plot_h = width - left - right, height - top - bottom
    low = min([90.0, *(v for _, v in points)])
    low = max(0.0, low - (100.0 - low) * 0.1) if low < 100 else 90.0
    span = 100.0 - low or 1.0

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
    for step in range(5):
        value = low + span * step / 4
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
