"""Typed models of the Grafana dashboards we build, and their JSON for Grafana.

Dashboards are written as these models (never as hand-edited JSON) and turned into
the JSON Grafana stores with :meth:`Dashboard.to_grafana`. Only what our panels use
is modelled; Grafana fills every other field with its defaults on import.

Queries target the Grafana ClickHouse datasource plugin
(``grafana-clickhouse-datasource``): raw SQL with the plugin's macros, and a
``format`` that the plugin stores as a number (its ``Format`` enum), which
:class:`Format` maps from the names used here.

Examples
--------
>>> query = Query(sql="SELECT 1 AS n", columns=("n",))
>>> panel = Panel(title="One", type="stat", queries=(query,), grid=Grid(x=0, y=0, w=4, h=4))
>>> board = Dashboard(uid="cb-demo", title="Demo", folder="ops", panels=(panel,))
>>> doc = board.to_grafana("ch", "en")
>>> doc["uid"], doc["panels"][0]["targets"][0]["format"], doc["panels"][0]["gridPos"]["w"]
('cb-demo', 1, 4)
>>> doc["timezone"]
'Asia/Shanghai'
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from creditbrain.dashboards.names import TIME_ZONE, Lang, column, text, value_names

PLUGIN = "grafana-clickhouse-datasource"
#: Grafana's dashboard JSON schema version the generated JSON follows (Grafana 10/11).
SCHEMA_VERSION = 39
_UID = r"^[a-z0-9][a-z0-9-]{1,39}$"  # Grafana caps uids at 40 characters
_FROZEN = ConfigDict(frozen=True, extra="forbid")


class Format(StrEnum):
    """How the plugin shapes a result: a table, or time series (long becomes wide)."""

    TABLE = "table"
    TIME_SERIES = "time_series"

    @property
    def plugin_code(self) -> int:
        """The number the plugin stores (``Format { TIMESERIES = 0, TABLE = 1 }``)."""
        return 0 if self is Format.TIME_SERIES else 1


PanelType = Literal["stat", "timeseries", "barchart", "table", "piechart", "bargauge"]


class Grid(BaseModel):
    """Where a panel sits on Grafana's 24-column grid."""

    model_config = _FROZEN

    x: Annotated[int, Field(ge=0, le=23)]
    y: Annotated[int, Field(ge=0)]
    w: Annotated[int, Field(ge=1, le=24)]
    h: Annotated[int, Field(ge=1)]

    @model_validator(mode="after")
    def _fits(self) -> Grid:
        if self.x + self.w > 24:
            raise ValueError(f"panel at x={self.x} of width {self.w} overflows the 24 columns")
        return self


class Query(BaseModel):
    """One SQL query of a panel.

    ``columns`` are the result columns the panel's display relies on; the tests run
    the SQL and check them, and the offline snapshot reads them by name.
    """

    model_config = _FROZEN

    sql: Annotated[str, Field(min_length=1)]
    columns: tuple[str, ...]
    format: Format = Format.TABLE

    def target(self, ref_id: str, datasource: dict[str, str]) -> dict[str, Any]:
        """The Grafana target of this query."""
        return {
            "refId": ref_id,
            "datasource": datasource,
            "editorType": "sql",
            "queryType": "sql",
            "rawSql": self.sql,
            "format": self.format.plugin_code,
        }


class Link(BaseModel):
    """A data link: a click on ``column``'s cell opens ``dashboard`` with variables set.

    ``variables`` pairs each variable of the target with the result column whose
    value it takes, so the drill-down carries the row's keys (and the time range).
    """

    model_config = _FROZEN

    column: str
    dashboard: Annotated[str, Field(pattern=_UID)]
    variables: tuple[tuple[str, str], ...]
    title: str = "Open"

    def url(self) -> str:
        """Grafana's link, with ``${__data.fields.<column>}`` for the row's values."""
        params = "&".join(
            f"var-{name}=${{__data.fields.{source}}}" for name, source in self.variables
        )
        return f"/d/{self.dashboard}?{params}&${{__url_time_range}}"


class Panel(BaseModel):
    """A visualisation: its type, its queries, its place and its unit."""

    model_config = _FROZEN

    title: Annotated[str, Field(min_length=1)]
    type: PanelType
    queries: Annotated[tuple[Query, ...], Field(min_length=1)]
    grid: Grid
    description: str = ""
    unit: str = ""
    #: Stat tiles and gauges: value from which the tile turns green (None: no colouring).
    good_from: float | None = None
    #: Stat tiles: value up to which the tile is green (for "lower is better").
    good_until: float | None = None
    #: Stat tiles of the plan: the target as written in the plan ("> 1,000,000,000").
    target: str = ""
    links: tuple[Link, ...] = ()

    def to_grafana(self, panel_id: int, datasource: dict[str, str], lang: Lang) -> dict[str, Any]:
        """The panel's JSON, its texts in ``lang``."""
        columns = self.queries[0].columns
        # "locale" writes every figure in full with the reader's thousands separators.
        defaults: dict[str, Any] = {"unit": self.unit or "locale"}
        if self.type in ("timeseries", "barchart"):
            defaults["custom"] = {"axisLabel": column(columns[-1], lang)}
        thresholds = self._thresholds()
        if thresholds:
            defaults["thresholds"] = {"mode": "absolute", "steps": thresholds}
            defaults["color"] = {"mode": "thresholds"}
        options: dict[str, Any] = {}
        if self.type == "stat":
            options = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}}
        description = text(self.description, lang)
        if self.target:
            target = text(self.target, lang)
            description = f"{text('Plan target', lang)}: {target}. {description}".strip()
        return {
            "id": panel_id,
            "type": self.type,
            "title": text(self.title, lang),
            "description": description,
            "gridPos": self.grid.model_dump(),
            "datasource": datasource,
            "targets": [
                query.target(chr(ord("A") + index), datasource)
                for index, query in enumerate(self.queries)
            ],
            "fieldConfig": {"defaults": defaults, "overrides": self._overrides(lang)},
            "options": options,
        }

    def _overrides(self, lang: Lang) -> list[dict[str, Any]]:
        """Per column: its header, the names of its keys, its data links."""
        overrides = []
        for name in self.queries[0].columns:
            properties: list[dict[str, Any]] = [{"id": "displayName", "value": column(name, lang)}]
            names = value_names(name, lang)
            if names:
                options = {
                    key: {"text": shown, "index": index}
                    for index, (key, shown) in enumerate(names.items())
                }
                properties.append(
                    {"id": "mappings", "value": [{"type": "value", "options": options}]}
                )
            links = [
                {"title": text(link.title, lang), "url": link.url()}
                for link in self.links
                if link.column == name
            ]
            if links:
                properties.append({"id": "links", "value": links})
            overrides.append(
                {"matcher": {"id": "byName", "options": name}, "properties": properties}
            )
        return overrides

    def _thresholds(self) -> list[dict[str, Any]]:
        if self.good_from is not None:
            return [{"color": "red", "value": None}, {"color": "green", "value": self.good_from}]
        if self.good_until is not None:
            return [{"color": "green", "value": None}, {"color": "red", "value": self.good_until}]
        return []


