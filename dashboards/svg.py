"""Hand-drawn SVG charts for the offline snapshot: line charts and bar charts.

No JavaScript, no CDN: each function returns a self-contained ``<svg>`` string
that any browser (or a printed report) shows as is.

Examples
--------
>>> svg = bar_chart(["A", "B"], [36648, 1], names={"A": "甲"})
>>> svg.startswith("<svg") and svg.count("<rect") == 2 and "36,648" in svg and "甲" in svg
True
"""

from __future__ import annotations

import math
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
    """A figure as it is, with thousands separators: never scaled, never abbreviated.

    Whole numbers are written in full; others keep two decimals from 1 up and four
    significant digits below 1 (without an exponent).

    >>> number(36648), number(215483.0), number(-1234567)
    ('36,648', '215,483', '-1,234,567')
    >>> number(12.3456), number(0.0712), number(0.00001234), number(0)
    ('12.35', '0.0712', '0.00001234', '0')
    >>> number(0.999999)
    '1'
    """
    if not math.isfinite(value):
        return str(value)
    if value == int(value):
        return f"{int(value):,}"
    magnitude = abs(value)
    if magnitude >= 1:
        return f"{value:,.2f}"
    decimals = 3 - math.floor(math.log10(magnitude))
    return f"{value:.{decimals}f}".rstrip("0").rstrip(".")


def text_width(label: str) -> int:
    """Pixels ``label`` takes at the charts' font size: CJK characters are twice as wide.

    >>> text_width("A1"), text_width("东港区")
    (14, 36)
    """
    return sum(12 if ord(char) >= 0x2E80 else 7 for char in label)


def _clip(label: str, limit: int = 26) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def bar_chart(
    keys: Sequence[str],
    values: Sequence[float],
    width: int = 420,
    bar_height: int = 18,
    names: Mapping[str, str] | None = None,
    links: Mapping[str, str] | None = None,
    value_title: str = "",
) -> str:
    """Horizontal bars, one per key (shown by its name), the value written at the end of each.

    A key with a link opens it; ``value_title`` names the values under the bars.
    """
    labels = [_clip((names or {}).get(key, key)) for key in keys]
    label_width = 12 + max((text_width(label) for label in labels), default=7)
    top = max(values, default=0) or 1
    span = width - label_width - 12 - max((text_width(number(v)) for v in values), default=7)
    height = bar_height * len(labels) + 6 + (16 if value_title else 0)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">']
    for index, (key, label, value) in enumerate(zip(keys, labels, values, strict=True)):
        y = 3 + index * bar_height
        length = max(1.0, span * value / top)
        shown = f'<text x="{label_width - 6}" y="{y + bar_height * 0.7:.1f}" text-anchor="end" '
        shown += f'class="bar-label" {_FONT}>{escape(label)}</text>'
        href = (links or {}).get(key)
        if href:
            shown = f'<a href="{escape(href)}">{shown}</a>'
        parts.append(
            shown + f'<rect x="{label_width}" y="{y + 2}" width="{length:.1f}" '
            f'height="{bar_height - 4}" fill="{colour(key, index)}"/>'
            f'<text x="{label_width + length + 4:.1f}" y="{y + bar_height * 0.7:.1f}" '
            f'class="bar-value" {_FONT}>{number(value)}</text>'
        )
    if value_title:
        parts.append(
            f'<text x="{label_width}" y="{height - 4}" class="axis-title" {_FONT}>'
            f"{escape(value_title)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def line_chart(
    series: Mapping[str, Sequence[tuple[datetime, float]]],
    width: int = 560,
    height: int = 220,
    names: Mapping[str, str] | None = None,
    x_title: str = "",
    y_title: str = "",
) -> str:
    """One line per series over a shared time axis, with axis titles, a legend and min/max.

    Series are keyed (their colour follows the key); ``names`` gives what the legend
    shows. Times are drawn in the zone they carry.
    """
    points = [point for line in series.values() for point in line]
    if not points:
        return f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="40"></svg>'
    v1 = max(max(v for _, v in points), 0.0)
    v0 = min(min(v for _, v in points), 0.0)
    left = 26 + max(text_width(number(v1)), text_width(number(v0)))
    legend = [(key, _clip((names or {}).get(key, key), 20)) for key in series]
    rows: list[list[tuple[str, str]]] = [[]]
    used = left
    for key, name in legend:
        step = 24 + text_width(name)
        if used + step > width and rows[-1]:
            rows.append([])
            used = left
        rows[-1].append((key, name))
        used += step
    right, top, bottom = 10, 10, 34 + 14 * len(rows)
    height = max(height, top + bottom + 120)
    first, last = min(t for t, _ in points), max(t for t, _ in points)
    t0, t1 = first.timestamp(), last.timestamp()
    t_span, v_span = (t1 - t0) or 1.0, (v1 - v0) or 1.0
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(t: datetime) -> float:
        return left + plot_w * (t.timestamp() - t0) / t_span

    def y(v: float) -> float:
        return top + plot_h * (1 - (v - v0) / v_span)

    base = top + plot_h
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">',
        f'<line x1="{left}" y1="{base}" x2="{width - right}" y2="{base}" stroke="#999"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{base}" stroke="#999"/>',
        f'<text x="{left - 4}" y="{top + 8}" text-anchor="end" class="axis-max" {_FONT}>'
        f"{number(v1)}</text>",
        f'<text x="{left - 4}" y="{base}" text-anchor="end" class="axis-min" {_FONT}>'
        f"{number(v0)}</text>",
        f'<text x="{left}" y="{base + 14}" {_FONT}>{first:%Y-%m-%d}</text>',
        f'<text x="{width - right}" y="{base + 14}" text-anchor="end" {_FONT}>'
        f"{last:%Y-%m-%d}</text>",
        f'<text x="{left + plot_w / 2:.0f}" y="{base + 14}" text-anchor="middle" '
        f'class="axis-title" {_FONT}>{escape(x_title)}</text>',
        f'<text transform="translate(12 {top + plot_h / 2:.0f}) rotate(-90)" '
        f'text-anchor="middle" class="axis-title" {_FONT}>{escape(y_title)}</text>',
    ]
    for index, (key, line) in enumerate(series.items()):
        path = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in sorted(line))
        parts.append(
            f'<polyline points="{path}" fill="none" stroke="{colour(key, index)}" '
            'stroke-width="1.8"/>'
        )
    index = 0
    for row_number, row in enumerate(rows):
        legend_x, legend_y = left, base + 30 + 14 * row_number
        for key, name in row:
            parts.append(
                f'<rect x="{legend_x}" y="{legend_y - 9}" width="10" height="10" '
                f'fill="{colour(key, index)}"/>'
                f'<text x="{legend_x + 14}" y="{legend_y}" {_FONT}>{escape(name)}</text>'
            )
            legend_x += 24 + text_width(name)
            index += 1
    parts.append("</svg>")
    return "".join(parts)
