"""The city's "credit brain" in Grafana, as code.

Dashboards are typed models (:mod:`.model`) built in Python, one module per
audience: the city overview against the plan's targets (:mod:`.city`), department
data quality (:mod:`.quality`), sector and district supervision
(:mod:`.supervision`), cases and their disposal (:mod:`.cases`), the subject
page (:mod:`.subject`) and pipeline health
(:mod:`.pipeline`), from the panels and drill-down links they share
(:mod:`.panels`). Their panel SQL reads the ``dash_*`` views and targets the
Grafana ClickHouse datasource plugin and its macros (:mod:`.macros` expands them
the same way, variables always as data, so tests and the offline snapshot run the
very same SQL). Every text a reader sees comes from one catalogue (:mod:`.names`,
its Chinese in :mod:`.text_zh`; Chinese by default). :mod:`.catalogue` writes the
JSON that Grafana provisions,
:mod:`.push` sends it through Grafana's API, :mod:`.snapshot` draws every dashboard
as offline HTML pages (:mod:`.render`, with hand-made SVG charts from :mod:`.svg`),
:mod:`.registry` holds the registered subjects the coverage targets divide by, and
:mod:`.access` renders the read-only role and the supervisors' row policies.
:mod:`.operations` is the one dashboard on Prometheus: the processes' own metrics.
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