class Variable(BaseModel):
    """A template variable: a query over the store, or a free text box.

    With ``include_all`` the "All" choice stands for ``all_value`` (``*``), which
    panel SQL tests explicitly (:func:`~creditbrain.dashboards.panels.matches`).
    """

    model_config = _FROZEN

    name: Annotated[str, Field(pattern=r"^[a-z_]+$")]
    label: str
    sql: str = ""
    include_all: bool = False
    default: str = ""

    ALL_VALUE: ClassVar[str] = "*"

    def to_grafana(self, datasource: dict[str, str], lang: Lang) -> dict[str, Any]:
        """The variable's JSON."""
        current = {"text": self.default, "value": self.default} if self.default else {}
        if not self.sql:
            return {
                "name": self.name,
                "label": text(self.label, lang),
                "type": "textbox",
                "query": self.default,
                "current": current,
            }
        return {
            "name": self.name,
            "label": text(self.label, lang),
            "type": "query",
            "datasource": datasource,
            "query": self.sql,
            "definition": self.sql,
            "refresh": 1,
            "sort": 1,
            "multi": False,
            "includeAll": self.include_all,
            "allValue": self.ALL_VALUE if self.include_all else None,
            "current": current,
        }


class Folder(BaseModel):
    """A Grafana folder, one per audience."""

    model_config = _FROZEN

    uid: Annotated[str, Field(pattern=_UID)]
    title: str


def flow(panels: list[Panel]) -> tuple[Panel, ...]:
    """Lay ``panels`` out left to right, wrapping at 24 columns; widths and heights kept.

    A row is as tall as its tallest panel, so rows never overlap.
    """
    placed: list[Panel] = []
    x = y = row_height = 0
    for panel in panels:
        if x + panel.grid.w > 24:
            x, y, row_height = 0, y + row_height, 0
        grid = Grid(x=x, y=y, w=panel.grid.w, h=panel.grid.h)
        placed.append(panel.model_copy(update={"grid": grid}))
        x += panel.grid.w
        row_height = max(row_height, panel.grid.h)
    return tuple(placed)


class Dashboard(BaseModel):
    """A dashboard: stable uid, its audience's folder, variables and panels."""

    model_config = _FROZEN

    uid: Annotated[str, Field(pattern=_UID)]
    title: Annotated[str, Field(min_length=1)]
    folder: str
    panels: Annotated[tuple[Panel, ...], Field(min_length=1)]
    description: str = ""
    tags: tuple[str, ...] = ("creditbrain",)
    variables: tuple[Variable, ...] = ()
    time_from: str = "now-1y"
    time_to: str = "now"
    refresh: str = "1m"
    #: Event-time dashboards are looked at as of the data's end; processing-time
    #: ones (pipeline health) as of now.
    event_time: bool = True

    @model_validator(mode="after")
    def _variables_defined(self) -> Dashboard:
        known = {variable.name for variable in self.variables}
        for panel in self.panels:
            for query in panel.queries:
                used = set(re.findall(r"\$\{(\w+)(?::\w+)?\}", query.sql))
                if used - known:
                    raise ValueError(f"panel {panel.title!r} uses undefined {sorted(used - known)}")
                raw = set(re.findall(r"\$\{(\w+)\}", query.sql))
                if raw:
                    raise ValueError(
                        f"panel {panel.title!r} splices {sorted(raw)} raw: use panels.param()"
                    )
        return self

    def to_grafana(self, datasource_uid: str, lang: Lang = "zh") -> dict[str, Any]:
        """The dashboard JSON as Grafana stores it (without ``id``: the uid identifies it)."""
        datasource = {"type": PLUGIN, "uid": datasource_uid}
        return {
            "uid": self.uid,
            "title": text(self.title, lang),
            "description": text(self.description, lang),
            "tags": list(self.tags),
            "timezone": TIME_ZONE,
            "editable": True,
            "schemaVersion": SCHEMA_VERSION,
            "refresh": self.refresh,
            "time": {"from": self.time_from, "to": self.time_to},
            "templating": {"list": [v.to_grafana(datasource, lang) for v in self.variables]},
            "panels": [
                panel.to_grafana(index + 1, datasource, lang)
                for index, panel in enumerate(self.panels)
            ],
        }
