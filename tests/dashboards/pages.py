"""Read the offline snapshot's pages back: what each panel shows, and what it was drawn from."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

from creditbrain.dashboards.macros import TimeWindow

#: The classes of the elements that show a figure or a cell.
_SHOWN = ("value", "bar-value", "bar-label", "axis-max", "axis-min", "cell")


@dataclass
class PanelShown:
    """The texts one panel shows, by kind; table cells as (column, text) per row."""

    values: list[str] = field(default_factory=list)
    bar_values: list[str] = field(default_factory=list)
    bar_labels: list[str] = field(default_factory=list)
    axis: dict[str, str] = field(default_factory=dict)
    rows: list[list[tuple[str, str]]] = field(default_factory=list)


@dataclass
class PageShown:
    dashboard: str
    variables: dict[str, str]
    window: TimeWindow
    panels: dict[int, PanelShown]
    text: str


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.meta: dict[str, object] = {}
        self.panels: dict[int, PanelShown] = {}
        self.panel: PanelShown | None = None
        self.open: tuple[str, str, str] | None = None  # tag, class, column
        self.buffer: list[str] = []
        self.all_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {key: value or "" for key, value in attrs}
        if tag == "meta" and found.get("name") == "creditbrain-snapshot":
            self.meta = json.loads(found["content"])
        if "data-panel" in found:
            self.panel = self.panels.setdefault(int(found["data-panel"]), PanelShown())
        if tag == "tr" and self.panel is not None:
            self.panel.rows.append([])
        kind = next((c for c in found.get("class", "").split() if c in _SHOWN), None)
        if kind and self.open is None:
            self.open = (tag, kind, found.get("data-column", ""))
            self.buffer = []

    def handle_endtag(self, tag: str) -> None:
        if self.open is None or tag != self.open[0] or self.panel is None:
            return
        _, kind, column = self.open
        shown = "".join(self.buffer)
        self.open = None
        if kind == "value":
            self.panel.values.append(shown)
        elif kind == "bar-value":
            self.panel.bar_values.append(shown)
        elif kind == "bar-label":
            self.panel.bar_labels.append(shown)
        elif kind in ("axis-max", "axis-min"):
            self.panel.axis[kind] = shown
        else:
            self.panel.rows[-1].append((column, shown))

    def handle_data(self, data: str) -> None:
        self.all_text.append(data)
        if self.open is not None:
            self.buffer.append(data)


def read_page(path: Path) -> PageShown:
    """What ``path`` shows, panel by panel (keys: the panel's position on its dashboard)."""
    reader = _Reader()
    reader.feed(path.read_text(encoding="utf-8"))
    start, end, interval = reader.meta["window"]  # type: ignore[misc]
    window = TimeWindow(
        datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC), interval
    )
    for panel in reader.panels.values():
        panel.rows = [row for row in panel.rows if row]
    return PageShown(
        str(reader.meta["dashboard"]),
        dict(reader.meta["variables"]),  # type: ignore[call-overload]
        window,
        reader.panels,
        " ".join(reader.all_text),
    )
