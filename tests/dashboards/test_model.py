"""The dashboards validate, carry what Grafana needs, and match the committed JSON."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from creditbrain.dashboards.catalogue import DATASOURCE_UID, FOLDERS, build, dashboards
from creditbrain.dashboards.model import PLUGIN, Dashboard, Grid
from creditbrain.dashboards.panels import stat

ROOT = Path(__file__).parents[2]
GRAFANA = ROOT / "infra" / "grafana"
#: Uids are links people bookmark and share: changing one is a breaking change.
STABLE_UIDS = {
    "cb-city-overview",
    "cb-sector-supervision",
    "cb-district-grid",
    "cb-case-loop",
    "cb-subject",
    "cb-pipeline-health",
}


def test_uids_are_unique_and_stable() -> None:
    uids = [board.uid for board in dashboards()]
    assert len(uids) == len(set(uids))
    assert set(uids) == STABLE_UIDS


@pytest.mark.parametrize("board", dashboards(), ids=lambda b: b.uid)
def test_every_dashboard_round_trips_through_its_model(board: Dashboard) -> None:
    assert Dashboard.model_validate(board.model_dump()) == board


@pytest.mark.parametrize("board", dashboards(), ids=lambda b: b.uid)
def test_the_json_has_what_grafana_needs(board: Dashboard) -> None:
    doc = json.loads(json.dumps(board.to_grafana(DATASOURCE_UID)))
    assert doc["uid"] == board.uid and doc["title"] and doc["schemaVersion"] >= 36
    assert doc["panels"], board.uid
    ids = [panel["id"] for panel in doc["panels"]]
    assert len(ids) == len(set(ids))
    cells: set[tuple[int, int]] = set()
    for panel in doc["panels"]:
        grid = panel["gridPos"]
        assert {"x", "y", "w", "h"} <= grid.keys() and grid["x"] + grid["w"] <= 24
        area = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not area & cells, f"{panel['title']!r} overlaps another panel"
        cells |= area
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == {"type": PLUGIN, "uid": DATASOURCE_UID}
            assert target["queryType"] == "sql" and target["rawSql"].strip()
            assert target["format"] in (0, 1)
    for variable in doc["templating"]["list"]:
        assert variable["name"] and variable["type"] in ("query", "textbox")


def test_a_panel_cannot_use_an_undefined_variable() -> None:
    panel = stat("x", "SELECT 1 AS n WHERE '${nowhere}' = ''", ("n",))
    with pytest.raises(ValidationError, match="nowhere"):
        Dashboard(uid="cb-x", title="x", folder="cb-city", panels=(panel,))


def test_a_panel_cannot_overflow_the_grid() -> None:
    with pytest.raises(ValidationError):
        Grid(x=20, y=0, w=6, h=4)


def test_the_committed_json_is_what_build_writes(tmp_path: Path) -> None:
    build(tmp_path)
    fresh = {p.relative_to(tmp_path): p.read_text() for p in tmp_path.glob("*/*.json")}
    committed = GRAFANA / "dashboards"
    held = {p.relative_to(committed): p.read_text() for p in committed.glob("*/*.json")}
    assert held == fresh, "run `creditbrain dashboards build --out infra/grafana/dashboards`"


def test_build_removes_dashboards_that_no_longer_exist(tmp_path: Path) -> None:
    stale = tmp_path / "cb-city" / "cb-gone.json"
    stale.parent.mkdir()
    stale.write_text("{}")
    build(tmp_path)
    assert not stale.exists()


def test_provisioning_has_one_provider_per_folder() -> None:
    text = (GRAFANA / "provisioning" / "dashboards" / "creditbrain.yaml").read_text()
    providers = re.findall(r'folder: "([^"]+)"\n\s+folderUid: (\S+)', text)
    assert sorted(providers) == sorted((f.title, f.uid) for f in FOLDERS)
    for folder in FOLDERS:
        assert f"path: /var/lib/grafana/creditbrain/{folder.uid}\n" in text
    datasource = (GRAFANA / "provisioning" / "datasources" / "clickhouse.yaml").read_text()
    assert f"uid: {DATASOURCE_UID}\n" in datasource and f"type: {PLUGIN}\n" in datasource
    assert "password: ${" in datasource  # from the environment, never in the file
