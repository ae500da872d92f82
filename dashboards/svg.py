"""Hand-drawn SVG charts for the offline snapshot: line charts and bar charts.

No JavaScript, no CDN: each function returns a self-contained ``<svg>`` string
that any browser (or a printed report) shows as is.

Examples
--------
>>> svg = bar_chart(["A", "B"], [3, 1])
>>> svg.startswith("<svg") and svg.count("<rect") == 2
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from html import escape

#: Colours with a meaning in the domain (warning levels, grades); others cycle.
NAMED_COLOURS = {
    "red": "#d62728",
    "orange": "#ff7f0e",
    "yellow": "#e5c100",
    "blue": "#1f77b4",
    "A": "#2ca02c",
    "B": "#17becf",
    "C": "#e5a100",
    "D": "#d62728",
}
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")
_FONT = 'font-family="sans-serif" font-size="11"'


def colour(name: str, index: int) -> str:
    """The colour of a series or bar: its domain colour, else the palette's."""
    return NAMED_COLOURS.get(name, PALETTE[index % len(PALETTE)])


def number(value: float) -> str:
    """A compact label: 1234567 -> ``1.23M``, 0.00123 -> ``0.0012``."""
    magnitude = abs(value)
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e4, "k")):
        if magnitude >= limit:
            return f"{value / limit:.3g}{suffix}"
    if magnitude and magnitude < 0.01:
        return f"{value:.2g}"
    return f"{value:.4g}"


def bar_chart(
    labels: Sequence[str], values: Sequence[float], width: int = 420, bar_height: int = 18
) -> str:
    """Horizontal bars, one per label, the value written at the end of each."""
    labels = [label if len(label) <= 26 else label[:25] + "…" for label in labels]
    label_width = 12 + 7 * max((len(label) for label in labels), default=1)
    top = max(values, default=0) or 1
    span = width - label_width - 50
    height = bar_height * len(labels) + 6
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">']
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = 3 + index * bar_height
        length = max(1.0, span * value / top)
        parts.append(
            f'<text x="{label_width - 6}" y="{y + bar_height * 0.7:.1f}" text-anchor="end" '
            f"{_FONT}>{escape(label)}</text>"
            f'<rect x="{label_width}" y="{y + 2}" width="{length:.1f}" '
            f'height="{bar_height - 4}" fill="{colour(label, index)}"/>'
            f'<text x="{label_width + length + 4:.1f}" y="{y + bar_height * 0.7:.1f}" '
            f"{_FONT}>{number(value)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def line_chart(
    series: Mapping[str, Sequence[tuple[datetime, float]]], width: int = 560, height: int = 220
) -> str:
    """One line per series over a shared time axis, with a legend and min/max labels."""
    points = [point for line in series.values() for point in line]
    if not points:
        return f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="40"></svg>'
    left, right, top, bottom = 48, 10, 10, 38
    t0 = min(t for t, _ in points).timestamp()
    t1 = max(t for t, _ in points).timestamp()
    v1 = max(max(v for _, v in points), 0.0)
    v0 = min(min(v for _, v in points), 0.0)
    t_span, v_span = (t1 - t0) or 1.0, (v1 - v0) or 1.0
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(t: datetime) -> float:
        return left + plot_w * (t.timestamp() - t0) / t_span

    def y(v: float) -> float:
        return top + plot_h * (1 - (v - v0) / v_span)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" '
        'stroke="#999"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#999"/>',
        f'<text x="{left - 4}" y="{top + 8}" text-anchor="end" {_FONT}>{number(v1)}</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end" {_FONT}>{number(v0)}</text>',
        f'<text x="{left}" y="{top + plot_h + 14}" {_FONT}>'
        f"{min(t for t, _ in points):%Y-%m-%d}</text>",
        f'<text x="{width - right}" y="{top + plot_h + 14}" text-anchor="end" {_FONT}>'
        f"{max(t for t, _ in points):%Y-%m-%d}</text>",
    ]
    legend_x = left
    for index, (name, line) in enumerate(series.items()):
        stroke = colour(name, index)
        path = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in sorted(line))
        parts.append(
            f'<polyline points="{path}" fill="none" stroke="{stroke}" stroke-width="1.8"/>'
        )
        parts.append(
            f'<rect x="{legend_x}" y="{height - 12}" width="10" height="10" fill="{stroke}"/>'
            f'<text x="{legend_x + 14}" y="{height - 3}" {_FONT}>{escape(name)}</text>'
        )
        legend_x += 24 + 7 * len(name)
    parts.append("</svg>")
    return "".join(parts)
