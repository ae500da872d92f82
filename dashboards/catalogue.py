"""Every dashboard, the folders they live in, and the JSON files Grafana provisions.

Folders follow the audiences: the city's leadership (城市信用大脑), sector and
district supervisors, and operations. :func:`build` writes one JSON file per
dashboard under ``<out>/<folder uid>/<dashboard uid>.json``; the provisioning in
``infra/grafana/provisioning/dashboards/creditbrain.yaml`` has one provider per
folder directory, so a dashboard lands in its folder with its uid on any Grafana.
"""

from __future__ import annotations

import json
from pathlib import Path

from creditbrain.dashboards.cases import case_loop
from creditbrain.dashboards.city import city_overview
from creditbrain.dashboards.model import Dashboard, Folder
from creditbrain.dashboards.names import Lang, text
from creditbrain.dashboards.operations import write_operations
from creditbrain.dashboards.pipeline import pipeline_health
from creditbrain.dashboards.quality import data_quality
from creditbrain.dashboards.subject import subject_drilldown
from creditbrain.dashboards.supervision import district_grid, sector_supervision

#: The uid the provisioned ClickHouse datasource has (infra/grafana/provisioning).
DATASOURCE_UID = "creditbrain-clickhouse"

FOLDERS: tuple[Folder, ...] = (
    Folder(uid="cb-city", title="Credit brain · city"),
    Folder(uid="cb-supervision", title="Credit brain · supervision"),
    Folder(uid="cb-operations", title="Credit brain · operations"),
)


def dashboards() -> tuple[Dashboard, ...]:
    """All dashboards, the city overview first."""
    return (
        city_overview(),
        data_quality(),
        sector_supervision(),
        district_grid(),
        case_loop(),
        subject_drilldown(),
        pipeline_health(),
    )


def folder_title(folder: Folder, lang: Lang) -> str:
    """A folder's title in ``lang``."""
    return text(folder.title, lang)


def folder_of(dashboard: Dashboard) -> Folder:
    """The folder a dashboard belongs in."""
    for folder in FOLDERS:
        if folder.uid == dashboard.folder:
            return folder
    raise ValueError(f"dashboard {dashboard.uid} names unknown folder {dashboard.folder!r}")


def build(out_dir: Path, datasource_uid: str = DATASOURCE_UID, lang: Lang = "zh") -> list[Path]:
    """Write every dashboard's JSON (its texts in ``lang``) under ``out_dir``; the files written.

    Files of dashboards that no longer exist are removed, so the directory always
    matches the code.
    """
    written: list[Path] = []
    for dashboard in dashboards():
        folder = out_dir / folder_of(dashboard).uid
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{dashboard.uid}.json"
        doc = json.dumps(dashboard.to_grafana(datasource_uid, lang), indent=2, ensure_ascii=False)
        path.write_text(doc + "\n", encoding="utf-8")
        written.append(path)
    written.append(write_operations(out_dir, lang))  # on Prometheus (dashboards/operations.py)
    for stale in set(out_dir.glob("*/*.json")) - set(written):
        stale.unlink()
    return written
