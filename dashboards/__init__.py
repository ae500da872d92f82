"""The city's "credit brain" in Grafana, as code.

Dashboards are typed models (:mod:`.model`) built in Python, one module per
audience: the city overview against the plan's targets (:mod:`.city`), sector and
district supervision (:mod:`.supervision`), cases and their disposal (:mod:`.cases`),
the subject drill-down (:mod:`.subject`)
and pipeline health (:mod:`.pipeline`), from the panels they share (:mod:`.panels`).
Their panel SQL targets the Grafana ClickHouse datasource plugin and its macros
(:mod:`.macros` expands them the same way, so tests and the offline snapshot run the
very same SQL). :mod:`.catalogue`
writes the JSON that Grafana provisions, :mod:`.push` sends it through Grafana's
API, and :mod:`.snapshot` draws the city overview as one offline HTML file with
hand-made SVG charts (:mod:`.svg`) for places without Grafana.
"""

from __future__ import annotations

from creditbrain.dashboards.catalogue import DATASOURCE_UID, FOLDERS, build, dashboards
from creditbrain.dashboards.macros import TimeWindow, expand
from creditbrain.dashboards.model import Dashboard, Folder, Panel, Query, Variable
from creditbrain.dashboards.push import GrafanaPushError, push
from creditbrain.dashboards.snapshot import render_snapshot

__all__ = [
    "DATASOURCE_UID",
    "FOLDERS",
    "Dashboard",
    "Folder",
    "GrafanaPushError",
    "Panel",
    "Query",
    "TimeWindow",
    "Variable",
    "build",
    "dashboards",
    "expand",
    "push",
    "render_snapshot",
]
