"""An offline HTML rendition of the city overview, for places without Grafana.

It runs the city overview's own panel SQL (macros expanded as the plugin would,
over the year before ``now``) and draws each panel the way Grafana would show it:
stat tiles coloured against the plan's targets, line charts, bar charts (pie
panels become bars: easier to read offline) and tables. One self-contained HTML
file, no script and no network, so it can be mailed, archived or printed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from html import escape
from pathlib import Path

from creditbrain.dashboards.city import city_overview
from creditbrain.dashboards.macros import TimeWindow, expand
from creditbrain.dashboards.model import Panel
from creditbrain.dashboards.svg import bar_chart, line_chart, number
from creditbrain.infra.store import Store

FILE_NAME = "city-overview.html"
_PAGE_WIDTH = 1360
_TABLE_ROWS = 12

Row = Mapping[str, object]

_STYLE = """
body { font-family: sans-serif; margin: 16px; background: #f4f5f7; color: #222; }
h1 { font-size: 20px; margin: 0 0 4px; } .sub { color: #666; margin-bottom: 12px; }
.grid { display: grid; grid-template-columns: repeat(24, 1fr); gap: 8px; }
.panel { background: #fff; border: 1px solid #ddd; border-radius: 4px; padding: 8px;
         overflow: hidden; }
.panel h2 { font-size: 13px; margin: 0 0 6px; }
.stat .value { font-size: 28px; font-weight: bold; }
.stat .target { color: #666; font-size: 12px; }
.good { border-top: 4px solid #2ca02c; } .bad { border-top: 4px solid #d62728; }
table { border-collapse: collapse; font-size: 11px; width: 100%; }
th, td { border-bottom: 1px solid #eee; padding: 2px 4px; text-align: left; white-space: nowrap;
         max-width: 260px; overflow: hidden; text-overflow: ellipsis; }
.empty { color: #999; font-size: 12px; }
"""


def render_snapshot(store: Store, out_dir: Path, now: datetime) -> Path:
    """Write the city overview as of ``now`` to ``out_dir/city-overview.html``; its path."""
    board = city_overview()
    window = TimeWindow(now - timedelta(days=365), now, 7 * 86_400)
    cells = [_panel_html(panel, _rows(store, panel, window)) for panel in board.panels]
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(board.title)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{escape(board.title)}</h1>"
        f'<div class="sub">{escape(board.description)} Offline snapshot of '
        f"{window.start:%Y-%m-%d} – {window.end:%Y-%m-%d %H:%M} UTC, "
        f"database {escape(store.database)}.</div>"
        f'<div class="grid">{"".join(cells)}</div></body></html>'
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / FILE_NAME
    path.write_text(page, encoding="utf-8")
    return path


def _rows(store: Store, panel: Panel, window: TimeWindow) -> Sequence[Row]:
    return store.query_rows(expand(panel.queries[0].sql, window))


def _panel_html(panel: Panel, rows: Sequence[Row]) -> str:
    width = panel.grid.w * _PAGE_WIDTH // 24 - 20
    columns = panel.queries[0].columns
    if panel.type == "stat":
        return _stat(panel, rows)
    if not rows:
        body = '<div class="empty">No data</div>'
    elif panel.type == "timeseries":
        body = line_chart(_series(rows, columns), width=width)
    elif panel.type in ("barchart", "piechart", "bargauge"):
        labels = [str(row[columns[0]]) for row in rows]
        body = bar_chart(labels, [float(str(row[columns[1]])) for row in rows], width=width)
    else:
        body = _table(rows)
    return (
        f'<div class="panel" style="grid-column: span {panel.grid.w}">'
        f"<h2>{escape(panel.title)}</h2>{body}</div>"
    )


def _stat(panel: Panel, rows: Sequence[Row]) -> str:
    column = panel.queries[0].columns[0]
    raw = rows[0][column] if rows else None
    value = float(str(raw)) if raw is not None else None
    verdict = ""
    if value is not None and panel.good_from is not None:
        verdict = "good" if value >= panel.good_from else "bad"
    elif value is not None and panel.good_until is not None:
        verdict = "good" if value < panel.good_until else "bad"
    shown = "–" if value is None else number(value) + (" %" if panel.unit == "percent" else "")
    return (
        f'<div class="panel stat {verdict}" style="grid-column: span {panel.grid.w}">'
        f'<h2>{escape(panel.title)}</h2><div class="value">{escape(shown)}</div>'
        f'<div class="target">{escape(panel.description)}</div></div>'
    )


def _series(rows: Sequence[Row], columns: Sequence[str]) -> dict[str, list[tuple[datetime, float]]]:
    """Rows of (time, name, value) or (time, value, value...) as named point lists."""
    lines: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
    for row in rows:
        time = row[columns[0]]
        if not isinstance(time, datetime):
            raise TypeError(f"column {columns[0]!r} holds {type(time).__name__}, not a time")
        if len(columns) == 3 and isinstance(row[columns[1]], str):
            lines[str(row[columns[1]])].append((time, float(str(row[columns[2]]))))
        else:
            for name in columns[1:]:
                lines[name].append((time, float(str(row[name]))))
    return dict(lines)


def _table(rows: Sequence[Row]) -> str:
    names = list(rows[0])
    head = "".join(f"<th>{escape(name)}</th>" for name in names)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(_cell(row[name]))}</td>" for name in names) + "</tr>"
        for row in rows[:_TABLE_ROWS]
    )
    more = len(rows) - _TABLE_ROWS
    tail = f'<div class="empty">{more} more rows in Grafana</div>' if more > 0 else ""
    return f"<table><tr>{head}</tr>{body}</table>{tail}"


def _cell(value: object) -> str:
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    if isinstance(value, float):
        return number(value)
    return str(value)
