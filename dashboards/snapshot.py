"""An offline HTML rendition of every dashboard, for places without Grafana.

It runs each dashboard's own panel SQL (macros expanded as the plugin would) and
draws each panel the way Grafana would show it (:mod:`.render`): one page for the
city overview (``city-overview.html``, the entry), department data quality and
pipeline health, one per district and per sector with subjects, and one per subject
that a rendered table links to. The drill-down links of the dashboards become
links between these pages. No script and no network, so it can be mailed,
archived or printed.

Event-time dashboards are drawn as of the data's end in event time (the latest
``occurred_at``), over the year before it: a replayed or simulated year is shown
as it ended, not as of a later day that holds none of it. Pipeline health is about
processing time and is drawn over the six hours before now.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path

from creditbrain.dashboards.catalogue import dashboards
from creditbrain.dashboards.city import UID as CITY_UID
from creditbrain.dashboards.macros import TimeWindow, expand
from creditbrain.dashboards.model import Dashboard, Link, Panel
from creditbrain.dashboards.names import Lang, shown, text
from creditbrain.dashboards.render import ZONE, Row, panel_html
from creditbrain.dashboards.supervision import DISTRICT_UID, SECTOR_UID
from creditbrain.infra.store import Store

FILE_NAME = "city-overview.html"
#: Subject pages are drawn for the subjects the other pages link to, up to this many.
MAX_SUBJECT_PAGES = 40
_SUBJECT_UID = "cb-subject"

_STYLE = """
body { font-family: "Noto Sans CJK SC", "WenQuanYi Zen Hei", "Microsoft YaHei", sans-serif;
       margin: 16px; background: #f4f5f7; color: #222; }
h1 { font-size: 20px; margin: 0 0 4px; } .sub { color: #666; margin-bottom: 8px; }
nav { font-size: 12px; margin-bottom: 12px; line-height: 1.8; } nav a { margin-right: 10px; }
.grid { display: grid; grid-template-columns: repeat(24, minmax(0, 1fr)); gap: 8px; }
.panel { background: #fff; border: 1px solid #ddd; border-radius: 4px; padding: 8px;
         overflow-x: auto; min-width: 0; }
.panel h2 { font-size: 13px; margin: 0 0 6px; }
.panel svg { max-width: 100%; height: auto; }
.stat .value { font-size: 26px; font-weight: bold; }
.stat .target { color: #666; font-size: 11px; }
.good { border-top: 4px solid #2ca02c; } .bad { border-top: 4px solid #d62728; }
table { border-collapse: collapse; font-size: 11px; width: 100%; }
th, td { border-bottom: 1px solid #eee; padding: 2px 4px; text-align: left;
         overflow-wrap: anywhere; }
.empty { color: #999; font-size: 12px; }
"""


@dataclass(frozen=True)
class Page:
    """One dashboard with its variables set, and the file it is written to."""

    board: Dashboard
    variables: Mapping[str, str] = field(default_factory=dict)

    @property
    def file(self) -> str:
        if self.board.uid == CITY_UID:
            return FILE_NAME
        suffix = "".join(f"-{v}" for v in self.variables.values() if v != "*")
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in suffix)
        return f"{self.board.uid.removeprefix('cb-')}{safe}.html"


def data_end(store: Store) -> datetime:
    """The data's end in event time: the latest ``occurred_at`` (now when empty)."""
    rows = store.query_rows("SELECT max(occurred_at) AS end, count() AS n FROM events")
    end = rows[0]["end"]
    if not rows[0]["n"] or not isinstance(end, datetime):
        return datetime.now(UTC)
    return end if end.tzinfo else end.replace(tzinfo=UTC)


def event_window(as_of: datetime) -> TimeWindow:
    """The event-time dashboards' window: the year before ``as_of``, weekly buckets."""
    return TimeWindow(as_of - timedelta(days=365), as_of, 7 * 86_400)


def processing_window(now: datetime) -> TimeWindow:
    """The processing-time dashboards' window: the six hours before ``now``."""
    return TimeWindow(now - timedelta(hours=6), now, 600)


def render_snapshot(
    store: Store, out_dir: Path, as_of: datetime | None = None, lang: Lang = "zh"
) -> Path:
    """Write every dashboard's pages to ``out_dir``; the path of the city overview.

    ``as_of`` defaults to the data's end in event time (:func:`data_end`).
    """
    snapshot = _Snapshot(store, as_of or data_end(store), lang)
    return snapshot.write(out_dir)


class _Snapshot:
    """The pages, the rows of their panels, and the links between them."""

    def __init__(self, store: Store, as_of: datetime, lang: Lang) -> None:
        self.store, self.as_of, self.lang = store, as_of, lang
        self.boards = {board.uid: board for board in dashboards()}
        self.pages: dict[tuple[str, tuple[str, ...]], Page] = {}
        self.wanted_subjects: list[str] = []
        self.processing = processing_window(datetime.now(UTC))
        districts = self._keys("SELECT DISTINCT district AS k FROM entity_state ORDER BY k")
        sectors = self._keys("SELECT DISTINCT sector AS k FROM entity_state ORDER BY k")
        for uid in self.boards:
            if uid == DISTRICT_UID:
                for district in districts:
                    self._add(uid, {"district": district, "sector": "*"})
            elif uid == SECTOR_UID:
                for sector in sectors:
                    self._add(uid, {"sector": sector, "district": "*"})
            elif uid != _SUBJECT_UID:
                # Other boards at their defaults ("All" where a variable offers it).
                defaults = {v.name: v.default for v in self.boards[uid].variables if v.default}
                self._add(uid, defaults)

    def _keys(self, sql: str) -> list[str]:
        return [str(row["k"]) for row in self.store.query_rows(sql)]

    def _add(self, uid: str, variables: Mapping[str, str]) -> None:
        key = (uid, *(variables.get(v.name, "*") for v in self.boards[uid].variables))
        self.pages.setdefault((uid, key[1:]), Page(self.boards[uid], dict(variables)))

    def resolve(self, link: Link, row: Row) -> str | None:
        """The page a link opens for ``row`` (sector pages are drawn for every district)."""
        values = {name: str(row[source]) for name, source in link.variables if source in row}
        if link.dashboard == _SUBJECT_UID and "subject_id" in values:
            subject = values["subject_id"]
            if subject not in self.wanted_subjects:
                if len(self.wanted_subjects) >= MAX_SUBJECT_PAGES:
                    return None
                self.wanted_subjects.append(subject)
            return Page(self.boards[_SUBJECT_UID], {"subject_id": subject}).file
        board = self.boards[link.dashboard]
        wanted = tuple(
            values.get(v.name, "*") if link.dashboard != SECTOR_UID or v.name == "sector" else "*"
            for v in board.variables
        )
        page = self.pages.get((link.dashboard, wanted))
        return page.file if page else None

    def window(self, board: Dashboard) -> TimeWindow:
        if board.event_time:
            return event_window(self.as_of)
        return self.processing

    def write(self, out_dir: Path) -> Path:
        out_dir.mkdir(parents=True, exist_ok=True)
        done: set[str] = set()
        queue = list(self.pages.values())
        while queue:
            page = queue.pop(0)
            self._write_page(out_dir, page)
            done.add(page.file)
            if not queue:
                queue = [
                    Page(self.boards[_SUBJECT_UID], {"subject_id": subject})
                    for subject in self.wanted_subjects
                    if Page(self.boards[_SUBJECT_UID], {"subject_id": subject}).file not in done
                ]
        return out_dir / FILE_NAME

    def _write_page(self, out_dir: Path, page: Page) -> None:
        board, lang = page.board, self.lang
        window = self.window(board)
        cells = [
            panel_html(panel, self.rows(panel, window, page.variables), lang, self.resolve, key)
            for key, panel in _keyed(board.panels)
        ]
        chosen = ", ".join(
            f"{text(v.label, lang)}: {shown(v.name, page.variables[v.name], lang)}"
            if page.variables[v.name] != "*"
            else f"{text(v.label, lang)}: {text('All', lang)}"
            for v in board.variables
        )
        title = text(board.title, lang) + (f" · {chosen}" if chosen else "")
        start, end = window.start.astimezone(ZONE), window.end.astimezone(ZONE)
        sub = (
            f"{text(board.description, lang)} {text('Offline snapshot as of', lang)} "
            f"{end:%Y-%m-%d %H:%M} ({ZONE.key}); {text('time range', lang)} "
            f"{start:%Y-%m-%d} – {end:%Y-%m-%d}."
        )
        # What the page was drawn from, so that a reader (or a test) can run it again.
        drawn_from = json.dumps(
            {
                "dashboard": board.uid,
                "variables": dict(page.variables),
                "window": [window.start_s, window.end_s, window.interval_s],
            }
        )
        page_html = (
            f'<!doctype html><html lang="{"zh-CN" if lang == "zh" else "en"}"><head>'
            f'<meta charset="utf-8"><meta name="creditbrain-snapshot" '
            f'content="{escape(drawn_from)}"><title>{escape(title)}</title><style>{_STYLE}</style>'
            f"</head><body><h1>{escape(title)}</h1>"
            f'<div class="sub">{escape(sub)}</div>{self._nav()}'
            f'<div class="grid">{"".join(cells)}</div></body></html>'
        )
        (out_dir / page.file).write_text(page_html, encoding="utf-8")

    def _nav(self) -> str:
        links = []
        for page in self.pages.values():
            label = text(page.board.title, self.lang).split(" · ")[-1]
            shown_vars = [
                shown(name, value, self.lang)
                for name, value in page.variables.items()
                if value != "*"
            ]
            if shown_vars:
                label = " · ".join(shown_vars)
            links.append(f'<a href="{escape(page.file)}">{escape(label)}</a>')
        return f"<nav>{escape(text('Dashboards', self.lang))}: {''.join(links)}</nav>"

    def rows(self, panel: Panel, window: TimeWindow, variables: Mapping[str, str]) -> Sequence[Row]:
        """The rows of the panel's (first) query."""
        return self.store.query_rows(expand(panel.queries[0].sql, window, variables))


def _keyed(panels: Sequence[Panel]) -> list[tuple[str, Panel]]:
    """Each panel with the key that names it on its page (its position)."""
    return [(str(index), panel) for index, panel in enumerate(panels)]
