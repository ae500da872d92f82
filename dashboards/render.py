"""One panel of the offline snapshot as HTML, drawn from the rows its own SQL returned.

Stat tiles are coloured against their target, time series become line charts,
bar and pie panels horizontal bars, tables tables. Every figure is written in
full with thousands separators (:func:`~creditbrain.dashboards.svg.number`),
times in Beijing time, keys by their names (:mod:`.names`), and the drill-down
links of a panel point at the snapshot's page for the row's key when there is one.
Figures carry a class (``value``, ``bar-value``, ``axis-max``, ``cell``) so a test
can read each one back and hold it against the query result.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from html import escape
from zoneinfo import ZoneInfo

from creditbrain.dashboards.model import Link, Panel
from creditbrain.dashboards.names import TIME_ZONE, Lang, column, shown, text, value_names
from creditbrain.dashboards.svg import bar_chart, line_chart, number

Row = Mapping[str, object]
#: The page of a link for a row, or None when the snapshot has no such page.
Resolve = Callable[[Link, Row], str | None]

PAGE_WIDTH = 1360
TABLE_ROWS = 12
ZONE = ZoneInfo(TIME_ZONE)


def panel_html(panel: Panel, rows: Sequence[Row], lang: Lang, resolve: Resolve, key: str) -> str:
    """The panel's ``<div>``; ``key`` identifies it on the page (``data-panel``)."""
    width = panel.grid.w * PAGE_WIDTH // 24 - 20
    columns = panel.queries[0].columns
    if panel.type == "stat":
        return _stat(panel, rows, lang, key)
    if not rows:
        body = f'<div class="empty">{escape(text("No data", lang))}</div>'
    elif panel.type == "timeseries":
        names = value_names(columns[1], lang) if len(columns) == 3 else {}
        if len(columns) != 3:
            names = {name: column(name, lang) for name in columns[1:]}
        body = line_chart(
            _series(rows, columns),
            width=width,
            names=names,
            x_title=text("Time", lang),
            y_title=column(columns[-1], lang),
        )
    elif panel.type in ("barchart", "piechart", "bargauge"):
        keys = [str(row[columns[0]]) for row in rows]
        links = {}
        for link in panel.links:
            if link.column == columns[0]:
                for key_value, row in zip(keys, rows, strict=True):
                    href = resolve(link, row)
                    if href:
                        links[key_value] = href
        body = bar_chart(
            keys,
            [as_float(row[columns[1]]) for row in rows],
            width=width,
            names=value_names(columns[0], lang),
            links=links,
            value_title=column(columns[1], lang),
        )
    else:
        body = _table(panel, rows, lang, resolve)
    return (
        f'<div class="panel" data-panel="{escape(key)}" style="grid-column: span {panel.grid.w}">'
        f"<h2>{escape(text(panel.title, lang))}</h2>{body}</div>"
    )


def as_float(value: object) -> float:
    """A numeric cell as a float (ClickHouse returns ints, floats and decimals)."""
    if isinstance(value, bool | int | float | Decimal):
        return float(value)
    return float(str(value))


def cell(name: str, value: object, lang: Lang) -> str:
    """How a table cell is shown: names for keys, full figures, Beijing time."""
    if value is None:
        return "–"
    if isinstance(value, datetime):
        return f"{value.astimezone(ZONE):%Y-%m-%d %H:%M}"
    if isinstance(value, date):
        return f"{value:%Y-%m-%d}"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float | Decimal):
        return number(float(value))
    return shown(name, value, lang)


def _stat(panel: Panel, rows: Sequence[Row], lang: Lang, key: str) -> str:
    name = panel.queries[0].columns[0]
    raw = rows[0][name] if rows else None
    value = None if raw is None or isinstance(raw, str) else as_float(raw)
    if value is not None and math.isnan(value):
        value = None  # a quantile of no rows
    verdict = ""
    if value is not None and panel.good_from is not None:
        verdict = "good" if value >= panel.good_from else "bad"
    elif value is not None and panel.good_until is not None:
        verdict = "good" if value < panel.good_until else "bad"
    if isinstance(raw, str):
        figure = shown(name, raw, lang)
    elif value is None:
        figure = "–"
    else:
        figure = number(value) + (" %" if panel.unit == "percent" else "")
    notes = []
    if panel.target:
        notes.append(f"{text('Plan target', lang)}: {text(panel.target, lang)}")
    if panel.description:
        notes.append(text(panel.description, lang))
    note = "".join(f'<div class="target">{escape(n)}</div>' for n in notes)
    return (
        f'<div class="panel stat {verdict}" data-panel="{escape(key)}" '
        f'style="grid-column: span {panel.grid.w}">'
        f'<h2>{escape(text(panel.title, lang))}</h2><div class="value">{escape(figure)}</div>'
        f"{note}</div>"
    )


def _series(rows: Sequence[Row], columns: Sequence[str]) -> dict[str, list[tuple[datetime, float]]]:
    """Rows of (time, key, value) or (time, value, value...) as keyed point lists."""
    lines: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
    for row in rows:
        time = row[columns[0]]
        if not isinstance(time, datetime):
            raise TypeError(f"column {columns[0]!r} holds {type(time).__name__}, not a time")
        time = time.astimezone(ZONE)
        if len(columns) == 3 and isinstance(row[columns[1]], str):
            lines[str(row[columns[1]])].append((time, as_float(row[columns[2]])))
        else:
            for name in columns[1:]:
                lines[name].append((time, as_float(row[name])))
    return dict(lines)


def _table(panel: Panel, rows: Sequence[Row], lang: Lang, resolve: Resolve) -> str:
    names = panel.queries[0].columns
    head = "".join(f"<th>{escape(column(name, lang))}</th>" for name in names)
    body = []
    for row in rows[:TABLE_ROWS]:
        cells = []
        for name in names:
            shown_text = escape(cell(name, row[name], lang))
            for link in panel.links:
                href = resolve(link, row) if link.column == name else None
                if href:
                    shown_text = f'<a href="{escape(href)}">{shown_text}</a>'
                    break
            cells.append(f'<td class="cell" data-column="{escape(name)}">{shown_text}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    more = len(rows) - TABLE_ROWS
    tail = ""
    if more > 0:
        tail = f'<div class="empty">{more} {escape(text("more rows in Grafana", lang))}</div>'
    return f"<table><tr>{head}</tr>{''.join(body)}</table>{tail}"
